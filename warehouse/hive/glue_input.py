"""What the Glue Data Catalog stores for a table spec: pure functions, no AWS calls.

`table_input` is the TableInput of `spec` as the HiveServer2 path's `hive`-dialect DDL
describes it (columns, SerDe and its properties, location, partition keys, and the DDL
fingerprint in the parameter `warehouse.spec`), with optional Athena partition
projection; `partition_input` one partition's; `differences` says what changed between a
wanted table and the catalog's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warehouse.hive.ddl import SPEC_PROPERTY, fingerprint
from warehouse.hive.render import location_uri
from warehouse.hive.spec import TableSpec

JSON_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
REGEX_SERDE = "org.apache.hadoop.hive.serde2.RegexSerDe"
TEXT_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
_PROJECTION_PREFIXES = ("projection.", "storage.location.template")

__all__ = [
    "JSON_SERDE",
    "REGEX_SERDE",
    "TEXT_SERDE",
    "differences",
    "partition_input",
    "partition_location",
    "projection",
    "projection_parameters",
    "table_input",
]


def _serde(spec: TableSpec) -> dict[str, Any]:
    if spec.storage == "json":
        return {"SerializationLibrary": JSON_SERDE, "Parameters": {}}
    if spec.storage == "parquet":
        return {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}}
    if spec.storage == "regex":
        if not spec.regex:
            raise ValueError(f"table {spec.name}: regex storage needs a regex")
        return {"SerializationLibrary": REGEX_SERDE, "Parameters": {"input.regex": spec.regex}}
    if spec.storage == "text":
        fmt = spec.text_format
        if fmt is None:
            raise ValueError(f"table {spec.name}: text storage needs a text_format")
        params = {
            "field.delim": fmt.field_delim,
            "serialization.format": fmt.field_delim,
            "line.delim": fmt.line_delim,
            "serialization.null.format": fmt.null_string,
        }
        if fmt.escape:
            params["escape.delim"] = fmt.escape
        return {"SerializationLibrary": TEXT_SERDE, "Parameters": params}
    raise ValueError(f"table {spec.name}: unknown storage {spec.storage!r}")


def _column(name: str, type_: str, comment: str | None) -> dict[str, str]:
    out = {"Name": name.lower(), "Type": type_.lower()}
    if comment:
        out["Comment"] = comment
    return out


def _storage(spec: TableSpec, location: str) -> dict[str, Any]:
    return {
        "Columns": [_column(c.name, c.type, c.comment) for c in spec.columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT_FORMAT if spec.storage == "parquet" else INPUT_FORMAT,
        "OutputFormat": PARQUET_OUTPUT_FORMAT if spec.storage == "parquet" else OUTPUT_FORMAT,
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": _serde(spec),
        "BucketColumns": [],
        "SortColumns": [],
        "StoredAsSubDirectories": False,
    }


def projection_parameters(spec: TableSpec, *, root_uri: str, start: str) -> dict[str, str]:
    """Return Athena's partition-projection parameters for a table partitioned by dt only.

    Other tables (e.g. MySQL imports, partitioned by `load` timestamps) get none: their
    partitions cannot be enumerated from a range.
    """
    if spec.partition_names != ("dt",):
        return {}
    return {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{start},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": location_uri(root_uri, spec.location) + "/dt=${dt}",
    }


def table_input(
    spec: TableSpec, *, root_uri: str, database: str, projection_start: str | None = None
) -> dict[str, Any]:
    """Return Glue's TableInput for `spec`: what `hive apply` would create through HiveServer2.

    `projection_start` (YYYY-MM-DD) adds Athena partition projection for dt-partitioned
    tables. Raises ValueError for a spec that cannot be expressed (as `render_create`).
    """
    params = {
        "EXTERNAL": "TRUE",
        "classification": {"json": "json", "text": "csv", "regex": "regex", "parquet": "parquet"}[
            spec.storage
        ],
        **spec.properties,
        SPEC_PROPERTY: fingerprint(spec, dialect="hive", root_uri=root_uri, database=database),
    }
    if projection_start:
        params.update(projection_parameters(spec, root_uri=root_uri, start=projection_start))
    out: dict[str, Any] = {
        "Name": spec.name.lower(),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": params,
        "StorageDescriptor": _storage(spec, location_uri(root_uri, spec.location)),
        "PartitionKeys": [_column(c.name, c.type, c.comment) for c in spec.partition_by],
    }
    if spec.comment:
        out["Description"] = spec.comment
    return out


def partition_input(spec: TableSpec, values: Mapping[str, str], location: str) -> dict[str, Any]:
    """Return Glue's PartitionInput for one partition of `spec` at `location`."""
    return {
        "Values": [str(values[n]) for n in spec.partition_names],
        "StorageDescriptor": _storage(spec, location),
        "Parameters": {},
    }


def partition_location(root_uri: str, spec: TableSpec, values: Mapping[str, str]) -> str:
    """Return a partition's default location: `<root>/<table location>/k=v/...`."""
    path = "/".join(f"{n}={values[n]}" for n in spec.partition_names)
    return location_uri(root_uri, f"{spec.location}/{path}")


def projection(params: Mapping[str, str]) -> dict[str, str]:
    """Return the partition-projection parameters among a table's parameters."""
    return {k: v for k, v in params.items() if k.startswith(_PROJECTION_PREFIXES)}


def differences(want: dict[str, Any], have: dict[str, Any]) -> list[str]:
    """Return short notes on what differs between a wanted TableInput and a Glue table."""
    notes = []
    w_sd, h_sd = want["StorageDescriptor"], have.get("StorageDescriptor", {})
    w_cols = [(c["Name"], c["Type"]) for c in w_sd["Columns"]]
    h_cols = [(c["Name"].lower(), c["Type"].lower()) for c in h_sd.get("Columns", [])]
    if w_cols != h_cols:
        hd, wd = dict(h_cols), dict(w_cols)
        extra = [f"+{n} {t}" for n, t in w_cols if n not in hd]
        gone = [f"-{n}" for n, _ in h_cols if n not in wd]
        retyped = [f"{n} {hd[n]}->{t}" for n, t in w_cols if n in hd and hd[n] != t]
        notes.append("columns " + ", ".join(extra + gone + retyped) if extra or gone or retyped
                     else "column order")
    w_keys = [c["Name"] for c in want["PartitionKeys"]]
    h_keys = [c["Name"].lower() for c in have.get("PartitionKeys", [])]
    if w_keys != h_keys:
        notes.append(f"partitioned by ({', '.join(h_keys)}) not ({', '.join(w_keys)})")
    if h_sd.get("Location", "").rstrip("/") != w_sd["Location"].rstrip("/"):
        notes.append(f"location {h_sd.get('Location')} not {w_sd['Location']}")
    w_serde = w_sd["SerdeInfo"]["SerializationLibrary"]
    h_serde = h_sd.get("SerdeInfo", {}).get("SerializationLibrary")
    if w_serde != h_serde:
        notes.append(f"SerDe {h_serde} not {w_serde}")
    return notes or ["storage or SerDe settings (fingerprint differs)"]
