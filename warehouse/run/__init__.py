"""The nightly run: `pipeline` composes the stages (parse, events, aggregate, import,
reports) for each day, `records` and `summary` keep what each stage did, `cron` installs
the crontab line, `emr` launches a cluster with the toolkit and its bootstrap scripts.
"""
