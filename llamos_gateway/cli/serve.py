"""`llamos serve`, `llamos models`, `llamos version`."""

from __future__ import annotations

import errno
import math
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from llamos_gateway import __version__
from llamos_gateway.api.shutdown import CUT_MARGIN_S
from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import load_settings, override

FLAGS = {"host": "--host", "port": "--port", "workers": "--workers"}


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(models)
    app.command()(version)


def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="bind address [default: server.host]")] = None,
    port: Annotated[int | None, typer.Option(help="port [default: server.port]")] = None,
    workers: Annotated[int | None, typer.Option(
        help="worker processes [default: server.workers]")] = None,
) -> None:
    """Run the gateway (OpenAI-compatible API on http://HOST:PORT/v1)."""
    import uvicorn

    from llamos_gateway.cli.workers import run_server
    from llamos_gateway.observability.logging import configure_logging
    from llamos_gateway.observability.metrics import multiprocess_metrics
    from llamos_gateway.observability.startup import log_startup, log_stopped
    from llamos_gateway.wiring import preflight

    # validate here, flags exactly like the file and the environment: a bad value fails
    # before any worker starts
    flags = {"host": host, "port": port, "workers": workers}
    settings = override(load_settings(config), "server",
                        {k: v for k, v in flags.items() if v is not None}, names=FLAGS)
    server = settings.server
    preflight(settings)
    check_listen_address(server.host, server.port)
    configure_logging(settings.logging)
    if config is not None:
        os.environ["LLAMOS_CONFIG"] = str(config.resolve())
    log_startup(settings)
    # Workers share their Prometheus metrics through PROMETHEUS_MULTIPROC_DIR; log_config=None
    # lets uvicorn's own lifecycle lines reach the root handler, so they are formatted like
    # ours (JSON lines, or plain text on a terminal).
    # uvicorn waits a little past the grace: the app cuts what is still open first
    # (api.shutdown), so uvicorn never cancels a request under it
    server_config = uvicorn.Config(
        "llamos_gateway.api.app:app_from_env", factory=True,
        host=server.host, port=server.port, workers=server.workers,
        loop="uvloop", http="httptools", access_log=False,
        log_level=settings.logging.level.lower(), log_config=None,
        timeout_graceful_shutdown=math.ceil(server.shutdown_grace_s + CUT_MARGIN_S),
    )
    with multiprocess_metrics(server.workers), stop_line(log_stopped):
        run_server(server_config)


class _Stopped(BaseException):
    """A stop signal that reached us rather than uvicorn (a BaseException: nothing on the
    way may swallow it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_line(log: Callable[[float], None]) -> Iterator[None]:
    """Write the stop line once the server is down, and keep the exit status a signal gives.

    uvicorn handles SIGINT/SIGTERM while it serves, shuts down, then raises the signal again;
    a signal before it has taken over (still starting) comes here directly. Either way it
    becomes `_Stopped`, the body unwinds, the line is logged, and the signal is delivered again
    to the default handler (SIGTERM ends the process with status 143, SIGINT with 130)."""
    def stop(signum: int, _frame: FrameType | None) -> None:
        raise _Stopped(signum)

    started = time.monotonic()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    stopped_by: int | None = None
    try:
        yield
    except _Stopped as exc:
        stopped_by = exc.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log(time.monotonic() - started)
    if stopped_by is not None:
        signal.raise_signal(stopped_by)


def check_listen_address(host: str, port: int) -> None:
    """Bind the address once, as uvicorn will, so a port in use or a host that is not this
    machine's is one clear line (exit 2) instead of uvicorn's log line and exit 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "the port is in use (another gateway? pick one with --port)"
            elif exc.errno == errno.EACCES:
                reason = "permission denied (ports below 1024 need privileges)"
            else:
                reason = exc.strerror or str(exc)
            raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from exc


def models(config: ConfigOption = None) -> None:
    """List the model names the gateway serves, the path each takes and its effective defense
    policy (global settings with the model's own `defense` over them; keys and headers may
    still override it per request)."""
    from llamos_gateway.routing import plan_routes

    settings = load_settings(config)
    book = settings.policies()
    rows = [("MODEL", "PATH", "MODE", "BACKEND", "ACTION", "THRESHOLD", "ROLES", "TASK",
             "UPSTREAM MODEL")]
    for plan in plan_routes(settings):
        policy = book.for_model(plan.alias)
        rows.append((plan.alias, plan.path, policy.mode.value,
                     policy.backend or settings.defense_backend, policy.action.value,
                     f"{policy.block_threshold:g}", ",".join(sorted(policy.roles)),
                     policy.task or "-", plan.upstream_model))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        typer.echo("  ".join(f"{cell:{w}}" for cell, w in zip(row, widths, strict=False))
                   + "  " + row[-1])


def version() -> None:
    """Print the version."""
    typer.echo(f"llamos-gateway {__version__}")
