"""Benchmark the python engine's row encoder: the generated dict step against the plain one.

`warehouse.mysql.rows.batch_encoder` turns a fetched batch into JSON lines; its rows ->
dicts step (per-column converters included: base64, BIT digits, bytes -> text) is
generated (`dict_builder`, a constant-key comprehension compiled per column list, the
converters called inline) or plain (`plain_dicts`, a loop over the converters and
`dict(zip(names, row))`). In one run, rounds alternating:
1. the encoder alone, in this process, over 1,000-row batches as mysqlclient returns them
   (`FETCH_BATCH`): the 7-column table of bench/bench_import.py; a wide table with one
   column of every kind (BIGINT UNSIGNED, FLOAT, DECIMAL(65,30), zero dates, TIME beyond
   24 h, BIT, BLOB, GEOMETRY, ENUM, SET, JSON, text with tabs, newlines, `\\N`, quotes);
   the same wide table re-read with text as bytes (non-UTF-8 values included). CPU time
   per pass, best of `--repeat`; both encoders' output compared byte for byte.
2. unless `--import-rows 0`: the whole `warehouse import` command (a process, OpenSSH
   tunnel to a private sshd, private MariaDB, the default driver) on bench_import's
   7-column table, once as shipped and once with `plain_dicts` handed to `batch_encoder`
   (the only difference); CPU seconds from wait4 (ssh included), best and median, and
   the decompressed output compared.

`--before DIR` adds a third encoder to part 1: `batch_encoder` of the rows.py in another
checkout (`git archive <commit> warehouse/mysql/rows.py | tar -x -C DIR`).

    python bench/bench_row_encoder.py [--rows 1000000] [--wide-rows 300000] [--repeat 3]
                                      [--import-rows 1000000] [--import-repeat 3]
                                      [--before DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT_DIR))
sys.path.insert(0, str(ROOT_DIR / "bench"))

import bench_import as bi  # noqa: E402

from warehouse.mysql.python_engine import FETCH_BATCH  # noqa: E402
from warehouse.mysql.rows import batch_encoder, dict_builder, plain_dicts  # noqa: E402
from warehouse.mysql.schema import SourceColumn  # noqa: E402

Row = tuple[Any, ...]
Encode = Callable[[Sequence[Row]], bytes]


def col(name: str, data_type: str, column_type: str = "") -> SourceColumn:
    return SourceColumn(name, data_type, column_type or data_type)


NARROW = (
    col("id", "int"), col("a", "int"), col("name", "varchar", "varchar(64)"),
    col("created", "datetime"), col("updated", "datetime"),
    col("amount", "decimal", "decimal(12,2)"), col("note", "text"),
)
NOTES = ("tab\there {}", "line1\nline2 ü ✓ {}", None, "plain text")


def narrow_row(i: int) -> Row:
    """bench_import's FILL, as mysqlclient returns it (DECIMAL and DATETIME as text)."""
    note = NOTES[i % 4]
    return (
        i, i % 1000, f"user-{i}-{hashlib.md5(str(i).encode()).hexdigest()}",
        f"2020-01-{1 + i // 86400 % 28:02d} {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
        None if i % 3 == 0 else f"2021-06-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
        f"{i % 100000 // 100}.{i % 100:02d}", note.format(i) if note else None,
    )


WIDE = (
    col("id", "bigint", "bigint(20) unsigned"), col("tiny", "tinyint", "tinyint(4)"),
    col("yr", "year"), col("f", "float"), col("d", "double"),
    col("price", "decimal", "decimal(10,2)"), col("huge", "decimal", "decimal(65,30)"),
    col("day", "date"), col("at", "datetime"), col("ts", "timestamp"), col("dur", "time"),
    col("code", "char", "char(2)"), col("title", "varchar", "varchar(200)"),
    col("body", "text"), col("kind", "enum", "enum('a','b','c')"),
    col("tags", "set", "set('x','y','z')"), col("doc", "json"),
    col("flags", "bit", "bit(5)"), col("uuid", "binary", "binary(16)"),
    col("photo", "blob"), col("shape", "geometry"),
)
ODD_TEXT = ("", "a\tb", "line\nbreak", "back\\slash", "\\N", "quote \" and },{", "\x01\x7f",
            "日本語 ✓ ü", "plain words here")


def wide_row(i: int) -> Row:
    """One row of every kind as mysqlclient returns it; about one value in seven NULL."""
    def n(v: Any) -> Any:
        return None if (i * 7 + len(str(v))) % 7 == 0 else v

    text = ODD_TEXT[i % len(ODD_TEXT)]
    return (
        18446744073709551615 - i, i % 256 - 128, n(1901 + i % 254), n(i / 7.0), n(i * 1.5e-3),
        n(f"{i % 1000}.{i % 100:02d}"), n("0." + "0" * 29 + str(i % 10)),
        n("0000-00-00" if i % 11 == 0 else f"2024-02-{1 + i % 28:02d}"),
        n(f"2024-02-{1 + i % 28:02d} 10:{i % 60:02d}:00"),
        n("0000-00-00 00:00:00" if i % 13 == 0 else "2024-02-29 23:59:59.123456"),
        n(f"-{i % 839}:59:59"), n("de"), n(f"title {i} {text}"),
        n(text * (1 + i % 5)), n("abc"[i % 3]), n("x,z"), n(f'{{"k": {i}, "v": "{i}"}}'),
        n(bytes([i % 32])), n(i.to_bytes(16, "big")), n(bytes(range(i % 64))),
        n(b"\x00\x00\x00\x00\x01\x01\x00\x00\x00" + i.to_bytes(16, "little")),
    )


def as_bytes(row: Row) -> Row:
    """The re-read of a table with text as bytes: str values arrive as bytes."""
    out = [v.encode("utf-8") if isinstance(v, str) else v for v in row]
    if row[0] % 5 == 0 and out[13] is not None:
        out[13] += b" caf\xe9 \xff"  # not UTF-8
    return tuple(out)


def batches(make: Callable[[int], Row], distinct: int) -> list[list[Row]]:
    """`distinct` rows cut into FETCH_BATCH-row batches (passes cycle over them)."""
    rows = [make(i) for i in range(distinct)]
    return [rows[i : i + FETCH_BATCH] for i in range(0, distinct, FETCH_BATCH)]


def one_pass(encode: Encode, data: list[list[Row]], rows: int) -> tuple[float, str]:
    """Encode `rows` rows cycling over `data`; return (CPU seconds, sha256 of the output)."""
    digest = hashlib.sha256()
    done = 0
    t0 = time.process_time()
    while done < rows:
        for batch in data:
            out = encode(batch)
            if done < len(data) * FETCH_BATCH:
                digest.update(out)
            done += len(batch)
            if done >= rows:
                break
    return time.process_time() - t0, digest.hexdigest()


def rows_module(checkout: str) -> Any:
    """Import warehouse/mysql/rows.py of another checkout under the name `rows_before`."""
    spec = importlib.util.spec_from_file_location(
        "rows_before", Path(checkout) / "warehouse" / "mysql" / "rows.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no warehouse/mysql/rows.py under {checkout}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["rows_before"] = module
    spec.loader.exec_module(module)
    return module


def encoder_alone(args: argparse.Namespace) -> None:
    cases = [
        ("7-column table (bench_import)", NARROW, False, batches(narrow_row, 50_000),
         args.rows),
        ("wide table, 21 kinds", WIDE, False, batches(wide_row, 20_000), args.wide_rows),
        ("wide table, text as bytes", WIDE, True,
         batches(lambda i: as_bytes(wide_row(i)), 20_000), args.wide_rows),
    ]
    before = rows_module(args.before) if args.before else None
    extra = " before rows/CPU-s | generated/before |" if before else ""
    print(f"\n| table | rows | generated rows/CPU-s | plain rows/CPU-s | generated/plain |{extra}")
    print("|---|---:|---:|---:|---:|" + ("---:|---:|" if before else ""))
    for label, cols, text_bytes, data, rows in cases:
        makers: dict[str, Callable[[], tuple[Encode, Any]]] = {
            "generated": partial(batch_encoder, cols, text_bytes=text_bytes, dicts=dict_builder),
            "plain": partial(batch_encoder, cols, text_bytes=text_bytes, dicts=plain_dicts),
        }
        if before:
            makers["before"] = partial(before.batch_encoder, cols, text_bytes=text_bytes)
        best: dict[str, float] = {}
        digests: dict[str, str] = {}
        for _ in range(args.repeat):
            for name, make in makers.items():
                cpu, digest = one_pass(make()[0], data, rows)
                best[name] = min(cpu, best.get(name, cpu))
                digests.setdefault(name, digest)
        if len(set(digests.values())) != 1:
            raise SystemExit(f"{label}: the encoders wrote different bytes")
        speed = {name: rows / cpu for name, cpu in best.items()}
        gen, plain = speed["generated"], speed["plain"]
        line = f"| {label} | {rows:,} | {gen:,.0f} | {plain:,.0f} | **{gen / plain:.2f}x** |"
        if before:
            line += f" {speed['before']:,.0f} | {gen / speed['before']:.2f}x |"
        print(line, flush=True)


PLAIN_SWAP = (
    "import functools; from warehouse.mysql import python_engine as e, rows as r; "
    "e.batch_encoder = functools.partial(r.batch_encoder, dicts=r.plain_dicts); "
)
CLI = "from warehouse.cli import main; main()"


def output_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.json.gz"), key=lambda p: p.name):
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def whole_import(args: argparse.Namespace) -> None:
    n = args.import_rows
    base = Path(tempfile.mkdtemp(prefix="wh-bench-encoder-"))
    db = bi.start_mariadb(base / "db")
    ssh = bi.start_sshd(base / "ssh")
    try:
        db.create_database(bi.DB)
        db.execute(bi.DDL, database=bi.DB)
        db.execute(bi.FILL.format(n=n), database=bi.DB)
        db.create_user(bi.USER, bi.PASSWORD, bi.DB)
        bi.wait_for(lambda: bi.port_open(db.port), 10, "mariadb")
        toml = bi.write_config(base, ssh, db.port, "openssh", "auto")
        env = dict(os.environ, PYTHONPATH=str(ROOT_DIR))
        variants = {"generated (as shipped)": CLI, "plain_dicts": PLAIN_SWAP + CLI}
        cpus: dict[str, list[float]] = {k: [] for k in variants}
        walls: dict[str, list[float]] = {k: [] for k in variants}
        digests: dict[str, str] = {}
        for i in range(args.import_repeat):
            for name, code in variants.items():
                shutil.rmtree(base / "root", ignore_errors=True)
                argv = [sys.executable, "-c", code, "--config", str(toml), "import"]
                wall, cpu, _, out = bi.run_measured(argv, env)
                if f"{n:,} rows".encode() not in out:
                    raise SystemExit(f"{name}: expected {n:,} rows: {out.decode()[-500:]}")
                digests.setdefault(name, output_digest(base / "root"))
                cpus[name].append(cpu)
                walls[name].append(wall)
                print(f"  round {i + 1}: {name}: {wall:.2f}s wall, {cpu:.2f} CPU s", flush=True)
        if len(set(digests.values())) != 1:
            raise SystemExit("the two imports wrote different rows")
        print(f"\n| `warehouse import`, {n:,} rows | best CPU s | median CPU s | "
              "CPU us/row (best) | best wall s |")
        print("|---|---:|---:|---:|---:|")
        for name in variants:
            print(f"| {name} | {min(cpus[name]):.2f} | {statistics.median(cpus[name]):.2f} | "
                  f"{min(cpus[name]) / n * 1e6:.2f} | {min(walls[name]):.2f} |")
        gen, plain = (cpus[k] for k in variants)
        print(f"\nplain/generated CPU: best {min(plain) / min(gen):.3f}x, median "
              f"{statistics.median(plain) / statistics.median(gen):.3f}x "
              f"(output identical: {next(iter(digests.values()))[:12]})")
    finally:
        ssh.stop()
        db.stop()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000, help="7-column rows per pass")
    ap.add_argument("--wide-rows", type=int, default=300_000, help="wide rows per pass")
    ap.add_argument("--repeat", type=int, default=3, help="encoder passes per variant (best)")
    ap.add_argument("--import-rows", type=int, default=1_000_000, help="0: skip the import")
    ap.add_argument("--import-repeat", type=int, default=3)
    ap.add_argument("--before", help="a checkout whose rows.py's encoder is measured too")
    args = ap.parse_args()
    print(f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}", flush=True)
    encoder_alone(args)
    if args.import_rows:
        whole_import(args)


if __name__ == "__main__":
    main()
