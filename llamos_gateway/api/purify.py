"""`POST /v1/purify`: purification only, for teams that already run another gateway.

    {"texts": ["..."], "task": "sentiment", "backend": "llamos"}
    -> {"object": "llamos.purify", "results": [{"purified", "changed", "diff", "protected",
                                                "reasons", ...}]}

The texts go through the process's one `Defense` (`request.state`), the pipeline the chat
endpoints use, as one batch: `defense.concurrency` of them at once, the configured failure
policy. Fail-closed answers 503 `defense_unavailable`; fail-open returns what the backend
could still do (the tiered backend's lexical pass), else the texts unchanged, with
`fail_open` set and the header `x-llamos-fail-open: <reason>`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from llamos_gateway.api.openai_routes import authenticate, components, header_task, read_body
from llamos_gateway.defense import DefenseOutcome, PurifyResult, Task
from llamos_gateway.defense.codec import public
from llamos_gateway.errors import InvalidRequest, LlamosError
from llamos_gateway.trace import Trace

router = APIRouter()


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
        task = body.task or header_task(request) or llamos.settings.defense.task
        outcome = await llamos.defense.purify(body.texts, task=task, backend=body.backend)
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


def _report(texts: Sequence[str], outcome: DefenseOutcome, trace: Trace) -> dict[str, object]:
    items = [_item(i, r) for i, r in enumerate(outcome.per_text(texts))]
    return {"object": "llamos.purify", "backend": outcome.backend,
            "prompt_version": outcome.prompt_version, "fail_open": outcome.fail_open,
            "results": items,
            "timings": {"purify_ms": round(outcome.purify_ms, 3),
                        "total_ms": round((time.perf_counter() - trace.started) * 1000.0, 3)}}


def _item(index: int, result: PurifyResult) -> dict[str, object]:
    item = public(result)
    timings: dict[str, object] = {"purify_ms": item.pop("purify_ms")}
    if "defense_ms" in result.extra:
        timings["defense_ms"] = result.extra["defense_ms"]
    return {"index": index, **item, "diff": item.pop("edits"), "timings": timings}
