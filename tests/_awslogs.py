"""AWS access logs for the tests: Athena's regexes (the oracle), the services' documented
example lines, generators of lines with every documented field, the event each line must
give (read through Athena's regex, urllib.parse and nothing of ours), and running
`warehouse parse` through the CLI to compare its events with them.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from click.testing import CliRunner

from tests._urls_oracle import same
from warehouse.cli import cli

# --- Athena's regexes, as AWS documents them (Java string escapes undone) ----------------
# ALB: "Create the table for ALB access logs" (with classification, classification_reason
# and conn_trace_id, 2024)
ATHENA_ALB = re.compile(
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) '
    r'([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) (.*) (- |[^ ]*)" '
    r'"([^"]*)" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^"]*)" '
    r'([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^ ]*)" "([^\s]+?)" "([^\s]+)" "([^ ]*)" '
    r'"([^ ]*)" ?([^ ]*)?( .*)?'
)
# ALB as the Athena guide had it in 2019 (through redirect_url, then error_reason and
# anything later optional): the oracle of lines written before the later fields existed
ATHENA_ALB_2019 = re.compile(
    r'([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) '
    r'([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) ([^ ]*) (- |[^ ]*)" '
    r'"([^"]*)" ([A-Z0-9-]+) ([A-Za-z0-9.-]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^"]*)" '
    r'([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)"($| "[^ ]*")(.*)'
)
# Classic Load Balancer: "Querying Classic Load Balancer logs"
ATHENA_ELB = re.compile(
    r'([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:\-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) '
    r'(|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) \"([^ ]*) ([^ ]*) (- |[^ ]*)\" ("[^"]*") '
    r'([A-Z0-9-]+) ([A-Za-z0-9.-]*)$'
)
# S3 server access logs: "Using Amazon S3 server access logs to identify requests"
ATHENA_S3 = re.compile(
    r'([^ ]*) ([^ ]*) \[(.*?)\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) '
    r'(-|[0-9]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ("[^"]*"|-) ([^ ]*)'
    r'(?: ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*))?.*$'
)
# CloudFront: "Create a table for CloudFront standard logs" (tab-separated, these columns)
ATHENA_CLOUDFRONT = ["date", "time", "x_edge_location", "sc_bytes", "c_ip", "cs_method", "cs_host", "cs_uri_stem", "sc_status", "cs_referrer", "cs_user_agent", "cs_uri_query", "cs_cookie", "x_edge_result_type", "x_edge_request_id", "x_host_header", "cs_protocol", "cs_bytes", "time_taken", "x_forwarded_for", "ssl_protocol", "ssl_cipher", "x_edge_response_result_type", "cs_protocol_version", "fle_status", "fle_encrypted_fields", "c_port", "time_to_first_byte", "x_edge_detailed_result_type", "sc_content_type", "sc_content_len", "sc_range_start", "sc_range_end"]
CF_FIELDS = (
    "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status "
    "cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id "
    "x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)

# --- the services' documented examples -------------------------------------------------
_TG = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
ALB_DOCS = [
    f'http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {_TG} "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90',
    f'https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 {_TG} "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_1234abcd5678ef90',
    f'h2 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 10.0.1.252:48160 10.0.0.66:9000 0.000 0.002 0.000 200 200 5 257 "GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 {_TG} "Root=1-58337327-72bd00b0343d75b906739c42" "-" "-" 1 2018-07-02T22:22:48.364000Z "redirect" "https://example.com:80/" "-" "10.0.0.66:9000" "200" "-" "-" TID_1234abcd5678ef90',
    f'ws 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 10.0.0.140:40914 10.0.1.192:8010 0.001 0.003 0.000 101 101 218 587 "GET http://10.0.0.30:80/ HTTP/1.1" "-" - - {_TG} "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 1 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.1.192:8010" "101" "-" "-" TID_1234abcd5678ef90',
    f'http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {_TG} "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "-" "-" "-" "-" "-" TID_1234abcd5678ef90',
    f'http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - {_TG} "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "LambdaInvalidResponse" "-" "-" "-" "-" TID_1234abcd5678ef90',
]
ELB_DOCS = [
    '2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -',
    '2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.38.0" DHE-RSA-AES128-SHA TLSv1.2',
]
_OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
S3_DOCS = [
    f'{_OWNER} awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {_OWNER} 3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /awsexamplebucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1',
    f'{_OWNER} awsexamplebucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 {_OWNER} A1206F460EXAMPLE REST.GET.BUCKETPOLICY - "GET /awsexamplebucket1?policy HTTP/1.1" 404 NoSuchBucketPolicy 297 - 38 - "-" "S3Console/0.4" - BNaBsXZQQDbssi6xMBdBU2sLt+Yf5kZDmeBUP35sFoKa3sLLeMC78iwEIWxs99CRUrbS4n11234= SigV2 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1',
    f'{_OWNER} awsexamplebucket1 [06/Feb/2019:00:01:57 +0000] 192.0.2.3 {_OWNER} DD6CC733AEXAMPLE REST.PUT.OBJECT s3-dg.pdf "PUT /awsexamplebucket1/s3-dg.pdf HTTP/1.1" 200 - - 4406583 41754 28 "-" "S3Console/0.4" - 10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234= SigV4 ECDHE-RSA-AES128-SHA AuthHeader awsexamplebucket1.s3.us-west-1.amazonaws.com TLSV1.1',
]
CF_DOCS = [
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tk6WGMNkEzR5BEM_SaF47gjtX9zBDO2m349OY2an0QPEaUum1ZOLrow==\td111111abcdef8.cloudfront.net\thttps\t23\t0.000\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.000\tHit\ttext/html\t78\t-\t-",
    "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tHit\tf37nTMVvnKvV2ZSvEsivup_c2kZ7VXzYdjC-GUQZ5qNs-89BlWazbw==\td111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-",
    "2019-12-13\t22:36:27\tSEA19-C1\t900\t192.0.2.200\tGET\td111111abcdef8.cloudfront.net\t/favicon.ico\t502\thttp://www.example.com/\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tError\t1pkpNfBQ39sYMnjjUQjmH2w1wdJnbHYTbag21o_3OfcQgPzdL2RSSQ==\twww.example.com\thttp\t675\t0.102\t-\t-\t-\tError\tHTTP/1.1\t-\t-\t25260\t0.102\tOriginDnsError\ttext/html\t507\t-\t-",
    "2019-12-13\t22:36:26\tSEA19-C1\t11634\t192.0.2.200\tGET\td111111abcdef8.cloudfront.net\t/\t200\t-\tMozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36\t-\t-\tMiss\tL8KrapSm4fwDvWUkAYyuXqtWZbXirgy2hgC4X1o2RvbzggTuPUNuWQ==\twww.example.com\thttp\t675\t0.078\t-\t-\t-\tMiss\tHTTP/1.1\t-\t-\t25260\t0.058\tMiss\ttext/html\t11366\t-\t-",
]

# --- generated lines -------------------------------------------------------------------
_UAS = ["-", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "python-requests/2.31 (bot; +http://example.com/a b)"]


def iso_utc(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _target(rng: random.Random, paths: list[str]) -> str:
    path = rng.choice(paths)
    query = rng.choice(["", "?q=1", "?a=%20b&c", "?"])
    return path + query


def alb_lines(rng: random.Random, paths: list[str], n: int) -> list[str]:
    out = []
    for i in range(n):
        t = dt.datetime(2024, 3, 9, 23, 59, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=7 * i)
        times = [rng.choice(["0.000", "0.001", "0.086", "1.234567", "-1"]) for _ in range(3)]
        host = rng.choice(["www.example.com:443", "api.example.com:80", "10.0.2.105:773"])
        scheme = rng.choice(["http", "https"])
        req = f"{rng.choice(['GET', 'POST', 'HEAD'])} {scheme}://{host}{_target(rng, paths)} " \
              f"{rng.choice(['HTTP/1.1', 'HTTP/2.0', 'HTTP/1.0'])}"
        if i % 17 == 5:
            req = "- http://www.example.com:80- "  # a request ALB could not parse
        client = rng.choice(["192.0.2.7:51234", "2001:db8::17:443", "198.51.100.2:1"])
        target = rng.choice(["10.0.0.1:80", "-"])
        kind = rng.choice(["http", "https", "h2", "ws", "wss", "grpcs"])
        out.append(
            f"{kind} {t.strftime('%Y-%m-%dT%H:%M:%S')}.{rng.randrange(10**6):06d}Z "
            f"app/my-lb/50dc6c495c0c9188 {client} {target} {' '.join(times)} "
            f"{rng.choice(['200', '301', '404', '502', '101'])} {rng.choice(['200', '-'])} "
            f"{rng.randrange(5000)} {rng.randrange(10**7)} \"{req}\" \"{rng.choice(_UAS)}\" "
            f"{rng.choice(['-', 'ECDHE-RSA-AES128-GCM-SHA256'])} {rng.choice(['-', 'TLSv1.2'])} "
            f"{_TG} \"Root=1-{i:08x}-36d228ad5d99923122bbe354\" "
            f"\"{rng.choice(['-', 'www.example.com'])}\" \"-\" {rng.choice(['0', '1', '-'])} "
            f"{t.strftime('%Y-%m-%dT%H:%M:%S')}.364000Z "
            f"\"{rng.choice(['forward', 'authenticate,forward', 'redirect'])}\" "
            f"\"{rng.choice(['-', 'https://example.com:80/'])}\" "
            f"\"{rng.choice(['-', 'LambdaInvalidResponse'])}\" "
            f"\"{rng.choice(['-', '10.0.0.1:80'])}\" \"{rng.choice(['-', '200'])}\" "
            f"\"{rng.choice(['-', 'Ambiguous'])}\" "
            f"\"{rng.choice(['-', 'UndefinedContentLengthSemantics'])}\" TID_{i:016x}"
        )
    return out


def lb_event(verb: str, url: str, proto: str, when: str, ip: str, status: str, sent: str,
              ua: str, times: list[str]) -> dict[str, Any]:
    """The event of an ALB/ELB line from Athena's groups (an independent reading)."""
    method = path = query = protocol = vhost = None
    if verb != "-":
        u = urlsplit(url)
        method, protocol = verb, (proto if proto.startswith("HTTP/") else None)
        path, query, vhost = u.path or "/", u.query or None, u.hostname
    duration = None
    if "-1" not in times:
        duration = round(sum(float(x) for x in times) * 1000, 3)
    return {
        "ts": iso_utc(dt.datetime.fromisoformat(when)), "ip": ip, "vhost": vhost, "user": None,
        "method": method, "path": path, "query": query, "protocol": protocol,
        "status": int(status), "bytes": int(sent), "referer": None,
        "user_agent": None if ua == "-" else ua, "duration_ms": duration,
    }


def alb_expected(line: str) -> dict[str, Any]:
    g = ATHENA_ALB.fullmatch(line)
    assert g is not None, line
    return lb_event(g[15], g[16], g[17], g[2], g[4], g[11], g[14], g[18], [g[8], g[9], g[10]])


def elb_expected(line: str) -> dict[str, Any]:
    g = ATHENA_ELB.fullmatch(line)
    assert g is not None, line
    return lb_event(g[14], g[15], g[16], g[1], g[3], g[10], g[13], g[17][1:-1], [g[7], g[8], g[9]])


def elb_lines(rng: random.Random, paths: list[str], n: int) -> list[str]:
    out = []
    for i in range(n):
        t = dt.datetime(2015, 5, 13, 23, 39, 43, tzinfo=dt.UTC) + dt.timedelta(seconds=3 * i)
        times = [rng.choice(["0.000073", "0.001048", "-1", "0.2"]) for _ in range(3)]
        url = f"{rng.choice(['http', 'https'])}://www.example.com:443{_target(rng, paths)}"
        ssl = rng.choice(["- -", "DHE-RSA-AES128-SHA TLSv1.2"])
        out.append(
            f"{t.strftime('%Y-%m-%dT%H:%M:%S')}.945958Z my-loadbalancer 192.168.131.39:2817 "
            f"{rng.choice(['10.0.0.1:80', '-'])} {' '.join(times)} "
            f"{rng.choice(['200', '404', '503'])} {rng.choice(['200', '-'])} 0 {rng.randrange(999)} "
            f"\"{rng.choice(['GET', 'PUT'])} {url} HTTP/1.1\" \"{rng.choice(_UAS)}\" {ssl}"
        )
    return out


def s3_expected(line: str) -> dict[str, Any]:
    g = ATHENA_S3.fullmatch(line)
    assert g is not None, line
    method = path = query = protocol = None
    uri = g[9][1:-1] if g[9].startswith('"') else g[9]
    parts = uri.split(" ")
    if len(parts) >= 2:
        method, target = parts[0], parts[1]
        protocol = parts[2] if len(parts) == 3 else None
        path, _, q = target.partition("?")
        query = q or None

    def unq(text: str) -> str | None:
        text = text[1:-1] if text.startswith('"') else text
        return None if text == "-" else text

    return {
        "ts": iso_utc(dt.datetime.strptime(g[3], "%d/%b/%Y:%H:%M:%S %z")), "ip": g[4],
        "vhost": None, "user": None if g[5] == "-" else g[5], "method": method, "path": path,
        "query": query, "protocol": protocol, "status": int(g[10]),
        "bytes": 0 if g[12] == "-" else int(g[12]), "referer": unq(g[16]),
        "user_agent": unq(g[17]), "duration_ms": None if g[14] == "-" else int(g[14]),
    }


def s3_lines(rng: random.Random, paths: list[str], n: int) -> list[str]:
    out = []
    for i in range(n):
        t = dt.datetime(2024, 3, 9, 10, 0, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=11 * i)
        req = rng.choice([f'"GET /bucket{_target(rng, paths)} HTTP/1.1"', "-",
                          f'"PUT {_target(rng, paths)}"', '"-"'])
        requester = rng.choice(["-", _OWNER, "arn:aws:iam::123456789012:user/alice"])
        referer = rng.choice(['"-"', '"http://www.example.com/page?x=1"', "-"])
        ua = rng.choice(['"-"', '"aws-cli/2.15 Python/3.11 Linux/6.1 (exe)"', '"S3Console/0.4"'])
        later = rng.choice([
            "",
            " s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3= SigV4 "
            "ECDHE-RSA-AES128-GCM-SHA256 AuthHeader bucket.s3.us-west-2.amazonaws.com TLSv1.2 "
            "arn:aws:s3:us-east-1:123456789012:accesspoint/example-AP Yes",
            " - - - - - - - -",
        ])
        out.append(
            f"{_OWNER} bucket [{t.strftime('%d/%b/%Y:%H:%M:%S')} +0000] "
            f"{rng.choice(['192.0.2.3', '2001:db8::1'])} {requester} {i:016X} REST.GET.OBJECT "
            f"{rng.choice(['-', 'photos/2019/08/puppy.jpg'])} {req} "
            f"{rng.choice(['200', '304', '403'])} {rng.choice(['-', 'AccessDenied'])} "
            f"{rng.choice(['-', '2662992'])} {rng.choice(['-', '3462992'])} "
            f"{rng.choice(['-', '70'])} {rng.choice(['-', '10'])} {referer} {ua} "
            f"{rng.choice(['-', '3HL4kqtJvjVBH40Nrjfkd'])}{later}"
        )
    return out


def cf_expected(line: str, header: list[str] | None = None) -> dict[str, Any]:
    """Read a CloudFront line as Athena's table does: its columns in the documented order
    (or, for a file with another #Fields line, by that line's names)."""
    values = line.split("\t")
    if header is None:
        f = dict(zip(ATHENA_CLOUDFRONT, values, strict=True))
    else:
        f = {n.lower().replace("-", "_").replace("(", "_").rstrip(")"): v
             for n, v in zip(header, values, strict=True)}
        f = {{"cs_referer": "cs_referrer"}.get(k, k): v for k, v in f.items()}

    def dash(key: str, decode: bool = False) -> str | None:
        v = f.get(key, "-")
        return None if v == "-" else unquote(v) if decode else v

    taken = dash("time_taken")
    return {
        "ts": f"{f['date']}T{f['time']}Z", "ip": f["c_ip"], "vhost": dash("x_host_header"),
        "user": None, "method": f["cs_method"], "path": f["cs_uri_stem"],
        "query": dash("cs_uri_query"), "protocol": dash("cs_protocol_version"),
        "status": int(f["sc_status"]), "bytes": int(f["sc_bytes"]),
        "referer": dash("cs_referrer", True), "user_agent": dash("cs_user_agent", True),
        "duration_ms": None if taken is None else round(float(taken) * 1000, 3),
    }


def cf_lines(rng: random.Random, paths: list[str], n: int) -> list[str]:
    out = []
    for i in range(n):
        t = dt.datetime(2024, 3, 9, 8, 0, 0) + dt.timedelta(seconds=13 * i)
        path = rng.choice(paths)
        ua = quote(rng.choice(_UAS[1:]), safe="/;:(),+=!*'@&$?")
        ref = rng.choice(["-", "https://www.example.com/a%20b?c=%22d%22", "http://x.example/"])
        out.append("\t".join([
            t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S"), "FRA56-P1", str(rng.randrange(10**6)),
            rng.choice(["192.0.2.100", "2001:db8::1"]), rng.choice(["GET", "POST"]),
            "d111111abcdef8.cloudfront.net", path, rng.choice(["200", "304", "000", "502"]),
            ref, ua, rng.choice(["-", "a=1&b=%20c", "q=x%3Fy"]), "-", "Hit",
            f"req{i}==", rng.choice(["www.example.com", "-"]), "https", "120",
            rng.choice(["0.001", "0.082", "12.5"]), rng.choice(["-", "198.51.100.9"]), "TLSv1.3",
            "TLS_AES_128_GCM_SHA256", "Hit", rng.choice(["HTTP/1.1", "HTTP/2.0", "HTTP/3.0"]),
            "-", "-", "443", "0.001", "Hit", "text/html", "78", "-", "-",
        ]))
    return out


def parse_cli(tmp_path: Path, name: str, lines: list[str], fmt: str, dump: Path) -> tuple[
    Any, dict[str, list[dict[str, Any]]], list[dict[str, Any]]
]:
    """Run `warehouse parse FILE --format FMT --patterns DUMP`; return the result, the
    events per day and the rejects."""
    log = tmp_path / f"{name}.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    root = tmp_path / f"root-{name}"
    result = CliRunner().invoke(
        cli, ["--root", str(root), "parse", str(log), "--format", fmt, "--patterns", str(dump)]
    )
    days: dict[str, list[dict[str, Any]]] = {}
    for part in sorted((root / "events").rglob("*.json.gz")):
        with gzip.open(part, "rt", encoding="utf-8") as f:
            days.setdefault(part.parent.name[3:], []).extend(json.loads(x) for x in f)
    rejects = []
    for part in (root / "rejects").rglob("*.json.gz") if (root / "rejects").exists() else []:
        with gzip.open(part, "rt", encoding="utf-8") as f:
            rejects.extend(json.loads(x) for x in f)
    return result, days, rejects


def check_events(
    result: Any, days: dict[str, list[dict[str, Any]]], rejects: list[Any],
    expected: list[dict[str, Any]], answer: Callable[[str], Any],
) -> None:
    assert result.exit_code == 0, result.output
    assert rejects == []
    want: dict[str, list[dict[str, Any]]] = {}
    for ev in expected:
        want.setdefault(ev["ts"][:10], []).append(ev)
    assert sorted(days) == sorted(want)
    for day, events in days.items():
        assert len(events) == len(want[day])
        for got, ev in zip(events, want[day], strict=True):
            slug, params = got.pop("slug"), got.pop("params")
            assert got == ev
            theirs = answer(ev["path"]) if ev["path"] is not None else (None, {})
            assert same((slug, params), theirs), (ev["path"], slug, params, theirs)


