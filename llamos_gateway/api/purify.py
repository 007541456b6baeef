"""`POST /v1/purify`: purification only, for teams that already run another gateway.

    {"texts": ["..."], "task": "sentiment", "backend": "llamos"}
    -> {"object": "llamos.purify", "results": [{"purified", "changed", "diff", "reasons", ...}]}

The purifier comes from `request.state` (built by the app factory), the same stack the chat
endpoints use. When the defense model is unavailable the configured failure policy applies:
fail-closed answers 503 `defense_unavailable`; fail-open returns what the backend could still
do (the tiered backend's lexical pass), else the texts unchanged, with `fail_open` set and the
header `x-llamos-fail-open: <reason>`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, get_args

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from llamos_gateway.api.openai_routes import authenticate, components, read_body
from llamos_gateway.defense import Defense, DefenseOutcome, TextSlot, failed_open
from llamos_gateway.errors import DefenseUnavailable, InvalidRequest, LlamosError
from llamos_gateway.purifier import Purifier, PurifyResult
from llamos_gateway.settings import DefenseMode
from llamos_gateway.trace import Trace

if TYPE_CHECKING:
    from llamos_gateway.wiring import Components

router = APIRouter()

Task = Literal["sentiment", "nli", "paraphrase", "qa", "chat"]


class PurifyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(min_length=1, max_length=256)
    task: Task | None = None
    backend: str | None = None


@router.post("/v1/purify")
async def purify(request: Request) -> Response:
    llamos = components(request)
    trace = Trace(request_id=request.state.request_id, route="purify")
    try:
        trace.key_id = authenticate(request).key_id
        body = _parse(await read_body(request, llamos.settings.limits.max_body_bytes))
        purifier = _choose(llamos, body.backend)
        task = body.task or _header_task(request) or llamos.settings.defense.task
        outcome = await _run(purifier, body.texts, task, llamos)
    except LlamosError as exc:
        trace.finish(exc.status, exc.code)
        llamos.observe(trace)
        raise
    trace.defense = outcome
    headers = {"x-llamos-backend": outcome.backend}
    if outcome.prompt_version:
        headers["x-llamos-prompt"] = outcome.prompt_version
    if outcome.fail_open:
        headers["x-llamos-fail-open"] = outcome.fail_open
    trace.finish(200)
    llamos.observe(trace)
    return Response(orjson.dumps(_report(body.texts, outcome, trace)),
                    media_type="application/json", headers=headers)


def _parse(raw: bytes) -> PurifyBody:
    try:
        return PurifyBody.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise InvalidRequest(f"{param or 'body'}: {first['msg']}", param=param) from None


def _header_task(request: Request) -> str | None:
    task = request.headers.get("x-llamos-task")
    if task is not None and task not in get_args(Task):
        raise InvalidRequest(f"header x-llamos-task must be one of {', '.join(get_args(Task))}",
                             param="x-llamos-task")
    return task


def _choose(llamos: Components, backend: str | None) -> Purifier:
    """The app's purifier, or another backend the app built (`Components.purifiers`)."""
    available: dict[str, Purifier] = {llamos.purifier.name: llamos.purifier}
    available.update(getattr(llamos, "purifiers", None) or {})
    if backend is None:
        return llamos.purifier
    if backend not in available:
        raise InvalidRequest(f"backend '{backend}' is not enabled on this gateway "
                             f"(enabled: {', '.join(sorted(available))})", param="backend")
    return available[backend]


async def _run(purifier: Purifier, texts: Sequence[str], task: str | None,
               llamos: Components) -> DefenseOutcome:
    """The texts through the same `Defense` step as the chat path, with its failure policy."""
    started = time.perf_counter()
    settings = llamos.settings.defense
    defense = Defense(purifier, fail_policy=settings.fail_policy,
                      concurrency=settings.concurrency)
    fail_open = settings.fail_policy != "closed"
    slots = [TextSlot((i,), text, "user") for i, text in enumerate(texts)]
    try:
        results = await defense.purify_texts(slots, task, fail_open=fail_open)
    except DefenseUnavailable as exc:
        if not fail_open:
            raise
        return DefenseOutcome(mode=DefenseMode.ENFORCE, backend=purifier.name,
                              purify_ms=(time.perf_counter() - started) * 1000.0,
                              fail_open=exc.reason, failed=True)
    reason = failed_open(results)
    return DefenseOutcome(mode=DefenseMode.ENFORCE, backend=purifier.name,
                          results=tuple(results), fail_open=reason, failed=reason is not None,
                          purify_ms=(time.perf_counter() - started) * 1000.0)


def _report(texts: Sequence[str], outcome: DefenseOutcome, trace: Trace) -> dict[str, object]:
    if not outcome.results:
        items = [{"index": i, "text": t, "purified": t, "changed": False, "diff": [],
                  "reasons": [outcome.fail_open], "fallback": "fail_open",
                  "agent_called": False, "timings": {}} for i, t in enumerate(texts)]
    else:
        items = [_item(i, r) for i, r in enumerate(outcome.results)]
    return {"object": "llamos.purify", "backend": outcome.backend,
            "prompt_version": outcome.prompt_version, "fail_open": outcome.fail_open,
            "results": items,
            "timings": {"purify_ms": round(outcome.purify_ms, 3),
                        "total_ms": round((time.perf_counter() - trace.started) * 1000.0, 3)}}


def _item(index: int, result: PurifyResult) -> dict[str, object]:
    timings: dict[str, object] = {"purify_ms": round(result.purify_ms, 3)}
    if "defense_ms" in result.extra:
        timings["defense_ms"] = result.extra["defense_ms"]
    return {"index": index, "text": result.original, "purified": result.purified,
            "changed": result.changed, "diff": [e.as_dict() for e in result.edits],
            "reasons": list(result.reasons), "fallback": result.fallback,
            "suspicious": result.suspicious, "score": round(result.score, 4),
            "backend": result.backend, "agent_called": result.agent_called,
            "cache_hit": result.cache_hit, "prompt_version": result.prompt_version,
            "defense_tokens": result.defense_tokens, "timings": timings}
