"""A realistic Django project URLconf (a few hundred patterns) for the dump/resolver tests."""
