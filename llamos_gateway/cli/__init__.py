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
    # Each module exposes register(app). Keep one import per line (several people edit this list).
    import llamos_gateway.cli.arena as arena_cli
    import llamos_gateway.cli.audit as audit_cli
    import llamos_gateway.cli.eval as eval_cli
    import llamos_gateway.cli.config as config_cli
    from llamos_gateway.cli import serve
    from llamos_gateway.cli import purify

    serve.register(app)
    purify.register(app)
    config_cli.register(app)
    eval_cli.register(app)
    audit_cli.register(app)
    arena_cli.register(app)
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
