"""The composition root: the only module that names concrete classes.

`open_components(settings)` opens every client (HTTP pool, Redis), builds the purifier stack
and the gateway, and closes everything on exit. The API lifespan, the CLI commands, the
evaluation and the arena all go through here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from llamos_gateway.api.auth import Authenticator
from llamos_gateway.defense import Defense
from llamos_gateway.errors import ConfigError
from llamos_gateway.gateway import Gateway
from llamos_gateway.purifier import PassthroughPurifier, Purifier
from llamos_gateway.settings import ModelSpec, Settings
from llamos_gateway.storage import Quota, RateLimiter, Unlimited
from llamos_gateway.trace import RequestObserver, Trace
from llamos_gateway.upstream.local import LocalChatModel, echo_model
from llamos_gateway.upstream.passthrough import HttpUpstream, build_http_client
from llamos_gateway.upstream.router import ModelRouter, Route

log = logging.getLogger(__name__)

Probe = Callable[[], Any]  # async () -> dict with at least "ok"


@dataclass
class Components:
    settings: Settings
    gateway: Gateway
    auth: Authenticator
    purifier: Purifier
    observers: list[RequestObserver] = field(default_factory=list)
    probes: dict[str, Probe] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def router(self) -> ModelRouter:
        return self.gateway.router

    def observe(self, trace: Trace) -> None:
        for observer in self.observers:
            try:
                observer.observe(trace)
            except Exception:  # an observer defect must never fail the request
                log.exception("request observer %r failed", observer)

    async def readiness(self) -> dict[str, Any]:
        names = list(self.probes)
        results = await asyncio.gather(*(self.probes[n]() for n in names))
        checks = dict(zip(names, results, strict=True))
        required_down = [n for n, r in checks.items() if not r.get("ok") and r.get("required")]
        return {"ready": not required_down, "status": "degraded" if any(
            not r.get("ok") for r in checks.values()) else "ready", **self.info, "checks": checks}


def local_models() -> dict[str, Callable[[], LocalChatModel]]:
    """The built-in offline models, by name."""
    return {"local/echo": echo_model}


def build_router(settings: Settings, client: httpx.AsyncClient) -> ModelRouter:
    routes: dict[str, Route] = {}
    builtins = local_models()
    for name, factory in builtins.items():
        routes[name] = Route(name, factory(), name, "llamos-local", "local")
    for alias, spec in settings.models.items():
        routes[alias] = _route(alias, spec, settings, client, builtins)
    return ModelRouter(routes)


def _route(alias: str, spec: ModelSpec, settings: Settings, client: httpx.AsyncClient,
           builtins: dict[str, Callable[[], LocalChatModel]]) -> Route:
    if spec.model.startswith("local/"):
        if spec.model not in builtins:
            raise ConfigError(f"models.{alias}.model: unknown built-in model '{spec.model}' "
                              f"(built-ins: {', '.join(sorted(builtins))})")
        return Route(alias, builtins[spec.model](), spec.model, "llamos-local", "local")
    if spec.api_key_env and spec.api_key() is None:
        log.warning("models.%s: environment variable %s is not set", alias, spec.api_key_env)
    limits = settings.limits
    if spec.uses_passthrough:
        assert spec.api_base is not None
        # one pooled client for all; the upstream object itself is per alias (own timeout, retries)
        upstream = HttpUpstream(
            name=alias, api_base=spec.api_base, client=client, api_key=spec.api_key(),
            max_retries=spec.max_retries if spec.max_retries is not None else limits.max_retries,
            timeout_s=spec.timeout_s, extra_headers=spec.extra_headers)
        upstream_model = spec.model.removeprefix("openai/")
        return Route(alias, upstream, upstream_model, "openai-compatible", "passthrough")
    from llamos_gateway.upstream.litellm_adapter import LiteLLMUpstream

    upstream = LiteLLMUpstream(
        name=alias, model=spec.model, api_base=spec.api_base, api_key=spec.api_key(),
        timeout_s=spec.timeout_s or limits.upstream_timeout_s,
        max_retries=spec.max_retries if spec.max_retries is not None else limits.max_retries,
        extra_headers=spec.extra_headers)
    return Route(alias, upstream, spec.model, spec.model.split("/", 1)[0], "litellm")


def build_purifier(settings: Settings, router: ModelRouter, backend: str | None = None) -> Purifier:
    """The purifier stack for a backend name (default: the configured one)."""
    name = backend or settings.defense_backend
    if name == "passthrough":
        return PassthroughPurifier()
    raise ConfigError(f"defense.backend: unknown backend '{name}'")


def _probe_http(client: httpx.AsyncClient, base: str) -> Probe:
    async def check() -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await client.get(f"{base.rstrip('/')}/models", timeout=2.0)
        except httpx.HTTPError as exc:
            return {"ok": False, "required": False, "error": type(exc).__name__}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2)}

    return check


@asynccontextmanager
async def open_components(settings: Settings, *, purifier: Purifier | None = None,
                          limiter: RateLimiter | None = None) -> AsyncIterator[Components]:
    """Open everything the gateway needs; `purifier`/`limiter` override the configured ones
    (tests, benchmarks)."""
    async with AsyncExitStack() as stack:
        limits = settings.limits
        client = build_http_client(max_connections=limits.max_connections,
                                   timeout_s=limits.upstream_timeout_s,
                                   connect_timeout_s=limits.connect_timeout_s)
        stack.push_async_callback(client.aclose)
        router = build_router(settings, client)
        for upstream in router.upstreams():
            stack.push_async_callback(upstream.aclose)
        chosen = purifier or build_purifier(settings, router)
        defense = Defense(chosen, roles=settings.defense.roles,
                          purify_embeddings=settings.defense.purify_embeddings,
                          fail_policy=settings.defense.fail_policy,
                          concurrency=settings.defense.concurrency, task=settings.defense.task)
        quota = Quota(settings.rate_limit.requests_per_minute, settings.rate_limit.tokens_per_minute)
        gateway = Gateway(router=router, defense=defense, limiter=limiter or Unlimited())
        probes: dict[str, Probe] = {}
        for route in router.routes():
            up = route.upstream
            if isinstance(up, HttpUpstream):
                probes[f"upstream:{route.alias}"] = _probe_http(client, up.base_url)
        info = {"defense": {"backend": chosen.name, "mode": settings.defense.mode.value,
                            "fail_policy": settings.defense.fail_policy},
                "cache": {"kind": "none"},
                "upstreams": {r.alias: r.path for r in router.routes()}}
        yield Components(settings=settings, gateway=gateway,
                         auth=Authenticator(settings.auth.api_keys, quota), purifier=chosen,
                         probes=probes, info=info)
