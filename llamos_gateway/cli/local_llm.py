"""`llamos local-llm serve`: llama-cpp-python's OpenAI-compatible server on the bundled model
(or any GGUF file), in the foreground."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from llamos_gateway.cli._common import help_when_bare


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The local model (the local-llm extra) in a process of its own.",
                        invoke_without_command=True, rich_markup_mode=None)
    group.callback()(help_when_bare)
    group.command()(serve)
    app.add_typer(group, name="local-llm")


def serve(
    model: Annotated[Path | None, typer.Option(
        help="GGUF file to serve (default: the bundled SmolLM2-135M-Instruct)")] = None,
    alias: Annotated[str, typer.Option(help="the model name clients send")] = "smollm2",
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port")] = 8080,
    n_ctx: Annotated[int, typer.Option("--n-ctx", min=256, help="context length in tokens")] = 4096,
    threads: Annotated[
        int | None, typer.Option(min=1, help="CPU threads (default: llama.cpp's)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the command, start nothing")] = False,
) -> None:
    """Serve a GGUF model with llama-cpp-python's server at http://HOST:PORT/v1. Point a model
    alias at it: {model: openai/ALIAS, api_base: http://HOST:PORT/v1}."""
    from llamos_gateway.localllm import bundled_model_path
    from llamos_gateway.localllm.server import describe, server_command

    command = server_command(model or bundled_model_path(), alias=alias, host=host, port=port,
                             n_ctx=n_ctx, n_threads=threads)
    typer.echo(describe(command), err=True)
    if not dry_run:
        os.execv(command[0], command)  # the server replaces this process (signals reach it)
