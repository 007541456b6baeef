"""The gateway service: validate, route, rate-limit, purify, call the target.

Knows nothing about HTTP: the API, the eval CLI and the arena all call `Gateway.handle`,
so they exercise exactly the same path.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from llamos_gateway.defense import Defense, DefenseOutcome
from llamos_gateway.defense.policy import Policy, PolicyBook, PolicyOverride
from llamos_gateway.errors import ContentBlocked
from llamos_gateway.schemas import estimate_tokens, validate
from llamos_gateway.storage import Quota, RateLimiter
from llamos_gateway.trace import Trace
from llamos_gateway.upstream import Endpoint, UpstreamCall
from llamos_gateway.upstream.router import ModelRouter


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
        trace.model = alias
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
            if stream:
                chunks = await route.upstream.stream(call)
                return GatewayReply(status=200, outcome=outcome, stream=chunks, headers=headers)
            reply = await route.upstream.complete(call)
        finally:
            trace.upstream_ms = (time.perf_counter() - started) * 1000.0
        return GatewayReply(status=reply.status, outcome=outcome, content=reply.content,
                            headers={**reply.headers, **headers})
