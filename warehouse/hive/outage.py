"""A catalog outage remembered for one run: after HiveServer2 or Glue failed to answer,
later calls fail at once with the same error instead of waiting out its timeouts again.

`warehouse run` shares one `CatalogWatch` between its stages (events, aggregate, the
import's registrar, reports), so whichever stage meets the outage first ends catalog
calls for the rest of the night.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from warehouse.errors import SourceUnavailable
from warehouse.hive.client import HiveUnavailable
from warehouse.hive.glue import GlueUnavailable

T = TypeVar("T")


class CatalogWatch:
    """The first catalog outage (HiveUnavailable or GlueUnavailable) of a run, if any."""

    def __init__(self) -> None:
        self.down: SourceUnavailable | None = None

    def check(self) -> None:
        """Return when no outage was seen; else raise it again, naming the catalog."""
        down = self.down
        if down is not None:
            raise type(down)(f"{down} (earlier in this run; not tried again)")

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Run the block unless the catalog is down (see `check`); remember an outage it
        raises (re-raised)."""
        self.check()
        try:
            yield
        except (HiveUnavailable, GlueUnavailable) as err:
            if self.down is None:
                self.down = err
            raise

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Return `fn(*args)` (a catalog call) under `watching`."""
        with self.watching():
            return fn(*args)
