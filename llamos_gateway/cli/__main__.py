"""`python -m llamos_gateway.cli`: the `llamos` command."""

from llamos_gateway.cli import main

main()
