"""URL patterns: the Django dump (`warehouse.urls.dump`, needs Django) and the pure resolver."""

from warehouse.urls.resolver import NaiveResolver, Resolver, load_patterns

__all__ = ["NaiveResolver", "Resolver", "load_patterns"]
