"""`warehouse parse -r RUNNER`: the map-only mrjob job writes, object for object and byte for
byte, what an in-process parse writes, and reports the same counts and exit code."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures._util import sample_log
from warehouse.cli import cli
from warehouse.config import config_from_dict
from warehouse.errors import ConfigError, JobFailed
from warehouse.events.parse import ParseRequest, Seams, parse_logs
from warehouse.events.summary import ParseSummary
from warehouse.progress import ProgressEvent

SAMPLE = sample_log()
RUN_DATE = dt.date(2026, 1, 2)
URLS = [
    {"name": "home", "regex": "^/\\Z"},
    {"name": "blog:post", "regex": "^/blog/(?P<slug>[-a-z0-9]+)/\\Z"},
    {"name": "presentations", "regex": "^/presentations/(?P<rest>.+)\\Z"},
]
RANGE = 256 << 10  # cuts the big plain input into several byte ranges


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Multi-file, multi-day (the sample spans four UTC dates): plain and .gz, rejected
    lines, a plain file big enough for several ranges, and a truncated .gz."""
    d = tmp_path_factory.mktemp("corpus")
    lines = Path(SAMPLE).read_bytes().splitlines(keepends=True)
    logs = d / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "a.log").write_bytes(b"".join(lines[:3000]) + b"junk line\n\xff\xfe broken\n\n")
    with gzip.open(logs / "b.log.gz", "wb") as f:
        f.write(b"".join(lines[3000:6000]) + b"GET / HTTP/1.1\n")
    (logs / "sub" / "c.log").write_bytes(b"".join(lines[6000:]) + b"tail junk\n")
    whole = gzip.compress(b"".join(lines[:2000]))
    (logs / "sub" / "d.log.gz").write_bytes(whole[: len(whole) // 2])  # corrupt
    (d / "urls.json").write_text(json.dumps(URLS))
    return d


def _parse(
    corpus: Path, root: Path, runner: str | None, workers: int | None = None,
    runner_args: tuple[str, ...] = (),
) -> ParseSummary:
    cfg = config_from_dict({}, root=str(root))
    request = ParseRequest(
        [str(corpus / "logs")], patterns=str(corpus / "urls.json"), runner=runner, workers=workers
    )
    return parse_logs(
        cfg, request, seams=Seams(run_date=RUN_DATE, range_bytes=RANGE, runner_args=runner_args)
    )


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root (hidden ones too: state, leftovers), with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def counts(s: ParseSummary) -> tuple[object, ...]:
    return (
        s.inputs, s.lines, s.events, s.held, s.unmatched, dict(s.rejects), sorted(s.partitions),
        [(f.message, f.exit_code, f.set_aside) for f in s.failures], s.exit_code,
    )


@pytest.fixture(scope="module")
def in_process(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ParseSummary]:
    root = tmp_path_factory.mktemp("inproc") / "wh"
    summary = _parse(corpus, root, None, workers=2)
    # the corpus exercises what it should: ranges, rejects, four dates, a corrupt input
    assert len(summary.partitions) == 4 and summary.rejected >= 6
    assert [f.exit_code for f in summary.failures] == [5] and summary.exit_code == 5
    assert len([k for k in tree(root) if k.startswith("events/dt=2015-05-19/")]) > 2
    return root, summary


def _assert_same(root: Path, summary: ParseSummary, ref: tuple[Path, ParseSummary]) -> None:
    got, want = tree(root), tree(ref[0])
    assert sorted(got) == sorted(want)
    assert [k for k in got if got[k] != want[k]] == []
    assert counts(summary) == counts(ref[1])


@pytest.mark.parametrize("runner", ["inline", "local"])
def test_runner_output_is_byte_identical_to_in_process(
    corpus: Path, in_process: tuple[Path, ParseSummary], tmp_path: Path, runner: str
) -> None:
    root = tmp_path / "wh"
    summary = _parse(corpus, root, runner, workers=2)
    _assert_same(root, summary, in_process)
    # a re-run over its own output (as a retried night) changes nothing
    again = _parse(corpus, root, runner)
    _assert_same(root, again, in_process)


@pytest.mark.spark
@pytest.mark.slow
def test_spark_runner_output_is_byte_identical(
    corpus: Path, in_process: tuple[Path, ParseSummary], tmp_path: Path,
    spark_runner_args: list[str],
) -> None:
    root = tmp_path / "wh"
    summary = _parse(corpus, root, "spark", runner_args=tuple(spark_runner_args))
    _assert_same(root, summary, in_process)


def test_cli_runner_option_and_config_runner(
    corpus: Path, in_process: tuple[Path, ParseSummary], tmp_path: Path
) -> None:
    """The CLI's -r and [logs] runner (no range cut at the default size: compare to a
    plain in-process CLI run)."""
    args = [str(corpus / "logs"), "--patterns", str(corpus / "urls.json")]
    ref = tmp_path / "ref"
    want = CliRunner().invoke(cli, ["--root", str(ref), "parse", *args])
    assert want.exit_code == 5, want.output
    viar = tmp_path / "r"
    got = CliRunner().invoke(cli, ["--root", str(viar), "parse", *args, "-r", "local"])
    assert got.exit_code == 5, got.output
    assert "FAILED: 1 input set aside" in got.output and "d.log.gz" in got.output
    assert tree(viar) == tree(ref)
    conf = tmp_path / "warehouse.toml"
    conf.write_text(f'[warehouse]\nroot = "{tmp_path / "c"}"\n[logs]\nrunner = "inline"\n')
    viac = CliRunner().invoke(cli, ["--config", str(conf), "parse", *args])
    assert viac.exit_code == 5, viac.output
    assert tree(tmp_path / "c") == tree(ref)
    # the summary line agrees but for the rate, the time and the root
    heads = [
        next(x for x in r.output.splitlines() if x.startswith("parse"))
        for r in (want, got, viac)
    ]
    assert heads[1].startswith("parse [local]: ") and heads[2].startswith("parse [inline]: ")
    lines = [
        re.sub(r"; in \S+( \([\d,]+ lines/s\))? ->", "; ->", head.replace(" [local]:", ":"))
        .replace(" [inline]:", ":").replace(str(root), "ROOT")
        for head, root in zip(heads, (ref, viar, tmp_path / "c"), strict=True)
    ]
    assert lines[0] == lines[1] == lines[2]


def test_stdin_and_cluster_runners_on_a_local_root_are_refused(tmp_path: Path) -> None:
    cfg = config_from_dict({}, root=str(tmp_path / "wh"))
    with pytest.raises(ConfigError, match="stdin"):
        parse_logs(cfg, ParseRequest(["-"], source_name="x", runner="inline"))
    with pytest.raises(ConfigError, match="s3:// root"):
        parse_logs(cfg, ParseRequest([SAMPLE], runner="emr"))
    res = CliRunner().invoke(cli, ["--root", str(tmp_path), "parse", SAMPLE, "-r", "nope"])
    assert res.exit_code == 2
    assert not (tmp_path / "wh").exists()


def test_failed_job_publishes_nothing_and_exits_5(corpus: Path, tmp_path: Path) -> None:
    """A job whose tasks cannot start fails: JobFailed (exit 5) naming the runner, nothing
    published, no staging left; a bad patterns file is a config error (exit 2) first."""
    root = tmp_path / "wh"
    cfg = config_from_dict({}, root=str(root))
    with pytest.raises(JobFailed, match="parse job failed on runner local") as exc:
        parse_logs(
            cfg,
            ParseRequest([str(corpus / "logs")], runner="local"),
            seams=Seams(runner_args=("--python-bin", str(tmp_path / "no-python"))),
        )
    assert exc.value.exit_code == 5
    assert tree(root) == {}
    bad = tmp_path / "urls.json"
    bad.write_text("not json")
    res = CliRunner().invoke(
        cli, ["--root", str(root), "parse", str(corpus / "logs" / "a.log"),
              "--patterns", str(bad), "-r", "inline"],
    )
    assert res.exit_code == 2 and "not valid JSON" in res.output
    assert tree(root) == {}


def test_run_parse_stage_uses_logs_runner(tmp_path: Path) -> None:
    """`run` parses a day with [logs] runner: the same objects as in process."""
    from tests.test_pipeline import DAY1, base_config, write_config, write_day_logs
    from warehouse.run.records import load_record
    from warehouse.storage import LocalStore

    write_day_logs(tmp_path / "logs", [DAY1])
    roots = {}
    for runner in (None, "local"):
        data = base_config(tmp_path)
        data["warehouse"]["root"] = str(tmp_path / f"root-{runner}")
        if runner:
            data["logs"]["runner"] = runner
        conf = write_config(tmp_path / f"{runner}.toml", data)
        r = CliRunner().invoke(
            cli, ["--config", str(conf), "run", "--date", str(DAY1), "--only", "parse"]
        )
        assert r.exit_code == 0, r.output
        roots[runner] = tmp_path / f"root-{runner}"
    rec = load_record(LocalStore(roots["local"]), DAY1, "parse")
    assert rec is not None and (rec.summary or "").startswith("parse [local]: ")
    events = {k: v for k, v in tree(roots[None]).items() if k.startswith("events/")}
    assert len(events) >= 2
    assert {k: v for k, v in tree(roots["local"]).items() if k.startswith("events/")} == events


def test_map_task_reports_status_while_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A long map task tells Hadoop it is alive (its output line comes only at the end)."""
    from warehouse.events import parsejob

    monkeypatch.setattr(parsejob, "HEARTBEAT_SECONDS", 0.0)
    job = parsejob.ParseJob([])
    job.sandbox()
    beat = parsejob._Heartbeat(job, "s3://logs/a.log")
    beat(ProgressEvent("parse", "bytes", 100, 7))
    beat(ProgressEvent("parse", "bytes", 100, 3))
    assert job.stderr.getvalue().splitlines() == [  # type: ignore[attr-defined]
        b"reporter:status:parse s3://logs/a.log: 7 lines",
        b"reporter:status:parse s3://logs/a.log: 10 lines",
    ]


def test_duplicate_and_killed_attempts_leave_no_duplicates_or_partials(
    corpus: Path, in_process: tuple[Path, ParseSummary], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every map task runs twice (a speculative duplicate, or a retry after a failure) and
    a killed attempt leaves a half-written temporary file in staging: the published root
    is still exactly the in-process one, with nothing left in staging."""
    from warehouse.events import parsejob
    from warehouse.events.state import staging_prefix
    from warehouse.events.task import run_task

    def twice(settings: Any, task: Any, bar: Any) -> Any:
        run_task(settings, task, None)  # the first attempt, whose output line is lost
        left = root / staging_prefix(task.source) / "events" / "dt=2015-05-18"
        left.mkdir(parents=True, exist_ok=True)
        (left / f"_tmp.{task.source.part_id}-{task.index:04d}.json.gz.dead").write_bytes(b"\x1f")
        return run_task(settings, task, bar)

    root = tmp_path / "wh"
    monkeypatch.setattr(parsejob, "run_task", twice)
    summary = _parse(corpus, root, "inline")
    assert not (root / "_staging" / "parse").exists() or not any(
        p.is_file() for p in (root / "_staging").rglob("*")
    )
    _assert_same(root, summary, in_process)


def test_config_names_a_bad_logs_runner(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[logs\] runner 'yarn' is not a mrjob runner"):
        config_from_dict({"logs": {"runner": "yarn"}}, root=str(tmp_path))
    assert config_from_dict({"logs": {"runner": "emr"}}, root=str(tmp_path)).logs.runner == "emr"


def test_task_result_survives_the_output_line() -> None:
    """Every field of a task's Result comes back from its JSON output line."""
    from collections import Counter

    from warehouse.events.inputread import CorruptInput
    from warehouse.events.parsejob import result_from_json, result_json
    from warehouse.events.task import Result

    res = Result("s3://logs/a.log", lines=7, events=5, unmatched=2, nbytes=900,
                 rejects=Counter({"empty line": 2}), keys=["_staging/parse/x/events/p"],
                 partitions={"2015-05-18", "2015-05-17"}, failure=CorruptInput("input a: cut"))
    back = result_from_json(json.loads(json.dumps(result_json(3, res))))
    shown = lambda r: {k: str(v) if isinstance(v, Exception) else v  # noqa: E731
                       for k, v in vars(r).items()}
    assert shown(back) == shown(res) and back.failure is not None
    assert back.failure.exit_code == 5
