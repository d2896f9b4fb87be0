"""The `sqoop` engine: build a `sqoop import` argv (pure) and run it on the EMR master.

Sqoop cannot run here (retired upstream in 2021, not on PyPI or Debian, not an EMR
application from 7.5 on): `sqoop_argv` is covered by golden tests; `run_sqoop` is the
thin part that runs on a cluster. Decisions:
- The JDBC URL points at the tunnel's bind address, which on the master is its private
  address so every mapper on the worker nodes reaches the tunnel (the `ssh -g` lesson).
- The password goes in a 0600 temporary file passed as `--password-file file://...`
  (never `--password` or `-P`), written without a trailing newline (Sqoop would send it),
  deleted as soon as Sqoop has read it (inotify) and in any case when it exits; folders
  left by a killed run are deleted by the next import.
- A free-form `--query` casts columns the way the python engine writes them, so the Hive
  types are the same: date/time types and wide DECIMALs as text (zero dates kept, not
  turned into NULL by Connector/J), BIT as binary digits, binary types as base64.
- Output is delimited text matching the generated DDL (`TextFormat()`: fields `\\001`,
  lines `\\n`, escape `\\`, NULL `\\N`). `--hive-drop-import-delims` removes `\\n`, `\\r`
  and `\\001` from strings: Hive's text input splits records at a raw newline even when
  escaped, so text holding them is changed (dropped) by this engine; use the python
  engine (lossless JSON) for such tables.
- `--direct` (mysqldump) cannot run a free-form query: with `direct = true` the argv uses
  `--table/--columns/--where` and values are as mysqldump prints them (not verified here).
- No `--driver`: Sqoop then picks its MySQL manager from the `jdbc:mysql:` URL (which
  `--direct` needs); the cluster must have MySQL Connector/J in Sqoop's lib folder.
- Incremental: `--incremental append|lastmodified --check-column C --last-value V`, plus
  our own upper bound in the WHERE (the MAX read before the import). The last value is
  the lag window's start, not the last MAX (late commits, `warehouse.mysql.watermark`):
  lastmodified `watermark - lag`; append the id before the oldest still-missing id,
  with the WHERE narrowed to the missing and new id ranges, as the python engine reads.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from warehouse.errors import JobFailed, mask_secret
from warehouse.hive.spec import TextFormat
from warehouse.mysql.schema import SourceColumn, quote
from warehouse.scratch import clean_stale_dirs, scratch_dir

log = logging.getLogger(__name__)

TEXT_FORMAT = TextFormat(field_delim="\x01", line_delim="\n", escape="\\", null_string="\\N")


@dataclass(frozen=True)
class SqoopPlan:
    """What one `sqoop import` must do (plain data, no secrets)."""

    jdbc_host: str
    jdbc_port: int
    database: str
    table: str
    username: str
    password_file: str  # a URI such as file:///tmp/x/password
    target_dir: str  # URI of the load folder
    columns: tuple[SourceColumn, ...]
    mappers: int  # [mysql.NAME] sqoop_mappers
    split_by: str | None = None
    incremental: str | None = None  # append | lastmodified
    check_column: str | None = None
    last_value: str | None = None
    upper_bound: str | None = None
    include_nulls: bool = False  # a full load of an incremental table: NULL check column too
    extra_where: str = ""  # append: the new and still-missing id ranges (integer literals)
    direct: bool = False
    job_name: str | None = None


def jdbc_url(host: str, port: int, database: str) -> str:
    """Return the Connector/J URL (UTC session, TINYINT(1) kept as a number)."""
    opts = "&".join(
        [
            "tinyInt1isBit=false",
            "zeroDateTimeBehavior=round",
            "useSSL=false",
            "sessionVariables=time_zone='+00:00'",
        ]
    )
    return f"jdbc:mysql://{host}:{port}/{database}?{opts}"


def _select_expr(col: SourceColumn) -> str:
    q = quote(col.name)
    kind = col.kind
    if kind == "b64":
        # MySQL's TO_BASE64 wraps lines every 76 characters; the python engine does not
        return f"REPLACE(TO_BASE64({q}), CHAR(10), '') AS {q}"
    if kind == "bit":
        return f"LPAD(BIN({q}), {col.bit_width}, '0') AS {q}"
    if col.data_type == "float":
        # the server's text for a FLOAT has 6 significant digits; the DOUBLE is exact
        return f"{q} + 0E0 AS {q}"
    if kind == "raw" or (col.data_type in ("decimal", "numeric") and (col.precision or 0) > 38):
        return f"CAST({q} AS CHAR) AS {q}"
    return q


def _bounds(plan: SqoopPlan) -> str:
    if plan.check_column and plan.upper_bound is not None:
        value = plan.upper_bound.replace("\\", "\\\\").replace("'", "''")
        bound = f"{quote(plan.check_column)} <= '{value}'"
        if plan.include_nulls:
            return f"({bound} OR {quote(plan.check_column)} IS NULL)"
        return f"{bound} AND {plan.extra_where}" if plan.extra_where else bound
    return ""


def sqoop_argv(plan: SqoopPlan, *, sqoop_bin: str) -> list[str]:
    """Return the `sqoop import` argv for `plan` (no password in it, ever); `sqoop_bin`:
    `[mysql.NAME] sqoop_bin`."""
    argv = [sqoop_bin, "import"]
    if plan.job_name:
        argv += ["-D", f"mapreduce.job.name={plan.job_name}"]
    argv += [
        "--connect", jdbc_url(plan.jdbc_host, plan.jdbc_port, plan.database),
        "--username", plan.username,
        "--password-file", plan.password_file,
        "--target-dir", plan.target_dir,
    ]
    bound = _bounds(plan)
    if plan.direct:
        argv += [
            "--table", plan.table,
            "--columns", ",".join(c.name for c in plan.columns),
            "--direct",
        ]
        if bound:
            argv += ["--where", bound]
    else:
        cols = ", ".join(_select_expr(c) for c in plan.columns)
        where = f"{bound} AND $CONDITIONS" if bound else "$CONDITIONS"
        argv += ["--query", f"SELECT {cols} FROM {quote(plan.table)} WHERE {where}"]
    mappers = plan.mappers if plan.split_by else 1
    argv += ["-m", str(mappers)]
    if plan.split_by and mappers > 1:
        argv += ["--split-by", plan.split_by]
    argv += [
        "--fields-terminated-by", "\\001",
        "--lines-terminated-by", "\\n",
        "--escaped-by", "\\\\",
        "--null-string", "\\\\N",
        "--null-non-string", "\\\\N",
        "--hive-drop-import-delims",
        "--compress", "--compression-codec", "org.apache.hadoop.io.compress.GzipCodec",
    ]
    if plan.incremental:
        if not plan.check_column:
            raise ValueError("incremental sqoop import needs a check column")
        argv += ["--incremental", plan.incremental, "--check-column", plan.check_column]
        if plan.last_value is not None:
            argv += ["--last-value", plan.last_value]
    return argv


PASSWORD_DIR_PREFIX = "warehouse-sqoop-"  # warehouse.scratch's `warehouse-<kind>-<pid>-`


@contextmanager
def password_file(password: str, *, watch: bool = True) -> Iterator[str]:
    """Yield a file:// URI of a 0600 file holding `password` (no newline); removed after.

    The file sits in a scratch folder `<tmp>/warehouse-sqoop-<pid>-<random>/`
    (`warehouse.scratch`), so that a later run can tell a leftover of a killed process
    (see `remove_stale_password_files`). With `watch` (on Linux), the file is deleted as
    soon as a reader has opened and closed it (Sqoop reads it once, at start, and hands
    the password to its mappers in the job's credentials), so a kill -9 while Sqoop runs
    leaves no password on disk.
    """
    with scratch_dir("sqoop") as folder:
        path = str(folder / "password")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        watcher = None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(password)
            if watch:
                watcher = remove_after_read(path)
            yield f"file://{path}"
        finally:
            if watcher is not None:
                watcher.stop()
            with suppress(OSError):
                os.remove(path)


def remove_stale_password_files(tmpdir: str | None = None) -> int:
    """Delete password folders left by processes that no longer run (a kill -9 during a
    sqoop import); return how many."""
    return clean_stale_dirs("sqoop", tmpdir)


class _Watch:
    """Deletes a file once a reader has closed it (inotify IN_CLOSE_NOWRITE, Linux)."""

    IN_CLOSE_NOWRITE = 0x10
    IN_NONBLOCK = 0o4000
    IN_CLOEXEC = 0o2000000

    def __init__(self, path: str) -> None:
        import ctypes
        import ctypes.util

        self.path = path
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(), self.IN_CLOSE_NOWRITE) < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqoop-password", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import select

        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                try:
                    event = os.read(self.fd, 4096) if ready else b""
                except BlockingIOError:
                    event = b""
                if event:
                    with suppress(OSError):
                        os.remove(self.path)
                    log.debug("sqoop read the password file; removed it")
                    return
        finally:
            os.close(self.fd)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def remove_after_read(path: str) -> _Watch | None:
    """Start deleting `path` once it has been read; None where inotify is unavailable."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return _Watch(path)
    except (OSError, AttributeError) as exc:
        log.debug("cannot watch %s (%s): it is removed when sqoop exits", path, exc)
        return None


def run_sqoop(
    argv: Sequence[str], *, secrets: Sequence[str] = (), timeout: float | None = None
) -> str:
    """Run a sqoop argv; return its stderr tail; raises JobFailed with argv, code and tail."""
    shown = mask_secret(" ".join(argv), *secrets)
    try:
        proc = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise JobFailed(
            f"{argv[0]} not found: Sqoop exists only on EMR releases up to 7.4 "
            "(--applications Sqoop); use engine = \"python\""
        ) from None
    except subprocess.TimeoutExpired:
        raise JobFailed(f"sqoop timed out after {timeout}s: {shown}") from None
    tail = mask_secret("\n".join(proc.stderr.splitlines()[-15:]), *secrets)
    if proc.returncode != 0:
        raise JobFailed(f"sqoop exited {proc.returncode}: {shown}: {tail.splitlines()[-1:] or ''}")
    return tail
