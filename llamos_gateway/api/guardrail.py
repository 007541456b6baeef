"""LiteLLM's Generic Guardrail API: `POST /beta/litellm_basic_guardrail_api`.

A LiteLLM proxy configured with `guardrail: generic_guardrail_api` and `api_base: <this
gateway>` posts the texts it extracted from any endpoint it guards (chat, completions,
responses, messages, ...):

    {"texts": [...], "images": [...], "input_type": "request" | "response",
     "structured_messages": [...], "model": "...", "request_data": {...}, ...}
    -> {"action": "NONE"}
     | {"action": "GUARDRAIL_INTERVENED", "texts": [... purified ...]}
     | {"action": "BLOCKED", "blocked_reason": "..."}

The texts go through the process's one `Defense` under the policy of `model` (as the chat
endpoints resolve it: key > model > global); the verdict decides the action: `blocked`
answers BLOCKED, purified texts that go on answer GUARDRAIL_INTERVENED, anything else NONE.
When `structured_messages` lines up with `texts`, only the texts of the policy's roles are
purified. Responses (`input_type: response`) and images are left alone: this defense cleans
what goes into a model. A defense failure under fail-closed answers 503, which LiteLLM
treats as its `unreachable_fallback` says. LiteLLM sends its `api_key` as `x-api-key`,
which the gateway's authentication accepts.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from llamos_gateway.api.openai_routes import authenticate, components, read_body
from llamos_gateway.defense import DefenseMode
from llamos_gateway.errors import LlamosError
from llamos_gateway.schemas import parse_model
from llamos_gateway.trace import Trace

router = APIRouter()

PATH = "/beta/litellm_basic_guardrail_api"


class GuardrailBody(BaseModel):
    """The fields of LiteLLM's `GenericGuardrailAPIRequest` this endpoint reads; the others
    (ids, headers, tools, metadata) are accepted and not used."""

    model_config = ConfigDict(extra="allow")

    texts: list[str] | None = None
    input_type: str = "request"
    structured_messages: list[dict[str, Any]] | None = None
    model: str | None = None


@router.post(PATH)
async def litellm_guardrail(request: Request) -> Response:
    llamos = components(request)
    trace = Trace(request_id=request.state.request_id, route="guardrail")
    try:
        principal = authenticate(request)
        trace.key_id = principal.key_id
        body = parse_model(
            GuardrailBody, await read_body(request, llamos.settings.limits.max_body_bytes))
        trace.model = body.model
        texts = body.texts or []
        policy = llamos.gateway.policies.resolve(body.model, key=principal.policy)
        if body.input_type != "request" or not texts or policy.mode is DefenseMode.OFF:
            trace.finish(200)
            llamos.observe(trace)
            return _answer({"action": "NONE"})
        chosen = _chosen(texts, body.structured_messages, policy.roles)
        if not chosen:
            trace.finish(200)
            llamos.observe(trace)
            return _answer({"action": "NONE"})
        outcome = await llamos.defense.purify([texts[i] for i in chosen], policy=policy,
                                              mode=policy.mode)
    except LlamosError as exc:
        trace.finish(exc.status, exc.code)
        llamos.observe(trace)
        raise
    trace.defense = outcome
    trace.finish(200)
    llamos.observe(trace)
    headers = outcome.headers()
    if outcome.blocked:
        return _answer({"action": "BLOCKED", "blocked_reason": outcome.refuse().message},
                       headers)
    forwarded = outcome.forwarded([texts[i] for i in chosen])
    if all(new == texts[i] for i, new in zip(chosen, forwarded, strict=True)):
        return _answer({"action": "NONE"}, headers)
    out = list(texts)
    for i, new in zip(chosen, forwarded, strict=True):
        out[i] = new
    return _answer({"action": "GUARDRAIL_INTERVENED", "texts": out}, headers)


def _chosen(texts: list[str], messages: list[dict[str, Any]] | None,
            roles: frozenset[str]) -> list[int]:
    """The indices of the texts to purify: those of `roles` when `messages` says whose each
    text is (LiteLLM extracts them in message order: a string content, or each part with a
    `text`), else all of them."""
    owners = _owners(messages) if messages else None
    if owners is None or len(owners) != len(texts):
        return list(range(len(texts)))
    return [i for i, role in enumerate(owners) if role in roles]


def _owners(messages: list[dict[str, Any]]) -> list[str]:
    owners: list[str] = []
    for message in messages:
        role = str(message.get("role") or "")
        content = message.get("content")
        if isinstance(content, str):
            owners.append(role)
        elif isinstance(content, list):
            owners += [role for part in content
                       if isinstance(part, dict) and part.get("text") is not None]
    return owners


def _answer(data: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), media_type="application/json", headers=headers)
