"""The gateway service: validate, route, rate-limit, purify, call the target.

Knows nothing about HTTP: the API, the eval CLI and the arena all call `Gateway.handle`,
so they exercise exactly the same path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from llamos_gateway.defense import Defense, DefenseOutcome
from llamos_gateway.defense.policy import Policy, PolicyBook, PolicyOverride
from llamos_gateway.errors import ContentBlocked, UpstreamError, UpstreamStatusError
from llamos_gateway.schemas import estimate_tokens, validate
from llamos_gateway.storage import Quota, RateLimiter
from llamos_gateway.trace import Trace
from llamos_gateway.upstream import Endpoint, UpstreamCall
from llamos_gateway.upstream.responses import ResponseEvents, from_chat, to_chat
from llamos_gateway.upstream.router import ModelRouter, Route, shown


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling and how they want the defense applied: the key's layer of the policy
    and the request's own (its headers); the gateway resolves them with the model's."""

    key_id: str = "anonymous"
    key: PolicyOverride | None = None
    header: PolicyOverride | None = None
    quota: Quota = field(default_factory=Quota)


@dataclass(frozen=True, slots=True)
class GatewayReply:
    """Either `content` (a JSON body) or `stream` (SSE bytes), plus the defense outcome."""

    status: int
    outcome: DefenseOutcome
    content: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Gateway:
    def __init__(self, *, router: ModelRouter, defense: Defense, limiter: RateLimiter,
                 policies: PolicyBook | None = None) -> None:
        self.router = router
        self.defense = defense
        self.policies = policies or PolicyBook(defense.policy, {})
        self._limiter = limiter

    def policy(self, alias: str, caller: Caller) -> Policy:
        """The defense policy of a request for model `alias` (header > key > model > global)."""
        return self.policies.resolve(alias, key=caller.key, header=caller.header)

    async def handle(self, endpoint: Endpoint, body: dict[str, Any], caller: Caller,
                     trace: Trace, raw: bytes | None = None) -> GatewayReply:
        validate(endpoint, body)
        alias = body["model"]
        trace.model = shown(alias)  # the log line and the audit record stay short
        route = self.router.resolve(alias)
        trace.upstream_path = route.path
        stream = bool(body.get("stream"))
        trace.stream = stream
        await self._limiter.acquire(caller.key_id, tokens=estimate_tokens(endpoint, body),
                                    quota=caller.quota)
        try:
            purified, outcome = await self.defense.apply(endpoint, body,
                                                         self.policy(alias, caller))
        except ContentBlocked as exc:
            trace.defense = exc.outcome
            raise
        trace.defense = outcome
        forward_raw = raw if purified is body and route.upstream_model == alias else None
        if route.upstream_model != alias:
            purified = {**purified, "model": route.upstream_model}
        call = UpstreamCall(endpoint, purified, request_id=trace.request_id, raw=forward_raw)
        headers = outcome.headers()
        started = time.perf_counter()
        try:
            if endpoint == "responses":
                return await self._respond(route, call, outcome, headers, stream)
            return await self._forward(route, call, outcome, headers, stream)
        finally:
            trace.upstream_ms = (time.perf_counter() - started) * 1000.0

    @staticmethod
    async def _forward(route: Route, call: UpstreamCall, outcome: DefenseOutcome,
                       headers: Mapping[str, str], stream: bool) -> GatewayReply:
        if stream:
            chunks = await route.upstream.stream(call)
            return GatewayReply(status=200, outcome=outcome, stream=chunks, headers=headers)
        reply = await route.upstream.complete(call)
        return GatewayReply(status=reply.status, outcome=outcome, content=reply.content,
                            headers={**reply.headers, **headers})

    async def _respond(self, route: Route, call: UpstreamCall, outcome: DefenseOutcome,
                       headers: Mapping[str, str], stream: bool) -> GatewayReply:
        """`POST /v1/responses`: forwarded to an upstream that implements it, else (or when
        an `auto` upstream answers 404/405) translated to chat completions."""
        if route.responses in ("passthrough", "auto"):
            try:
                return await self._forward(route, call, outcome, headers, stream)
            except UpstreamStatusError as exc:
                if route.responses == "passthrough" or exc.status not in (404, 405):
                    raise
        chat = UpstreamCall("chat/completions", to_chat(call.body, route.upstream_model),
                            request_id=call.request_id)
        headers = {**headers, "x-llamos-responses": "translated"}
        if stream:
            chunks = await route.upstream.stream(chat)
            events = ResponseEvents(call.body, route.upstream_model).translate(chunks)
            return GatewayReply(status=200, outcome=outcome, stream=events, headers=headers)
        reply = await route.upstream.complete(chat)
        try:
            completion = orjson.loads(reply.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(f"upstream {route.alias} answered with no JSON body") from exc
        return GatewayReply(status=reply.status, outcome=outcome, headers=headers,
                            content=orjson.dumps(from_chat(completion, call.body)))
