"""`llamos serve`, `llamos models`, `llamos version`."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from llamos_gateway import __version__
from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(models)
    app.command()(version)


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="bind address [default: server.host]")] = None,
    port: Annotated[int | None, typer.Option(help="port [default: server.port]")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes [default: server.workers]")] = None,
) -> None:
    """Run the gateway (OpenAI-compatible API on http://HOST:PORT/v1)."""
    import uvicorn

    from llamos_gateway.observability.logging import configure_logging
    from llamos_gateway.observability.metrics import multiprocess_metrics

    settings = load_settings(config)  # validate here: a bad key fails before any worker starts
    configure_logging(settings.logging)
    if config is not None:
        os.environ["LLAMOS_CONFIG"] = str(config.resolve())
    n = workers or settings.server.workers
    # Workers share their Prometheus metrics through PROMETHEUS_MULTIPROC_DIR; log_config=None
    # lets uvicorn's own lines reach the root handler, so every line is JSON.
    with multiprocess_metrics(n):
        uvicorn.run(
            "llamos_gateway.api.app:app_from_env", factory=True,
            host=host or settings.server.host, port=port or settings.server.port, workers=n,
            loop="uvloop", http="httptools", access_log=False, log_level="warning",
            log_config=None, timeout_graceful_shutdown=10,
        )


def models(config: ConfigOption = None) -> None:
    """List the model names the gateway serves and the path each takes."""
    from llamos_gateway.upstream.passthrough import build_http_client
    from llamos_gateway.wiring import build_router

    settings = load_settings(config)

    async def _list() -> None:
        client = build_http_client(max_connections=1, timeout_s=1.0, connect_timeout_s=1.0)
        try:
            for route in build_router(settings, client).routes():
                typer.echo(f"{route.alias:32} {route.path:12} {route.upstream_model}")
        finally:
            await client.close()

    asyncio.run(_list())


def version() -> None:
    """Print the version."""
    typer.echo(f"llamos-gateway {__version__}")
