"""The AWS Glue Data Catalog as the warehouse's catalog (`[glue]`), through boto3's Glue API.

A table in Glue carries what the HiveServer2 path's DDL says (`hive` dialect): the same
columns, SerDe, SerDe properties, location and partition keys, and the same fingerprint
in the table parameter `warehouse.spec` (`warehouse.hive.ddl`), so EMR's Hive, Spark,
Athena and Trino all read the same table. The rules of the HiveServer2 path hold:
idempotent (an unchanged table is left alone), a changed table is reported (exit 5)
unless `replace`, partitions are added only when missing, 100 per `batch_create_partition`
call. Which partitions exist is decided by the caller from the root
(`warehouse.hive.partitions.find_partitions`: never one still being written).

Views are not written here: Glue stores a Hive view only as an engine writes it (see
docs/catalog.md, "Glue Data Catalog and Athena").

What a table or partition looks like in Glue (and Athena's optional partition
projection) is built by the pure functions of `warehouse.hive.glue_input`. Partitions
are registered even with projection on, for EMR's Hive and Spark, which do not read
projection parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from warehouse.awsclient import aws_client
from warehouse.config import Config, GlueConfig
from warehouse.errors import SourceUnavailable
from warehouse.hive.ddl import SPEC_PROPERTY
from warehouse.hive.glue_input import (
    differences,
    partition_input,
    partition_location,
    projection,
    table_input,
)
from warehouse.hive.spec import TableSpec
from warehouse.hive.summary import HiveSummary
from warehouse.hive.tables import storage_twin

log = logging.getLogger(__name__)

PARTITIONS_PER_CALL = 100  # batch_create_partition's limit
DELETES_PER_CALL = 25  # batch_delete_partition's limit

__all__ = ["GlueCatalog", "GlueUnavailable", "glue_target"]


class GlueUnavailable(SourceUnavailable):
    """The Glue Data Catalog cannot be reached or refuses the calls (exit 3)."""


def glue_target(glue: GlueConfig) -> str:
    """Return where the Glue catalog is, for summaries and errors."""
    where = glue.endpoint_url or f"region {glue.region}"
    return f"Glue database {glue.database} at {where}"


def _client(glue: GlueConfig) -> Any:
    return aws_client("glue", region=glue.region, endpoint_url=glue.endpoint_url,
                      connect_timeout=glue.timeout_seconds, read_timeout=glue.timeout_seconds,
                      max_attempts=4)


class GlueCatalog:
    """Tables and partitions of the warehouse in the Glue Data Catalog (`[glue]`)."""

    def __init__(self, cfg: Config, root_uri: str, *, client: Any = None) -> None:
        if cfg.glue is None:
            raise ValueError("GlueCatalog needs a [glue] section")
        self.glue = cfg.glue
        self.root_uri = root_uri
        self._api = client

    @property
    def api(self) -> Any:
        """Return the boto3 Glue client (created on first use)."""
        if self._api is None:
            self._api = _client(self.glue)
        return self._api

    @property
    def target(self) -> str:
        """Return where the catalog is, for summaries and errors."""
        return glue_target(self.glue)

    def _ids(self) -> dict[str, str]:
        return {"CatalogId": self.glue.catalog_id} if self.glue.catalog_id else {}

    def _call(self, op: str, **kwargs: Any) -> Any:
        """Call Glue's `op`; raise SourceUnavailable (exit 3) when Glue cannot be reached."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.api, op)(**self._ids(), **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("AccessDeniedException", "UnrecognizedClientException",
                        "ExpiredTokenException", "ThrottlingException"):
                raise GlueUnavailable(
                    f"{self.target}: {op} refused ({code}); check the IAM policy "
                    "in docs/catalog.md (Glue Data Catalog and Athena)"
                ) from None
            raise
        except BotoCoreError as exc:
            raise GlueUnavailable(f"{self.target} unreachable: {exc}") from None

    def _pages(self, op: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._call(op, **kwargs, **({"NextToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    def has_database(self) -> bool:
        """Return True when the Glue database exists; raises GlueUnavailable (exit 3) for any
        other answer than "not found"."""
        from botocore.exceptions import ClientError

        try:
            self._call("get_database", Name=self.glue.database)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "EntityNotFoundException":
                raise GlueUnavailable(f"{self.target}: {exc}") from None
            return False
        return True

    def ensure_database(self) -> None:
        """Create the Glue database when it is missing."""
        if not self.has_database():
            self._call(
                "create_database",
                DatabaseInput={"Name": self.glue.database,
                               "Description": "warehouse tables (see its README)"},
            )

    def existing_tables(self) -> dict[str, dict[str, Any]]:
        """Return `tables()`, or {} when the database does not exist yet; raises
        GlueUnavailable (exit 3) when Glue does not answer."""
        return self.tables() if self.has_database() else {}

    def tables(self) -> dict[str, dict[str, Any]]:
        """Return the catalog's tables by lower-case name."""
        return {
            t["Name"].lower(): t
            for t in self._pages("get_tables", "TableList", DatabaseName=self.glue.database)
        }

    def want(self, spec: TableSpec) -> dict[str, Any]:
        """Return the TableInput for `spec` under this catalog's settings; raises ValueError."""
        start = self.glue.projection_start if self.glue.projection else None
        return table_input(spec, root_uri=self.root_uri, database=self.glue.database,
                           projection_start=start)

    def ensure_tables(self, specs: Sequence[TableSpec], *, replace: bool = False) -> HiveSummary:
        """Create the database and every table of `specs` that is missing; return a HiveSummary.

        Same rules as the HiveServer2 path: a table whose fingerprint differs is reported
        in `.changed` (exit 5) unless `replace` (then deleted and created again: its
        partitions must be registered again, as after DROP TABLE). A table whose only
        difference is its projection parameters is updated in place.
        """
        summary = HiveSummary("glue tables", self.target)
        self.ensure_database()
        existing = self.tables()
        for spec in specs:
            self.ensure_table(spec, summary, existing, replace=replace)
        return summary

    def ensure_table(
        self,
        spec: TableSpec,
        summary: HiveSummary,
        existing: dict[str, dict[str, Any]],
        *,
        replace: bool = False,
    ) -> bool | None:
        """Create or check one table; return True when (re)created, False when kept as it
        is, None when it failed or differs and was left alone (recorded in `summary`)."""
        from botocore.exceptions import ClientError

        try:
            want = self.want(spec)
        except ValueError as exc:
            summary.failed.append(f"{spec.name}: {exc}")
            return None
        db, have = self.glue.database, existing.get(want["Name"])
        try:
            if have is None:
                self._call("create_table", DatabaseName=db, TableInput=want)
                summary.created.append(spec.name)
                fresh: bool | None = True
            elif have.get("Parameters", {}).get(SPEC_PROPERTY) != want["Parameters"][SPEC_PROPERTY]:
                switch = None if replace else self._switched(spec, have)
                if not (replace or switch):
                    summary.changed.append(f"{spec.name} ({'; '.join(differences(want, have))})")
                    return None
                self._call("delete_table", DatabaseName=db, Name=want["Name"])
                self._call("create_table", DatabaseName=db, TableInput=want)
                summary.replaced.append(spec.name)
                if switch:
                    summary.switched.append(switch)
                fresh = True
            elif projection(have.get("Parameters", {})) != projection(want["Parameters"]):
                self._call("update_table", DatabaseName=db, TableInput=want)
                summary.replaced.append(spec.name)
                fresh = False
            else:
                summary.unchanged.append(spec.name)
                fresh = False
        except ClientError as exc:
            summary.failed.append(f"{spec.name}: {exc.response.get('Error', {}).get('Message', exc)}")
            return None
        existing[want["Name"]] = want
        return fresh

    def _switched(self, spec: TableSpec, have: Mapping[str, Any]) -> str | None:
        """Return "NAME (json -> parquet)" when the catalog's table is `spec`'s storage twin
        exactly (`warehouse.hive.tables.storage_twin`), else None."""
        twin = storage_twin(spec)
        if twin is None:
            return None
        try:
            digest = self.want(twin)["Parameters"][SPEC_PROPERTY]
        except ValueError:
            return None
        if have.get("Parameters", {}).get(SPEC_PROPERTY) != digest:
            return None
        return f"{spec.name} {twin.storage} -> {spec.storage}"

    def registered(self, spec: TableSpec) -> set[tuple[str, ...]]:
        """Return the value tuples of the partitions `spec`'s table has in the catalog."""
        return set(self.partition_values(spec.name))

    def partition_values(self, table: str) -> list[tuple[str, ...]]:
        """Return the value tuples of the partitions of `table` in the catalog."""
        parts = self._pages("get_partitions", "Partitions",
                            DatabaseName=self.glue.database, TableName=table.lower())
        return [tuple(p["Values"]) for p in parts]

    def add_partitions(
        self,
        spec: TableSpec,
        partitions: Sequence[Mapping[str, str]],
        *,
        locations: Mapping[tuple[str, ...], str] | None = None,
        summary: HiveSummary | None = None,
        fresh: bool = False,
    ) -> HiveSummary:
        """Register the `partitions` of `spec` that the catalog lacks, 100 per call.

        `fresh`: the table was just created, so none is registered yet (no listing).
        Counts go to `summary` (a new partitions summary when None), which is returned.
        """
        if summary is None:
            summary = HiveSummary(f"glue partitions {self.glue.database}.{spec.name}", self.target)
            summary.partitions_mode = True
        wanted = {tuple(str(p[n]) for n in spec.partition_names): p for p in partitions}
        summary.found += len(wanted)
        if not wanted:
            return summary
        have = set() if fresh else self.registered(spec)
        missing = [k for k in sorted(wanted) if k not in have]
        summary.present += len(wanted) - len(missing)
        for i in range(0, len(missing), PARTITIONS_PER_CALL):
            batch = [
                partition_input(
                    spec,
                    wanted[k],
                    (locations or {}).get(k)
                    or partition_location(self.root_uri, spec, wanted[k]),
                )
                for k in missing[i : i + PARTITIONS_PER_CALL]
            ]
            reply = self._call("batch_create_partition", DatabaseName=self.glue.database,
                               TableName=spec.name.lower(), PartitionInputList=batch)
            summary.statements += 1
            errors = reply.get("Errors", [])
            raced = [e for e in errors
                     if e.get("ErrorDetail", {}).get("ErrorCode") == "AlreadyExistsException"]
            summary.present += len(raced)
            summary.added += len(batch) - len(errors)
            for e in errors:
                if e not in raced:
                    detail = e.get("ErrorDetail", {})
                    summary.failed.append(
                        f"{spec.name} {e.get('PartitionValues')}: "
                        f"{detail.get('ErrorCode')}: {detail.get('ErrorMessage')}"
                    )
        return summary

    def drop_partitions(self, spec: TableSpec, partitions: Sequence[Mapping[str, str]]) -> None:
        """Remove `partitions` of `spec` from the catalog (missing ones are no error)."""
        values = [{"Values": [str(p[n]) for n in spec.partition_names]} for p in partitions]
        for i in range(0, len(values), DELETES_PER_CALL):
            self._call("batch_delete_partition", DatabaseName=self.glue.database,
                       TableName=spec.name.lower(),
                       PartitionsToDelete=values[i : i + DELETES_PER_CALL])
