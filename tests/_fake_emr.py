"""A stand-in for EMR's nodes over moto's EMR API: moto accepts clusters and steps but
never runs them, so a thread moves the steps of the clusters a test creates.

Subclasses implement `run_step(cluster, step, steps)` (raise to fail the step). Clusters
that existed when the harness started belong to other tests of the session (the moto
server is shared) and are left alone.
"""

from __future__ import annotations

import threading
from typing import Any

ACCOUNT, REGION = "123456789012", "us-east-1"


class FakeEmr:
    """Run each PENDING/RUNNING step of this test's clusters, then mark it COMPLETED."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.errors: list[str] = []
        self.done: list[str] = []
        self.cluster_id = ""
        self._before: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Any:
        from moto.emr.models import emr_backends

        self._before = set(emr_backends[ACCOUNT][REGION].clusters)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def run_step(self, cluster: Any, step: Any, steps: list[Any]) -> None:
        """Do what the nodes would do for `step` (the cluster's steps so far: `steps`)."""
        raise NotImplementedError

    def _loop(self) -> None:
        from moto.emr.models import emr_backends

        while not self._stop.wait(0.05):
            for cid, cluster in list(emr_backends[ACCOUNT][REGION].clusters.items()):
                if cid in self._before:
                    continue
                steps = list(cluster.steps)  # mrjob submits one step after the other
                for step in steps:
                    if step.state not in ("PENDING", "RUNNING"):
                        continue
                    self.cluster_id = cluster.id
                    if self.fail:
                        step.state = "FAILED"
                        continue
                    try:
                        self.run_step(cluster, step, steps)
                    except Exception as exc:  # surface it in the test, stop mrjob waiting
                        self.errors.append(repr(exc))
                        step.state = "FAILED"
                        continue
                    step.state = "COMPLETED"
                    self.done.append(step.id)
