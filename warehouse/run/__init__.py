"""The nightly run: `pipeline` is `warehouse run` (checks, the run lock), `stages` runs
the stages (parse, events, aggregate, import, reports) over the dates, `ledger` keeps
what each (date, stage) must do and its record (`dates`: a day's input, a job's dates),
`records` and `summary` keep what each stage did, `cron` installs the crontab line, `emr`
launches a cluster with the toolkit and its bootstrap scripts.
"""
