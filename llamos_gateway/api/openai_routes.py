"""The OpenAI-compatible endpoints. Thin: read, authenticate, hand to `Gateway.handle`, relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from llamos_gateway.api.disconnect import unless_disconnected
from llamos_gateway.api.shutdown import ShutdownNotice, ShuttingDown, notice_of
from llamos_gateway.defense import DefenseMode, Task
from llamos_gateway.defense.policy import PolicyOverride
from llamos_gateway.errors import (
    BodyTooLarge,
    InvalidRequest,
    LlamosError,
    PermissionDenied,
    RateLimited,
)
from llamos_gateway.gateway import Caller, GatewayReply
from llamos_gateway.schemas import parse_json
from llamos_gateway.trace import Trace
from llamos_gateway.upstream import Endpoint

if TYPE_CHECKING:
    from llamos_gateway.auth import Principal
    from llamos_gateway.wiring import Components

log = logging.getLogger(__name__)
router = APIRouter()


def components(request: Request) -> Components:
    return request.state.llamos  # type: ignore[no-any-return]


def authenticate(request: Request) -> Principal:
    headers = request.headers
    return components(request).auth.authenticate(headers.get("authorization"),
                                                  headers.get("x-api-key"))


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"request body of {declared} bytes is over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def caller_for(request: Request, principal: Principal) -> Caller:
    return Caller(key_id=principal.key_id, key=principal.policy, header=header_policy(request),
                  quota=principal.quota)


def header_policy(request: Request) -> PolicyOverride | None:
    """The request's own layer of the defense policy: x-llamos-defense and x-llamos-task."""
    settings = components(request).settings
    header = request.headers.get("x-llamos-defense")
    if header and not settings.defense.header_override:
        raise PermissionDenied("this gateway does not let clients choose the defense mode "
                               "(defense.header_override is false)")
    mode = None
    if header:
        try:
            mode = DefenseMode(header.strip().lower())
        except ValueError:
            raise InvalidRequest("header x-llamos-defense must be enforce, shadow or off",
                                 param="x-llamos-defense") from None
    task = header_task(request)
    if mode is None and task is None:
        return None
    return PolicyOverride(mode=mode, task=task)


def header_task(request: Request) -> Task | None:
    """The task hint of header x-llamos-task, checked."""
    task = request.headers.get("x-llamos-task")
    if not task:
        return None
    try:
        return Task(task)
    except ValueError:
        raise InvalidRequest("header x-llamos-task must be one of "
                             f"{', '.join(t.value for t in Task)}", param="x-llamos-task") from None


async def proxy(request: Request, endpoint: Endpoint) -> Response:
    llamos = components(request)
    trace = Trace(request_id=request.state.request_id, route=endpoint)
    try:
        principal = authenticate(request)
        trace.key_id = principal.key_id
        raw = await read_body(request, llamos.settings.limits.max_body_bytes)
        body = parse_json(raw)
        reply = await unless_disconnected(request, llamos.gateway.handle(
            endpoint, body, caller_for(request, principal), trace, raw))
    except LlamosError as exc:
        trace.rate_limited = isinstance(exc, RateLimited)  # ours, not the provider's 429
        trace.finish(exc.status, exc.code)
        llamos.observe(trace)
        raise
    if reply.stream is not None:
        return StreamingResponse(relay(reply, reply.stream, trace, llamos,
                                       notice_of(request.state)),
                                 media_type="text/event-stream",
                                 headers={**reply.headers, "cache-control": "no-cache"})
    trace.finish(reply.status)
    llamos.observe(trace)
    return Response(reply.content, status_code=reply.status, media_type="application/json",
                    headers=dict(reply.headers))


async def relay(reply: GatewayReply, chunks: AsyncIterator[bytes], trace: Trace,
                llamos: Components, notice: ShutdownNotice | None = None) -> AsyncIterator[bytes]:
    """Relays SSE bytes; an upstream failure mid-stream becomes an SSE error event, and so
    does the end of the shutdown grace (`api.shutdown`). A client that goes away cancels us
    here, and the upstream request is closed with us."""
    status, code = 200, None
    try:
        async for chunk in _until_cut(chunks, notice):
            yield chunk
    except LlamosError as exc:
        status, code = exc.status, exc.code
        yield b"data: " + orjson.dumps(exc.envelope()) + b"\n\n"
    except BaseException:
        status, code = 499, "client_closed_request"
        raise
    finally:
        with anyio.CancelScope(shield=True):
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()
        trace.finish(status, code)
        llamos.observe(trace)


async def _until_cut(chunks: AsyncIterator[bytes],
                     notice: ShutdownNotice | None) -> AsyncIterator[bytes]:
    """`chunks`, until the shutdown grace is over (then `ShuttingDown`)."""
    if notice is None:
        async for chunk in chunks:
            yield chunk
        return
    iterator = aiter(chunks)
    while True:
        try:
            async with asyncio.timeout_at(notice.cut_at) as timeout:
                untrack = notice.track(timeout)
                try:
                    chunk = await anext(iterator)
                finally:
                    untrack()
        except StopAsyncIteration:
            return
        except TimeoutError:
            if not notice.cutting:
                raise
            raise ShuttingDown("the gateway is shutting down; the stream was cut at the end "
                               "of its grace period") from None
        yield chunk


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    return await proxy(request, "chat/completions")


@router.post("/v1/completions")
async def completions(request: Request) -> Response:
    return await proxy(request, "completions")


@router.post("/v1/responses")
async def responses(request: Request) -> Response:
    return await proxy(request, "responses")


@router.post("/v1/embeddings")
async def embeddings(request: Request) -> Response:
    return await proxy(request, "embeddings")


@router.get("/v1/models")
async def list_models(request: Request) -> Response:
    authenticate(request)
    data = [_model_card(r.alias, r.owned_by) for r in components(request).gateway.router.routes()]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


@router.get("/v1/models/{model:path}")
async def get_model(request: Request, model: str) -> Response:
    authenticate(request)
    route = components(request).gateway.router.resolve(model)
    return Response(orjson.dumps(_model_card(route.alias, route.owned_by)),
                    media_type="application/json")


def _model_card(alias: str, owned_by: str) -> dict[str, object]:
    return {"id": alias, "object": "model", "created": 0, "owned_by": owned_by}
