"""Dump a Django project's URL patterns as full-path regexes, in Django's resolution order.

`dump_patterns` walks Django's own resolver tree (the root `URLResolver(RegexPattern("^/"))`
that `django.urls.resolve` uses) and joins the regex of every level into one Python regex
over the whole path, leading slash included. Each entry is

    {"name": "<view_name>", "regex": "<full-path regex>"}                   (always)
    {..., "convert": {"pk": "int"}}                                            (when needed)
    {..., "extra": ["pk"]}                                                     (when needed)
    {..., "outer": {"_wh0_id": "id"}}                                          (when needed)

`name` is exactly `resolve(path).view_name` (namespaces joined with ":", or the view's
dotted path for unnamed patterns): it is computed by Django's own `ResolverMatch`.
`convert` names, per path() parameter, what its converter does to the matched text where
that changes it (the kinds of `warehouse.urls.resolver.CONVERTERS`): `int` for Django's
int converter and converters that behave like it, `drf_format_suffix` for Django REST
framework's format suffixes (".json/" -> "json"). Converters that keep the text (str,
slug, path, uuid, and custom ones found to) need nothing. `extra` lists captured names that
an extra kwarg of path()/include() shadows: Django's `kwargs` hold the extra value there,
so they are not params. Every other named group of every level is a param.

Each level becomes a piece of that regex in `warehouse.urls._pieces` (path() routes
anchored, re_path() regexes searched or full-matched, include() prefixes atomic, inline
flags scoped), and `warehouse.urls._assemble` joins the pieces (back-references renumbered,
a name an inner level captures again renamed in the outer level: `outer`). This module
walks Django's resolver tree; it and `_converters` are the only modules of `urls/` that
import Django, lazily (inside functions).

Documented limits (where the dump cannot reproduce Django without running Python code):
- custom converters whose `to_python` raises ValueError for some text their regex matches
  (Django then tries the next pattern; the dump only has the regex), or turns the text
  into something other than itself or an int: the dump warns, naming the pattern, and
  params hold the matched text. A custom converter is classified by calling its
  `to_python` on a few sample texts its regex matches;
- `i18n_patterns`: the language prefix is the one active while dumping
  (settings.LANGUAGE_CODE), not every language; the dump warns, naming the patterns;
- `^`/`\\A` anywhere but at the start of a re_path regex or of its top-level alternatives,
  and look-behinds reaching into an include() prefix (Django matches each level on its own
  substring); the dump logs a warning when it sees such a `^`;
- regexes in verbose mode `(?x)` are copied as they are (group renumbering and the
  resolver's index skip them; they still resolve, one by one);
- a URLconf that includes itself, directly or through others (Django follows such nesting
  lazily, as deep as a path goes): the dump follows an include() chain while no URLconf
  appears on it more than `cycle_depth` times (`urls dump --cycle-depth`, default
  DEFAULT_CYCLE_DEPTH), and warns once per cycle, naming the include chain; paths nested
  deeper get no slug (null).
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from warehouse.errors import ConfigError, InputMissing, WarehouseError
from warehouse.urls._assemble import FullPath, assemble
from warehouse.urls._converters import converter_kinds
from warehouse.urls._pieces import Piece, literal_piece, regex_piece, route_piece

log = logging.getLogger(__name__)

_INSTALL_HINT = "pip install 'warehouse[django]'"
# How many times one URLconf may appear on an include() chain (the root counts): 2 follows
# a self-including URLconf one level into itself.
DEFAULT_CYCLE_DEPTH = 2


def dump_patterns(
    urlconf: str,
    *,
    settings: str | None = None,
    pythonpath: list[str] | None = None,
    cycle_depth: int = DEFAULT_CYCLE_DEPTH,
) -> list[dict[str, Any]]:
    """Return the URL patterns of `urlconf` in resolution order, following an include()
    cycle while no URLconf is more than `cycle_depth` times on the chain; raises
    ConfigError/InputMissing."""
    if cycle_depth < 1:
        raise ConfigError(f"--cycle-depth {cycle_depth}: must be 1 or more")
    with _sys_path(pythonpath or []):
        _setup_django(urlconf, settings)
        from django.urls import get_resolver

        root = get_resolver(urlconf)
        try:
            top = list(root.url_patterns)
        except ModuleNotFoundError as e:
            raise InputMissing(
                f"cannot import URLconf {urlconf!r} (module {e.name!r} not found): "
                "check --urlconf and add its folder with --pythonpath DIR"
            ) from e
        except Exception as e:
            raise ConfigError(
                f"URLconf {urlconf!r} failed to load: {type(e).__name__}: {_one_line(e)}"
                + _settings_hint(settings)
            ) from e
        out: list[dict[str, Any]] = []
        walk = _Walk(out, cycle_depth)
        try:
            walk.level(top, [_piece(root.pattern, False)], [], [], [(urlconf, "")])
        except WarehouseError:
            raise
        except Exception as e:
            raise ConfigError(
                f"URLconf {urlconf!r} (or one of its include()s) is invalid: "
                f"{type(e).__name__}: {_one_line(e)}" + _settings_hint(settings)
            ) from e
        return out


def _settings_hint(settings: str | None) -> str:
    """What to try when a URLconf fails without the project's settings (minimal ones have
    no INSTALLED_APPS: `admin.site.urls` fails with "No installed app with label 'admin'")."""
    if settings:
        return ""
    return "; if it needs the project's settings (INSTALLED_APPS), pass --settings mysite.settings"


@contextmanager
def _sys_path(dirs: list[str]) -> Iterator[None]:
    """Put `dirs` first on sys.path while the URLconf is imported, then restore it."""
    saved = list(sys.path)
    sys.path[:0] = [os.path.abspath(d) for d in dirs]
    try:
        yield
    finally:
        sys.path[:] = saved


def _setup_django(urlconf: str, settings_module: str | None) -> None:
    """Configure Django: the given settings module, else minimal settings with ROOT_URLCONF."""
    try:
        import django
        from django.conf import settings
    except ImportError as e:
        raise ConfigError(
            f"`urls dump` needs Django, which is not installed: {_INSTALL_HINT}"
        ) from e
    if settings.configured:
        # Another dump in this process configured Django already; get_resolver(urlconf)
        # does not depend on ROOT_URLCONF, so that is enough.
        return
    if settings_module:
        try:
            importlib.import_module(settings_module)
        except Exception as e:
            raise ConfigError(
                f"cannot import Django settings {settings_module!r}: "
                f"{type(e).__name__}: {_one_line(e)}; check --settings and --pythonpath"
            ) from e
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    else:
        settings.configure(
            ROOT_URLCONF=urlconf,
            INSTALLED_APPS=[],
            USE_I18N=True,
            DEBUG=False,
            SECRET_KEY="warehouse-urls-dump",  # not a secret: nothing is signed while dumping
        )
    try:
        django.setup()
    except Exception as e:
        raise ConfigError(f"Django setup failed: {type(e).__name__}: {_one_line(e)}") from e


# One include() level on the way down: the URLconf's identity and how it was included.
_Link = tuple[Any, str]


class _Walk:
    """Walks Django's resolver tree depth first, appending an entry to `out` for every
    endpoint in resolution order; an include() whose URLconf is on the chain `cycle_depth`
    times already is not followed (warned once per cycle)."""

    def __init__(self, out: list[dict[str, Any]], cycle_depth: int) -> None:
        self.out = out
        self.cycle_depth = cycle_depth
        self._warned: set[frozenset[Any]] = set()
        self.converters_warned: set[type] = set()  # converters warned about

    def level(
        self,
        patterns: list[Any],
        pieces: list[Piece],
        app_names: list[str | None],
        namespaces: list[str | None],
        chain: list[_Link],
        extras: frozenset[str] = frozenset(),
    ) -> None:
        """Walk `patterns`; `pieces`, `app_names`, `namespaces`, `chain` and `extras` are
        those of the levels above."""
        from django.urls import URLPattern, URLResolver

        for p in patterns:
            if isinstance(p, URLResolver):
                link = (_urlconf_id(p), p.pattern.describe())
                if sum(1 for key, _ in chain if key == link[0]) >= self.cycle_depth:
                    self._warn_cycle(chain, link)
                    continue
                inner = list(p.url_patterns)
                _warn_i18n(p, inner)
                self.level(
                    inner,
                    [*pieces, _piece(p.pattern, False, self.converters_warned)],
                    [*app_names, p.app_name],
                    [*namespaces, p.namespace],
                    [*chain, link],
                    extras | set(p.default_kwargs or ()),
                )
            elif isinstance(p, URLPattern):
                full = assemble([*pieces, _piece(p.pattern, True, self.converters_warned)])
                self.out.append(_entry(p, full, app_names, namespaces, extras))
            else:
                log.warning("skipping unknown URL entry %r (neither URLPattern nor URLResolver)", p)

    def _warn_cycle(self, chain: list[_Link], link: _Link) -> None:
        """Warn once per loop of URLconfs (the include()s from the URLconf's last appearance
        on the chain back to it), whichever of them the walk meets first."""
        last = max(i for i, (key, _) in enumerate(chain) if key == link[0])
        loop = [*chain[last:], link]
        members = frozenset(key for key, _ in loop)
        if members in self._warned:
            return
        self._warned.add(members)
        log.warning(
            "URLconf %s includes itself (%s): the dump follows it %d time(s) deep "
            "(--cycle-depth); paths nested deeper get no slug (null)",
            _urlconf_label(link[0]),
            " -> ".join(
                [_urlconf_label(loop[0][0])]
                + [f"{_urlconf_label(key)} {how}" for key, how in loop[1:]]
            ),
            self.cycle_depth,
        )


def _urlconf_id(resolver: Any) -> Any:
    """What identifies the URLconf an include() names: its module's name (a module or a
    dotted path), else the identity of the pattern list it was given."""
    conf = resolver.urlconf_name
    if isinstance(conf, str):
        return conf
    name = getattr(conf, "__name__", None)
    if isinstance(name, str):
        return name
    return ("list", id(conf))


def _urlconf_label(key: Any) -> str:
    return key if isinstance(key, str) else "(a pattern list)"


def _warn_i18n(resolver: Any, inner: list[Any]) -> None:
    from django.urls.resolvers import LocalePrefixPattern

    if isinstance(resolver.pattern, LocalePrefixPattern):
        log.warning(
            "i18n_patterns (%s%s): only the prefix of the language active while "
            "dumping (%r) is in the dump; paths under other languages' prefixes get "
            "no slug (null)",
            ", ".join(q.pattern.describe() for q in inner[:3]),
            ", ..." if len(inner) > 3 else "",
            "/" + resolver.pattern.language_prefix,
        )


def _entry(
    p: Any,
    full: FullPath,
    app_names: list[str | None],
    namespaces: list[str | None],
    extras: frozenset[str],
) -> dict[str, Any]:
    """The dump's entry for one endpoint (a URLPattern) whose full-path regex is `full`."""
    from django.urls.resolvers import ResolverMatch

    match = ResolverMatch(
        p.callback, (), {}, p.pattern.name, app_names=app_names, namespaces=namespaces
    )
    try:
        re.compile(full.regex)
    except re.error as e:
        raise ConfigError(
            f"URL pattern {p.pattern.describe()} of view {match.view_name} "
            f"gives an invalid full-path regex ({e}): please report it"
        ) from e
    entry: dict[str, Any] = {"name": match.view_name, "regex": full.regex}
    if full.convert:
        entry["convert"] = full.convert
    shadowed = (extras | set(p.default_args or ())) & full.names
    if shadowed:
        entry["extra"] = sorted(shadowed)
    if full.outer:
        entry["outer"] = full.outer
    return entry


def _piece(pattern: Any, endpoint: bool, warned: set[type] | None = None) -> Piece:
    """Return one level's Django pattern (language prefix, path() route or re_path() regex)
    as a piece of the full-path regex."""
    from django.urls.resolvers import LocalePrefixPattern, RoutePattern

    if isinstance(pattern, LocalePrefixPattern):
        return literal_piece(pattern.language_prefix)
    if isinstance(pattern, RoutePattern):
        return route_piece(
            pattern.regex.pattern, converter_kinds(pattern, warned), endpoint=endpoint
        )
    return regex_piece(pattern.regex.pattern, endpoint=endpoint)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__
