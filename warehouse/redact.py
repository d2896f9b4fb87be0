"""Secrets never reach a log: a logging.Filter on every handler the CLI installs.

Two nets. Known values: passwords read from files or the environment, and the AWS keys
and session token of the boto3 credential chain, are registered with `register_secret`
when they are read, and every occurrence is replaced by `****`. Known shapes: botocore's
debug output of request headers (`X-Amz-Security-Token`, `Authorization`), presigned
query strings and `password=` pairs are masked whatever their value (instance-profile
credentials rotate, so a token may be one never registered).

The registry is process-wide on purpose: a secret read anywhere must be masked by every
handler, and it holds values, never configuration.
"""

from __future__ import annotations

import logging
import os
import re
import threading

MASK = "****"
_MIN_LEN = 4  # shorter values would mask ordinary words
_ENV_SECRETS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

_secrets: set[str] = set()
_lock = threading.Lock()

_PATTERNS = [
    # header dicts and wire dumps: 'X-Amz-Security-Token': b'...', Authorization: AWS4-...
    re.compile(r"""(?i)(x-amz-security-token['"]?\s*[:=]\s*b?['"]?)([^'"\r\n,}]+)"""),
    re.compile(r"""(?i)(authorization['"]?\s*[:=]\s*b?['"]?)([^'"\r\n]+)"""),
    # presigned URLs and query strings
    re.compile(r"(?i)((?:x-amz-security-token|x-amz-signature|x-amz-credential|signature)=)([^&\s'\"]+)"),
    # key = value pairs and dict reprs of secrets (not MySQL's "(using password: YES)")
    re.compile(
        r"""(?i)(['"]?(?<!using )(?:password|passwd|aws_secret_access_key|aws_session_token|"""
        r"""secret_access_key|session_token|secretaccesskey|sessiontoken)['"]?\s*[:=]\s*b?['"]?)"""
        r"""([^'"\s,}&]+)"""
    ),
]


def register_secret(value: str | bytes | None) -> None:
    """Mask `value` in every log record from now on (values under 4 characters are ignored)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if value and len(value) >= _MIN_LEN:
        with _lock:
            _secrets.add(value)


def register_environment_secrets() -> None:
    """Register the AWS secrets that the boto3 chain would read from the environment."""
    for name in _ENV_SECRETS:
        register_secret(os.environ.get(name))


def register_boto3_credentials(session: object) -> None:
    """Register the secret key and token a boto3 Session resolved (no network if none)."""
    get = getattr(session, "get_credentials", None)
    creds = get() if get else None
    if creds is None:
        return
    frozen = creds.get_frozen_credentials()
    register_secret(frozen.secret_key)
    register_secret(frozen.token)


def redact(text: str) -> str:
    """Return `text` with registered secrets and secret-shaped values replaced by ****."""
    with _lock:
        values = sorted(_secrets, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class SecretFilter(logging.Filter):
    """Rewrite each record's message, traceback and stack text with `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let the handler report it as usual
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add a SecretFilter to every handler of `logger` (default: the root logger)."""
    target = logger or logging.getLogger()
    register_environment_secrets()
    for handler in target.handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())
