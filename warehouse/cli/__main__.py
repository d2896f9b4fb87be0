"""`python -m warehouse.cli`: the `warehouse` command."""

from warehouse.cli import main

main()
