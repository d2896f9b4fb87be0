"""mrjob plumbing shared by `warehouse parse -r RUNNER` and `warehouse aggregate`.

Modules: `conf.py` (the mrjob.conf in use, what it sets, runner problems found before
anything runs, the runner's environment, the start of a job's command line), `ship.py`
(the `--py-files` zips: one builder), `job.py` (run a job, map its failure to a
WarehouseError). What a job is and reads stays with its caller: `warehouse.aggregate` (the
jobs of jobs/) and `warehouse.events.runner` (the parse job).
"""

from warehouse.mr.conf import (
    check_known_runner,
    conf_problem,
    mrjob_conf_path,
    runner_args,
    runner_env,
    spark_submit_args,
)
from warehouse.mr.job import first_line, job_error, run_job, scratch_full
from warehouse.mr.ship import code_zip, jobs_zip, toolkit_zip

__all__ = [
    "check_known_runner",
    "code_zip",
    "conf_problem",
    "first_line",
    "job_error",
    "jobs_zip",
    "mrjob_conf_path",
    "run_job",
    "runner_args",
    "runner_env",
    "scratch_full",
    "spark_submit_args",
    "toolkit_zip",
]
