"""`GET /metrics`: the Prometheus exposition, merged over every worker process."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from llamos_gateway.api.openai_routes import components
from llamos_gateway.errors import NotFound
from llamos_gateway.observability.metrics import dependency_probes

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format. Runs the shared-state probes (Redis) first, so
    `llamos_dependency_up` is fresh on every scrape. 404 when `observability.metrics` is off."""
    llamos = components(request)
    gauges = llamos.metrics
    if gauges is None:
        raise NotFound("metrics are disabled (observability.metrics: false)")
    names = dependency_probes(llamos.probes)
    if names:
        checks = await asyncio.gather(*(llamos.probes[n]() for n in names))
        gauges.set_dependencies(dict(zip(names, checks, strict=True)))
    exposition = await asyncio.to_thread(gauges.expose, request.headers.get("accept"))
    return Response(exposition.body, media_type=None,
                    headers={"content-type": exposition.content_type})
