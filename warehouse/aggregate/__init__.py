"""`warehouse aggregate`: run an mrjob aggregation over event partitions.

Resolves ROOT/events/dt=D/*.json.gz for the requested dates, runs the job in jobs/ on the
chosen mrjob runner (the same code on inline, local, spark, hadoop and emr), reads the
runner's output and writes it via warehouse.storage as
ROOT/aggregates/<job>/dt=D/part-00000.json.gz (gzipped JSON lines).

Replacing a partition: nothing is written unless the job succeeded. Each partition's part
is written under its final, deterministic name with an atomic publish (local rename; one
S3 PUT or completed multipart upload), so a reader sees the old or the new part, never a
half-written one. Other objects left in the partition by older runs are deleted after the
new part is published; on S3 a reader listing in that short window may see both.

Each job's class, output columns (the Hive table `agg_<job>`), neighbour days and
arguments are its `JobSpec` in warehouse.schema; the jobs emit JSON objects with exactly
those keys.

Modules: `plan.py` (which event partitions a job reads for which dates), `runners.py`
(the job's command line, the job class, staged inputs; the mrjob plumbing shared with
`warehouse parse -r` is `warehouse.mr`), `run.py` (`run_aggregate`: running a job and
reading its output), `publish.py` (writing and replacing output partitions), `summary.py`
(AggregateSummary), `gzipcheck.py` (events parts the inline and local runners would read
only in part).
"""

from warehouse.aggregate.run import run_aggregate

__all__ = ["run_aggregate"]
