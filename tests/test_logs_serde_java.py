"""`serde_regex()` is real Java: compile it with java.util.regex and compare the groups.

Hive's RegexSerDe uses `Pattern.compile(regex).matcher(line).matches()` and one column per
capturing group; this runs exactly that on the JVM for every preset and a few custom
formats, over the sample log and tricky lines, and checks Java's groups equal ours.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests._awslogs import ALB_DOCS, CF_DOCS, ELB_DOCS, S3_DOCS
from tests.fixtures._util import require_executable, sample_log
from warehouse.logs import compile_format

JAVA = r"""
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.regex.*;

public class SerdeCheck {
    public static void main(String[] args) throws Exception {
        List<String> regexes = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        List<String> lines = Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder();
        for (String rx : regexes) {
            Pattern p = Pattern.compile(rx);
            out.append("#").append(p.matcher("").groupCount()).append('\n');
            for (String line : lines) {
                Matcher m = p.matcher(line);
                if (!m.matches()) { out.append("-\n"); continue; }
                StringBuilder row = new StringBuilder("+");
                for (int i = 1; i <= m.groupCount(); i++) {
                    row.append('\u0001').append(m.group(i) == null ? "\u0002" : m.group(i));
                }
                out.append(row).append('\n');
            }
        }
        Files.write(Paths.get(args[2]), out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
"""

FORMATS = [
    "common",
    "combined",
    "vhost_combined",
    "gunicorn",
    "main",
    '%h %l %u %t "%m %U%q %H" %>s %b',
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $time_iso8601',
    '%h %{%d/%b/%Y:%H:%M:%S %z}t %D %{ms}T "%r" %X %400,501{User-agent}i %U%q',
    # behind a load balancer: the header unquoted, hops joined by ", "
    '%{X-Forwarded-For}i %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
    # the AWS presets (their documented example lines are in EXTRA)
    "alb",
    "elb",
    "s3",
    "cloudfront",
]
EXTRA = [
    '2001:db8::1 - bob [17/May/2015:10:05:03 +0200] "GET /a\\"b\\\\c HTTP/1.1" 200 - "-" '
    '"UA \\"quoted\\" \\xe2\\x82\\xac"',
    'www.example.com:443 ::1 - - [17/May/2015:10:05:03 +0000] "-" 408 0 "-" "-"',
    '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "\\x16\\x03\\x01" 400 226 "-" "-"',
    '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /é HTTP/1.1" 200 5 "-" "ünïcode"',
    '203.0.113.9, 10.0.0.2,10.0.0.3 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua"',
    # a Basic-auth user with a space; gunicorn's literal backslashes; nginx main; %U%q
    '1.2.3.4 - John Smith [17/May/2015:10:05:03 +0000] "GET /a\\b HTTP/1.1" 200 5 "-" "ua\\"',
    '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "1.1.1.1, 2.2.2.2"',
    '1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET /s?q=\\"y\\" HTTP/1.1" 200 5',
    *ALB_DOCS,
    *ELB_DOCS,
    *S3_DOCS,
    *CF_DOCS,
]


def test_serde_regex_matches_the_same_groups_in_java(tmp_path: Path) -> None:
    javac = require_executable("javac")
    java = require_executable("java")
    (tmp_path / "SerdeCheck.java").write_text(JAVA)
    subprocess.run([javac, "SerdeCheck.java"], cwd=tmp_path, check=True, capture_output=True)
    sample = Path(sample_log()).read_text(
        encoding="utf-8", errors="backslashreplace"
    )
    lines = sample.splitlines()[:1500] + EXTRA
    compiled = [compile_format(f) for f in FORMATS]
    (tmp_path / "regexes.txt").write_text(
        "\n".join(c.serde_regex() for c in compiled) + "\n", encoding="utf-8"
    )
    (tmp_path / "lines.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    subprocess.run(
        [java, "-cp", ".", "SerdeCheck", "regexes.txt", "lines.txt", "out.txt"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    out = (tmp_path / "out.txt").read_text(encoding="utf-8").split("\n")
    pos = 0
    matched = 0
    for fmt in compiled:
        assert out[pos] == f"#{len(fmt.serde_columns())}", fmt
        pos += 1
        for line in lines:
            got = out[pos]
            pos += 1
            m = fmt.regex.fullmatch(line)
            if m is None:
                assert got == "-", (fmt, line)
                continue
            groups = ["\x02" if g is None else g for g in m.groups()]
            assert got == "+" + "".join("\x01" + g for g in groups), (fmt, line)
            matched += 1
    assert matched > 3000


@pytest.mark.parametrize("fmt", FORMATS)
def test_serde_columns_are_unique_hive_names(fmt: str) -> None:
    cols = compile_format(fmt).serde_columns()
    assert len(cols) == len(set(cols))
