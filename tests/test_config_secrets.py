"""The passwords the configuration resolves are `Secret`s: printing, logging, f-strings,
exception messages and tracebacks of config objects show `****`, never the value; the value
is reached only through `reveal()`."""

from __future__ import annotations

import io
import logging
import pickle
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.config import (
    Secret,
    config_from_dict,
    describe,
    load_config_and_problems,
    problems_error,
)
from warehouse.errors import ConfigError

MYSQL_PW = "my-Pa55word-from-the-file"
HIVE_PW = "hive-Pa55word-from-the-env"


def _renderings(obj: object) -> list[str]:
    """Every way a value usually ends up in text."""
    return [
        repr(obj), str(obj), f"{obj}", f"{obj!r}", f"{obj!s}", "%s" % (obj,),  # noqa: UP031
        "%r" % (obj,), "{}".format(obj), str([obj]), str({"password": obj}),  # noqa: UP031, UP032
        str((obj,)),
    ]


def _logged(*args: object) -> str:
    """Return what a plain logging handler (no redaction filter) writes for these calls."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test_config_secrets")
    log.addHandler(handler)
    log.propagate = False
    try:
        for arg in args:
            log.error("value %s", arg)
            log.error("value %r", arg)
            log.error("value %(v)s", {"v": arg})
            log.error(arg)
    finally:
        log.removeHandler(handler)
    return out.getvalue()


def _raised(obj: object) -> str:
    """Return an exception's message and its traceback with locals, for `obj` inside it."""
    try:
        secret_holder = obj  # noqa: F841 - a local the traceback prints
        raise ConfigError(f"cannot connect with {obj}")
    except ConfigError as exc:
        tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
        return str(exc) + "".join(tb.format())


def _config(tmp_path: Path) -> Path:
    pw = tmp_path / "shop.pass"
    pw.write_text(MYSQL_PW + "\n")
    conf = tmp_path / "w.toml"
    conf.write_text(
        f'[warehouse]\nroot = "{tmp_path / "root"}"\n'
        '[hive]\nauth = "LDAP"\npassword_env = "WH_TEST_HIVE_PASSWORD"\n'
        f'[mysql.shop]\nuser = "etl"\ndatabases = ["shop"]\npassword_file = "{pw}"\n'
        '[cron.environment]\nAWS_DEFAULT_REGION = "eu-west-1"\n'
    )
    return conf


def test_a_secret_prints_as_a_mask_and_reveals_on_request() -> None:
    s = Secret("pa55-Secret-value")
    for text in [*_renderings(s), _logged(s), _raised(s), f"{s:>40}", f"{s:.3}"]:
        assert "pa55-Secret-value" not in text
    assert "****" in str(s) and "****" in _logged(s) and "****" in _raised(s)
    assert s.reveal() == "pa55-Secret-value"
    assert s == Secret("pa55-Secret-value") and s != Secret("other-value")
    assert bool(s) and not Secret("")
    with pytest.raises(AttributeError):
        s._value = "changed"
    # split MySQL exports hand the endpoint to spawned workers: it survives a pickle
    assert pickle.loads(pickle.dumps(s)).reveal() == "pa55-Secret-value"


def test_resolved_passwords_never_print(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.config import load_config

    monkeypatch.setenv("WH_TEST_HIVE_PASSWORD", HIVE_PW)
    cfg = load_config(_config(tmp_path))
    assert cfg.hive is not None
    mysql_pw, hive_pw = cfg.mysql["shop"].password(), cfg.hive.password()
    assert isinstance(mysql_pw, Secret) and isinstance(hive_pw, Secret)
    assert (mysql_pw.reveal(), hive_pw.reveal()) == (MYSQL_PW, HIVE_PW)
    texts = [describe(cfg), _logged(cfg, mysql_pw, hive_pw), _raised(mysql_pw), _raised(hive_pw)]
    for obj in (cfg, cfg.mysql["shop"], cfg.hive, cfg.cron, mysql_pw, hive_pw):
        texts += _renderings(obj)
    for text in texts:
        assert MYSQL_PW not in text and HIVE_PW not in text
        assert "eu-west-1" not in text  # [cron] environment: names only


def test_hive_password_needs_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WH_TEST_HIVE_PASSWORD", raising=False)
    cfg = config_from_dict({"hive": {"auth": "LDAP", "password_env": "WH_TEST_HIVE_PASSWORD"}})
    assert cfg.hive is not None
    with pytest.raises(ConfigError, match=r"^\[hive\] password_env: \$WH_TEST_HIVE_PASSWORD is not set$"):
        cfg.hive.password()
    assert config_from_dict({"hive": {"auth": "NONE"}}).hive_or_default().password() is None
    with pytest.raises(ConfigError, match=r"^\[hive\] auth CUSTOM needs password_env"):
        config_from_dict({"hive": {"auth": "CUSTOM"}}).hive_or_default().password()


def test_config_check_prints_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WH_TEST_HIVE_PASSWORD", HIVE_PW)
    conf = _config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(conf), "-vv", "config", "check"])
    assert result.exit_code == 0, result.output
    assert f'password_file = "{tmp_path / "shop.pass"}"  # file' in result.output
    assert 'password_env = "WH_TEST_HIVE_PASSWORD"  # file' in result.output
    assert 'environment = { AWS_DEFAULT_REGION = "***" }  # file' in result.output
    for secret in (MYSQL_PW, HIVE_PW, "eu-west-1"):
        assert secret not in result.output


def test_load_config_and_problems_reports_without_refusing(tmp_path: Path) -> None:
    conf = tmp_path / "w.toml"
    conf.write_text('[logs]\nworkers = "two"\n[s3]\nmax_attempts = 0\n')
    cfg, problems = load_config_and_problems(conf, root=str(tmp_path))
    assert cfg.logs.workers == 1  # the bad value left at its default
    assert problems == ["[logs] workers must be an integer", "[s3] max_attempts must be at least 1"]
    err = problems_error(cfg.path, problems)
    assert str(err) == (
        f"config {conf.resolve()}: 2 problems: [logs] workers must be an integer; "
        "[s3] max_attempts must be at least 1"
    )
    assert err.exit_code == 2
    with pytest.raises(ConfigError, match="not valid TOML"):
        conf.write_text("[logs\n")
        load_config_and_problems(conf)


def test_masking_keeps_the_words_around_secrets() -> None:
    """MySQL's "(using password: YES)" is no secret: the filter leaves it whole, while a
    password value in a key = value pair is masked."""
    from warehouse.redact import redact

    denied = "1045 (28000): Access denied for user 'etl'@'127.0.0.1' (using password: YES)"
    assert redact(denied) == denied
    assert redact("(using password: NO); retry") == "(using password: NO); retry"
    assert redact("password: hunter2 (using password: YES)") == "password: **** (using password: YES)"
    assert redact("{'password': 'hunter2'}") == "{'password': '****'}"
