"""The AWS access-log presets: `alb`, `elb` (Classic), `s3` (server access logs) and
`cloudfront` (standard logs, W3C). Each is a list of fields in the service's order.

The regexes follow the ones AWS documents for Athena's tables (a field's text is what
Athena reads, without its quotes): ALB and Classic ELB from "Querying Application / Classic
Load Balancer logs", S3 from "Using Amazon S3 server access logs to identify requests",
CloudFront from its tab-separated Athena table. Fields the events use take the record keys
the other formats use (`remote_host`, `request`, `status`, `bytes`, `remote_user`,
`header_in:user-agent`, ...), so the event builder reads them as for any format; the rest
are `aws:<name>` fields kept raw (FLAG) for the `access_raw` table.
"""

from __future__ import annotations

from warehouse.logs import directives as d
from warehouse.logs.directives import Spec

_W = r"[^ ]*"  # a field up to the next space
_Q = r'[^"]*'  # inside quotes (AWS writes no escapes)
# ALB's request: up to the quote that ends it (a quote followed by ` "` opens the user agent)
_REQUEST = r'[^"]*(?:"(?! ")[^"]*)*'

Piece = str | tuple[str, Spec]


def _raw(name: str, regex: str = _W, prefix: str = "", suffix: str = "") -> tuple[str, Spec]:
    return name, Spec(f"aws:{name}", d.FLAG, name, regex, prefix=prefix, suffix=suffix)


def _ptime(name: str) -> tuple[str, Spec]:
    # ALB/ELB processing times in seconds; -1 when the load balancer could not measure it
    return name, Spec(f"aws:{name}", d.NUM, name, r"-1|[0-9.]*")


def _lb_head(times: tuple[str, str, str], target: str) -> list[Piece]:
    """client:port target:port t1 t2 t3 elb_status target_status received sent "request" "ua" """
    return [
        ("client_ip", Spec("remote_host", d.STR, "client_ip", _W)),
        ":",
        _raw("client_port", "[0-9]*"),
        " ",
        _raw(f"{target}_ip"),
        _raw(f"{target}_port", "[0-9]*", prefix="[:-]"),
        " ",
        _ptime(times[0]),
        " ",
        _ptime(times[1]),
        " ",
        _ptime(times[2]),
        " ",
        ("elb_status_code", Spec("status", d.INT, "elb_status_code", d.STATUS)),
        " ",
        _raw(f"{target}_status_code", "[-0-9]*"),
        " ",
        _raw("received_bytes", "[-0-9]*"),
        " ",
        ("sent_bytes", Spec("bytes", d.INT, "sent_bytes", d.DIGITS)),
        ' "',
        ("request", Spec("request", d.REQUEST, "request", _REQUEST)),
        '" "',
        ("user_agent", Spec("header_in:user-agent", d.STR, "user_agent", _Q)),
        '" ',
    ]


def _time(column: str) -> tuple[str, Spec]:
    return column, Spec("time", d.TIME, column, _W, "iso")


def alb() -> list[Piece]:
    """Application Load Balancer access log entries (the fields AWS documents, 2024)."""
    pieces: list[Piece] = [_raw("type"), " ", _time("time"), " ", _raw("elb"), " "]
    pieces += _lb_head(
        ("request_processing_time", "target_processing_time", "response_processing_time"),
        "target",
    )
    pieces += [
        _raw("ssl_cipher", "[A-Za-z0-9_-]+"), " ",
        _raw("ssl_protocol", "[A-Za-z0-9.-]*"), " ",
        _raw("target_group_arn"), ' "',
        _raw("trace_id", _Q), '"',
    ]
    # ALB added fields at the end over the years (domain_name and chosen_cert_arn 2017,
    # ... redirect_url 2018, error_reason 2018, the target lists 2019, classification
    # 2020, conn_trace_id 2024): each is optional, so older files read too, and anything
    # AWS appends later lands in new_field
    later = [
        ("domain_name", _Q, True), ("chosen_cert_arn", _Q, True),
        ("matched_rule_priority", "[-.0-9]*", False), ("request_creation_time", _W, False),
        ("actions_executed", _Q, True), ("redirect_url", _Q, True), ("error_reason", _Q, True),
        ("target_port_list", _Q, True), ("target_status_code_list", _Q, True),
        ("classification", _Q, True), ("classification_reason", _Q, True),
        ("conn_trace_id", _W, False), ("new_field", ".*", False),
    ]
    for i, (name, regex, quoted) in enumerate(later):
        close = ")?" * len(later) if i == len(later) - 1 else ""
        pieces.append(_raw(name, regex, prefix='(?: "' if quoted else "(?: ",
                           suffix=('"' if quoted else "") + close))
    return pieces


def elb() -> list[Piece]:
    """Classic Load Balancer access log entries."""
    pieces: list[Piece] = [_time("timestamp"), " ", _raw("elb"), " "]
    pieces += _lb_head(
        ("request_processing_time", "backend_processing_time", "response_processing_time"),
        "backend",
    )
    pieces += [_raw("ssl_cipher", "[A-Za-z0-9_-]+"), " ", _raw("ssl_protocol", "[A-Za-z0-9.-]*")]
    return pieces


def _quoted(name: str, column: str) -> tuple[str, Spec]:
    # S3 writes `"..."`, or a bare `-`: the quotes are part of the match, QSTR drops them
    return column, Spec(name, d.QSTR, column, r'"[^"]*"|-')


def s3() -> list[Piece]:
    """Amazon S3 server access log records (the fields AWS documents, 2024)."""
    later = ("version_id", "host_id", "signature_version", "cipher_suite", "authentication_type",
             "host_header", "tls_version", "access_point_arn", "acl_required")
    pieces: list[Piece] = [
        _raw("bucket_owner"), " ", _raw("bucket"), " ",
        ("time", Spec("time", d.TIME, "time", r"[^\]]*", "clf", r"\[", r"\]")), " ",
        ("remote_ip", Spec("remote_host", d.STR, "remote_ip", _W)), " ",
        ("requester", Spec("remote_user", d.STR, "requester", _W)), " ",
        _raw("request_id"), " ", _raw("operation"), " ", _raw("key"), " ",
        _quoted("request", "request_uri"), " ",
        ("http_status", Spec("status", d.INT, "http_status", d.STATUS)), " ",
        _raw("error_code"), " ",
        ("bytes_sent", Spec("bytes", d.ZINT, "bytes_sent", d.DIGITS)), " ",
        _raw("object_size"), " ",
        ("total_time", Spec("duration_ms", d.INT, "total_time", d.DIGITS)), " ",
        _raw("turn_around_time"), " ",
        _quoted("header_in:referer", "referer"), " ",
        _quoted("header_in:user-agent", "user_agent"), " ",
        _raw(later[0]),
    ]
    # the later fields came one by one over the years: the oldest records lack them
    for i, name in enumerate(later[1:], 1):
        pieces.append(_raw(name, _W, prefix="(?: " if i == 1 else " ",
                           suffix=")?" if i == len(later) - 1 else ""))
    pieces.append(_raw("rest", ".*", prefix="(?: ", suffix=")?"))
    return pieces


# CloudFront standard log fields (W3C names, AWS docs 2024: 33 fields, in this order):
# (W3C name, record key or "" for a raw field, kind); the Hive column is w3c_column(name)
CLOUDFRONT_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("date", "time", d.TIME),
    ("time", "time_of_day", d.TIME),
    ("x-edge-location", "", d.FLAG),
    ("sc-bytes", "bytes", d.INT),
    ("c-ip", "remote_host", d.STR),
    ("cs-method", "method", d.STR),
    ("cs(Host)", "", d.FLAG),
    ("cs-uri-stem", "url_path", d.STR),
    ("sc-status", "status", d.INT),
    ("cs(Referer)", "header_in:referer", d.PCT),
    ("cs(User-Agent)", "header_in:user-agent", d.PCT),
    ("cs-uri-query", "args", d.STR),
    ("cs(Cookie)", "", d.FLAG),
    ("x-edge-result-type", "", d.FLAG),
    ("x-edge-request-id", "", d.FLAG),
    ("x-host-header", "host", d.STR),
    ("cs-protocol", "", d.FLAG),
    ("cs-bytes", "", d.FLAG),
    ("time-taken", "duration_sec", d.NUM),
    ("x-forwarded-for", "", d.FLAG),
    ("ssl-protocol", "", d.FLAG),
    ("ssl-cipher", "", d.FLAG),
    ("x-edge-response-result-type", "", d.FLAG),
    ("cs-protocol-version", "protocol", d.STR),
    ("fle-status", "", d.FLAG),
    ("fle-encrypted-fields", "", d.FLAG),
    ("c-port", "", d.FLAG),
    ("time-to-first-byte", "", d.FLAG),
    ("x-edge-detailed-result-type", "", d.FLAG),
    ("sc-content-type", "", d.FLAG),
    ("sc-content-len", "", d.FLAG),
    ("sc-range-start", "", d.FLAG),
    ("sc-range-end", "", d.FLAG),
)


def w3c_column(name: str) -> str:
    """Return the Hive column of a W3C field name (`cs(User-Agent)` -> `cs_user_agent`)."""
    out = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    return out.replace("__", "_")


def cloudfront() -> list[Piece]:
    """CloudFront standard log fields, tab-separated, in the documented order; a file's
    own `#Fields:` line reorders them (see Classifier)."""
    pieces: list[Piece] = []
    for i, (w3c, key, kind) in enumerate(CLOUDFRONT_FIELDS):
        if i:
            pieces.append("\t")
        column = w3c_column(w3c)
        if kind == d.TIME:
            fmt = "%Y-%m-%d" if w3c == "date" else "%H:%M:%S"
            spec = Spec("time", d.TIME, column, r"[^\t]*", "strftime:" + fmt)
        else:
            spec = Spec(key or f"w3c:{w3c}", kind, column, r"[^\t]*")
        pieces.append((w3c, spec))
    pieces.append(("rest", Spec("w3c:rest", d.FLAG, "rest", ".*", prefix="(?:\t", suffix=")?")))
    return pieces


BUILTIN = {"alb": alb, "elb": elb, "s3": s3, "cloudfront": cloudfront}
