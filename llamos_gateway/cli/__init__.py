"""The `llamos` command. Each command lives in its own module and calls library code."""

from __future__ import annotations

import sys

import typer

from llamos_gateway.errors import LlamosError


def build_cli() -> typer.Typer:
    app = typer.Typer(
        name="llamos",
        help="LLAMOS gateway: an OpenAI-compatible proxy that purifies adversarial prompts.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    # Each command module exposes register(app).
    from llamos_gateway.cli import arena, audit, config, purify, serve
    from llamos_gateway.cli import eval as eval_cmd

    for module in (serve, purify, config, eval_cmd, audit, arena):
        module.register(app)
    return app


def main() -> None:
    try:
        build_cli()()
    except LlamosError as exc:
        # One clean line, never a traceback, for every error the library raises.
        print(f"llamos: error: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
