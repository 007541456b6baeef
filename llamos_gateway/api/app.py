"""The FastAPI app factory. Nothing is built at import time."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from llamos_gateway import __version__
from llamos_gateway.api import (
    audit_routes,
    errors,
    guardrail,
    metrics_routes,
    openai_routes,
    ops_routes,
    purify,
)
from llamos_gateway.api.middleware import RequestIdMiddleware
from llamos_gateway.api.shutdown import ShutdownNotice
from llamos_gateway.observability.logging import configure_logging
from llamos_gateway.settings import Settings, load_settings
from llamos_gateway.wiring import Components, open_components

ComponentsFactory = Callable[[Settings], AbstractAsyncContextManager[Components]]


def create_app(settings: Settings, *, components: ComponentsFactory = open_components) -> FastAPI:
    """Build the app. `components` opens every client on start-up and closes them on shutdown;
    tests pass their own factory to inject fakes."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        async with components(settings) as built:
            with ShutdownNotice(settings.server.shutdown_grace_s).hooked() as notice:
                yield {"llamos": built, "shutdown": notice}

    app = FastAPI(title="llamos-gateway", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.add_middleware(RequestIdMiddleware)
    errors.install(app)
    app.include_router(openai_routes.router)
    app.include_router(ops_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(purify.router)
    app.include_router(audit_routes.router)
    app.include_router(guardrail.router)
    return app


def app_from_env() -> FastAPI:
    """Entry point for `uvicorn --factory` worker processes: settings from LLAMOS_CONFIG + env."""
    config = os.environ.get("LLAMOS_CONFIG")
    settings = load_settings(Path(config) if config else None)
    configure_logging(settings.logging)
    return create_app(settings)
