"""The `llamos` command. Each command lives in its own module and calls library code.

`main` is the one place that turns every error a person can cause (a bad flag, a missing
argument, a bad configuration, a file that cannot be read, a port in use) into one line on
stderr and exit status 2. A traceback is left only for what is a bug.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

import typer

from llamos_gateway.cli._common import help_when_bare
from llamos_gateway.errors import LlamosError

USAGE_EXIT = 2


def build_cli() -> typer.Typer:
    # rich_markup_mode=None: click's plain help (no boxes, no `<bool>` after flags), the same
    # on a terminal and in a pipe.
    app = typer.Typer(
        name="llamos",
        help="LLAMOS gateway: an OpenAI-compatible proxy that purifies adversarial prompts.",
        invoke_without_command=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(help_when_bare)
    # Each command module exposes register(app).
    from llamos_gateway.cli import arena, audit, config, local_llm, purify, serve
    from llamos_gateway.cli import eval as eval_cmd

    for module in (serve, purify, config, eval_cmd, audit, arena, local_llm):
        module.register(app)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    command = typer.main.get_command(build_cli())
    try:
        status = command.main(args=list(argv) if argv is not None else None, prog_name="llamos",
                              standalone_mode=False)
    except typer.TyperException as exc:  # click's usage errors: a bad flag, a missing argument
        ctx = getattr(exc, "ctx", None)
        fail(exc.format_message() + (f" (see '{ctx.command_path} --help')" if ctx else ""))
    except LlamosError as exc:
        fail(exc.message)
    except typer.Abort:
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    raise SystemExit(status if isinstance(status, int) else 0)


def fail(message: str) -> NoReturn:
    """One clean line on stderr, exit status 2."""
    print(f"llamos: error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(USAGE_EXIT)
