"""URLconfs that include each other and themselves (the shape of Django's own
urlpatterns_reverse tests): `outer` includes `inner` under several namespaces and itself,
`inner` includes `outer` back. Django resolves such nesting lazily, as deep as a path goes."""
