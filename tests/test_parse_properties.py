"""Property tests: random bytes and random log lines never crash; every line is counted.

They run what `warehouse parse` runs: `parse_logs` itself, or `Classifier.classify` plus
the generated event builder, the two functions its loop calls per line.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from warehouse.config import config_from_dict
from warehouse.events.build import event_builder
from warehouse.events.inputs import HEAD, sniff
from warehouse.events.parse import ParseRequest, Seams, parse_logs
from warehouse.logs import MAX_LINE, TOO_LONG, Classifier, compile_format

FORMATS = [
    "combined",
    "common",
    "vhost_combined",
    "gunicorn",
    "main",
    '%h %t "%r" %>s %D %{X}i',
    '%h %u %t "%m %U%q %H" %>s',
]


def _line_count(data: bytes) -> int:
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _run(data: bytes, fmt: str = "combined") -> tuple[int, int, int, Path]:
    root = Path(tempfile.mkdtemp(prefix="wh-prop-"))
    summary = parse_logs(
        config_from_dict({}, root=str(root)),
        ParseRequest(["-"], source_name="prop", fmt=fmt),
        seams=Seams(stdin=io.BytesIO(data)),
    )
    if sniff(data[:HEAD]) is not None:  # read as compressed data: these bytes are corrupt
        assert summary.broken and summary.lines == 0
    return summary.lines, summary.events, summary.rejected, root


def _events(root: Path) -> list[str]:
    out: list[str] = []
    for p in sorted((root / "events").rglob("*.json.gz")):
        with gzip.open(p, "rt", encoding="utf-8") as f:
            out += f.read().splitlines()
    return out


def _stored_lines(root: Path, sub: str) -> int:
    n = 0
    for p in (root / sub).rglob("*.json.gz") if (root / sub).exists() else []:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            for line in f:
                json.loads(line)
                n += 1
    return n


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_every_line_accounted(data: bytes) -> None:
    lines, events, rejected, root = _run(data)
    try:
        if sniff(data[:HEAD]) is not None:
            return
        assert lines == _line_count(data)
        assert events + rejected == lines
        assert _stored_lines(root, "events") == events
        assert _stored_lines(root, "rejects") == rejected
    finally:
        shutil.rmtree(root)


_field = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
)  # any text, including quotes, backslashes, newlines-free control characters
_ip = st.one_of(st.ip_addresses().map(str), _field)


@st.composite
def _log_lines(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(1, 15))):
        day = draw(st.integers(1, 31))
        month = draw(st.sampled_from(["Jan", "Feb", "May", "Dec", "Foo"]))
        year = draw(st.integers(1, 9999))
        tz = draw(st.sampled_from(["+0000", "-0700", "+0530", "+9999", "X"]))
        hms = draw(st.sampled_from(["10:05:03", "23:59:60", "99:00:00", "00:00:00"]))
        status = draw(st.sampled_from(["200", "404", "-", "9999", "abc"]))
        size = draw(st.sampled_from(["0", "-", "123456", "-5"]))
        line = (
            f"{draw(_ip)} - {draw(_field)} [{day:02d}/{month}/{year:04d}:{hms} {tz}] "
            f'"{draw(_field)}" {status} {size} "{draw(_field)}" "{draw(_field)}"'
        )
        parts.append(line.replace("\n", " ").replace("\r", " ").encode("utf-8", "surrogatepass"))
    return b"\n".join(parts) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_log_lines(), st.sampled_from(FORMATS))
def test_random_log_lines_every_line_accounted(data: bytes, fmt: str) -> None:
    lines, events, rejected, root = _run(data, fmt)
    shutil.rmtree(root)
    assert lines == _line_count(data) and events + rejected == lines


@settings(max_examples=300, deadline=None)
@given(_field, _field, _field, _ip, st.sampled_from(FORMATS))
def test_classify_and_builder_never_raise(a: str, b: str, c: str, ip: str, fmt: str) -> None:
    f = compile_format(fmt)
    classify = Classifier(f).classify
    build = event_builder(f)
    for line in (
        f'{ip} - - [17/May/2015:10:05:03 +0000] "{a}" 200 1 "{b}" "{c}"',
        f'{ip} - - [17/May/2015:10:05:03 +0000] "{a}" 200 1 "{b}" "{c}" "{a}"',
        f"{ip} {a} {b} {c}",
        a + b,
    ):
        fields = classify(line)
        if isinstance(fields, str):
            continue
        assert isinstance(fields, tuple) and len(fields) == len(f.fields)
        ev = build(fields)
        assert isinstance(ev["status"], int) and isinstance(ev["ts"], str)
        json.dumps(ev)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_log_lines())
def test_crlf_gives_the_events_of_lf(data: bytes) -> None:
    lf = data.replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    got = []
    for variant in (lf, crlf):
        lines, events, rejected, root = _run(variant)
        got.append((lines, events, rejected, _events(root)))
        shutil.rmtree(root)
    assert got[0] == got[1]


def test_overlong_line_is_one_reject_and_the_rest_parses() -> None:
    good = b'1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 1 "-" "-"\n'
    huge = b"9.9.9.9 " + b"x" * (5 * MAX_LINE) + b"\n"
    big_no_newline_end = b"z" * (6 * MAX_LINE)
    data = good + huge + good + big_no_newline_end
    root = Path(tempfile.mkdtemp(prefix="wh-long-"))
    summary = parse_logs(
        config_from_dict({}, root=str(root)),
        ParseRequest(["-"], source_name="long"),
        seams=Seams(stdin=io.BytesIO(data)),
    )
    assert summary.lines == 4 and summary.events == 2
    assert summary.rejects == {TOO_LONG: 2}
    rejects = []
    for p in (root / "rejects").rglob("*.json.gz"):
        with gzip.open(p, "rt") as f:
            rejects += [json.loads(x) for x in f]
    assert sorted(r["lineno"] for r in rejects) == [2, 4]
    assert all(len(r["line"]) == MAX_LINE for r in rejects)
    shutil.rmtree(root)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(_text, _text, _text, _text)
@example("John Smith\\", "x\\", "r\\", "ua\\")
@example('J "Q" S', 'a"b\\', '"', '\\"\\\\')
def test_gunicorn_values_come_back_exactly(user: str, target: str, referer: str, ua: str) -> None:
    # gunicorn writes each value with `"` as `\"` and nothing else changed
    def esc(v: str) -> str:
        return v.replace('"', '\\"')

    target = "/" + target.replace(" ", "_")
    line = (
        f'10.0.0.1 - {esc(user)} [05/Feb/2021:07:08:09 +0000] "GET {esc(target)} HTTP/1.1" '
        f'200 12 "{esc(referer)}" "{esc(ua)}"'
    )
    fields = Classifier(compile_format("gunicorn")).classify(line)
    if user == "-" or " [" in user:
        return  # "-" is gunicorn's "no user"; a name holding " [" can split elsewhere
    assert isinstance(fields, tuple), line
    rec = dict(zip(compile_format("gunicorn").names, fields, strict=True))
    assert rec["remote_user"] == user
    assert rec["request"] == f"GET {target} HTTP/1.1"
    assert rec["header_in:referer"] == (None if referer == "-" else referer)
    assert rec["header_in:user-agent"] == (None if ua == "-" else ua)
