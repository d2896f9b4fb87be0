"""Secrets the configuration resolves (the MySQL and Hive passwords), typed so that they
cannot be printed: `repr`, `str` and every format spec give `****`, so a Secret inside a
config object, an f-string, a log call or an exception message shows only the mask. The
value is reached through `reveal()`, called only where it is handed to a driver (or used
to mask a driver's message). A Secret also registers its value with `warehouse.redact`, so
a driver that echoes it into a log record is masked there too.

The configuration itself holds no secret, only where to find one (`password_file`,
`password_env`); `[cron] environment` values are names-only in every printout
(`Environment`), and `config check` refuses the secret-looking ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

MASK = "****"  # warehouse.redact's mask; that module (and logging) is imported on first use


class Secret:
    """A secret string that prints as `****`; `reveal()` returns the value."""

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        from warehouse.redact import register_secret

        object.__setattr__(self, "_value", value)
        register_secret(value)

    def reveal(self) -> str:
        """Return the secret itself: only to hand it to a driver or to mask its messages."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self._value == other._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # a split MySQL export hands its Endpoint to spawned workers (a pipe, not a log)
        return (Secret, (self._value,))


class Environment(Mapping[str, str]):
    """`[cron] environment`: a read-only mapping whose printouts name the variables only
    (a value may be a secret; `config check` refuses those, but a printout never shows
    one either way)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._items.items())))

    def __repr__(self) -> str:
        return repr({k: "***" for k in self._items})  # as `config show` always printed it

    __str__ = __repr__


def apply_secret_environment(variables: Mapping[str, str]) -> list[str]:
    """Set each `[emr] environment` variable (NAME -> a file holding its value) that the
    process environment lacks, so `password_env` works on the EMR master without the
    secret on any command line; return the names set. A variable already set wins.
    Raises ConfigError for a file that cannot be read."""
    import os

    from warehouse.errors import ConfigError

    done = []
    for name, file in variables.items():
        if name in os.environ:
            continue
        try:
            with open(file, encoding="utf-8") as f:
                value = f.read().rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"[emr] environment {name}: cannot read {file} ({exc.strerror}); fix the path "
                "or its permissions"
            ) from None
        Secret(value)  # registers it with warehouse.redact: masked in every log line
        os.environ[name] = value
        done.append(name)
    return done
