"""URL patterns: the Django dump (`warehouse.urls.dump`, needs Django) and the pure resolver.

The dump file itself is read and written by `warehouse.events.patterns`."""

from warehouse.urls.resolver import NaiveResolver, Resolver

__all__ = ["NaiveResolver", "Resolver"]
