"""`POST /v1/purify`: purification only, for teams that already run another gateway.

    {"texts": ["..."], "task": "sentiment", "backend": "llamos"}
    -> {"object": "llamos.purify", "score", "verdict", "action",
        "results": [{"purified", "changed", "score", "verdict", "diff", "protected",
                     "reasons", ...}]}

Each text gets the verdict the chat endpoints would give it under the global policy
(`defense.action`, `defense.block_threshold`); `/v1/purify` itself never refuses: a
`blocked` verdict is reported (the caller decides), as LiteLLM's guardrail endpoint does.

The texts go through the process's one `Defense` (`request.state`), the pipeline the chat
endpoints use, as one batch: `defense.concurrency` of them at once, the configured failure
policy. Fail-closed answers 503 `defense_unavailable`; fail-open returns what the backend
could still do (the tiered backend's lexical pass), else the texts unchanged, with
`fail_open` set and the header `x-llamos-fail-open: <reason>`. Each result lists at most
`MAX_DIFF` edits (`diff_omitted` counts the others).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from llamos_gateway.api.openai_routes import authenticate, components, header_task, read_body
from llamos_gateway.defense import DefenseOutcome, PurifyResult, Task
from llamos_gateway.defense.codec import public
from llamos_gateway.defense.fallback import ATTEMPTS
from llamos_gateway.defense.policy import Verdict
from llamos_gateway.errors import LlamosError
from llamos_gateway.schemas import parse_model
from llamos_gateway.trace import Trace

router = APIRouter()
MAX_DIFF = 1000  # edits listed per text


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
        body = parse_model(
            PurifyBody, await read_body(request, llamos.settings.limits.max_body_bytes))
        task = body.task or header_task(request) or llamos.settings.defense.task
        outcome = await llamos.defense.purify(body.texts, task=task, backend=body.backend)
    except LlamosError as exc:
        trace.finish(exc.status, exc.code)
        llamos.observe(trace)
        raise
    trace.defense = outcome
    headers = {"x-llamos-backend": outcome.backend, "x-llamos-score": f"{outcome.score:.4f}",
               "x-llamos-verdict": outcome.verdict.value}
    if outcome.prompt_version:
        headers["x-llamos-prompt"] = outcome.prompt_version
    if outcome.fail_open:
        headers["x-llamos-fail-open"] = outcome.fail_open
    trace.finish(200)
    llamos.observe(trace)
    return Response(orjson.dumps(_report(body.texts, outcome, trace)),
                    media_type="application/json", headers=headers)


def _report(texts: Sequence[str], outcome: DefenseOutcome, trace: Trace) -> dict[str, object]:
    results = outcome.per_text(texts)
    verdicts = outcome.verdicts if len(outcome.verdicts) == len(results) else (
        [outcome.verdict] * len(results))
    items = [_item(i, r, v) for i, (r, v) in enumerate(zip(results, verdicts, strict=True))]
    return {"object": "llamos.purify", "backend": outcome.backend,
            "prompt_version": outcome.prompt_version, "fail_open": outcome.fail_open,
            "score": round(outcome.score, 4), "verdict": outcome.verdict.value,
            "action": outcome.policy.action.value,
            "block_threshold": outcome.policy.block_threshold, "results": items,
            "timings": {"purify_ms": round(outcome.purify_ms, 3),
                        "total_ms": round((time.perf_counter() - trace.started) * 1000.0, 3)}}


def _item(index: int, result: PurifyResult, verdict: Verdict) -> dict[str, object]:
    """One result; its diff holds at most `MAX_DIFF` edits (`diff_omitted` counts the rest),
    so the reply stays proportional to the input however many edits a backend made."""
    omitted = max(0, len(result.edits) - MAX_DIFF)
    if omitted:
        result = replace(result, edits=result.edits[:MAX_DIFF])
    item = public(result)
    timings: dict[str, object] = {"purify_ms": item.pop("purify_ms")}
    if "defense_ms" in result.extra:
        timings["defense_ms"] = result.extra["defense_ms"]
    extra = {ATTEMPTS: result.extra[ATTEMPTS]} if ATTEMPTS in result.extra else {}
    diff = item.pop("edits")
    out: dict[str, object] = {"index": index, **item, "verdict": verdict.value, "diff": diff,
                              "timings": timings, **extra}
    if omitted:
        out["diff_omitted"] = omitted
    return out
