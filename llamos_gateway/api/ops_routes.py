"""Liveness and readiness."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llamos_gateway.api.openai_routes import components

router = APIRouter()


@router.api_route("/healthz", methods=["GET", "HEAD"])
async def healthz() -> Response:
    """The process is up and serving. No dependency is checked."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.api_route("/readyz", methods=["GET", "HEAD"])
async def readyz(request: Request) -> Response:
    """Which backends are active and whether each dependency answers. 200 when the gateway can
    serve (a down Redis only degrades it); 503 when a required dependency is down."""
    report = await components(request).readiness()
    status = 200 if report["ready"] else 503
    return Response(orjson.dumps(report), status_code=status, media_type="application/json")
