"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (env vars LLAMOS_* override it)",
                 envvar="LLAMOS_CONFIG"),
]


def help_when_bare(ctx: typer.Context) -> None:
    """A group called without a command prints its help (exit 0), instead of a usage error."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
