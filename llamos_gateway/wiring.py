"""The composition root: where concrete classes are chosen and put together.

`open_components(settings)` opens every client (HTTP pool, Redis), builds the defense
backends (`llamos_gateway.backends` says how each is stacked) and the gateway, and closes
everything on exit. The API lifespan, the CLI commands, the evaluation and the arena all go
through here, so each process has one `Defense`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp

from llamos_gateway import backends
from llamos_gateway.agent.guards import DriftLimits
from llamos_gateway.agent.prompts import PromptSet, load_prompts
from llamos_gateway.agent.purifier import LLMPurifier, ResponseFormat
from llamos_gateway.auth import Authenticator
from llamos_gateway.defense import Defense, DefenseMode, FailPolicy, Purifier
from llamos_gateway.defense.caching import CachingPurifier
from llamos_gateway.defense.fallback import FallbackPurifier
from llamos_gateway.defense.segmenting import SegmentingPurifier
from llamos_gateway.errors import ConfigError
from llamos_gateway.gateway import Gateway
from llamos_gateway.lexical.purifier import LexicalPurifier
from llamos_gateway.observability import GatewayMetrics, request_observers
from llamos_gateway.routing import plan_route
from llamos_gateway.settings import ModelSpec, Settings
from llamos_gateway.storage import Cache, Quota, RateLimiter
from llamos_gateway.storage.audit import AuditTrail
from llamos_gateway.storage.state import open_shared_state
from llamos_gateway.trace import RequestObserver, Trace
from llamos_gateway.upstream import Upstream
from llamos_gateway.upstream.llamacpp import LlamaCppUpstream
from llamos_gateway.upstream.local import echo_model
from llamos_gateway.upstream.passthrough import HttpUpstream, build_http_client, probe
from llamos_gateway.upstream.router import ModelRouter, Route

log = logging.getLogger(__name__)

Probe = Callable[[], Any]  # async () -> dict with at least "ok"


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    """What `/readyz` says about the configuration being served."""

    backend: str
    mode: DefenseMode
    fail_policy: FailPolicy
    cache_kind: str          # "redis" or "memory"
    cache_enabled: bool      # a purification cache sits in front of the served backend
    cache_ttl_s: int
    upstreams: dict[str, str]  # alias -> path (passthrough, litellm, local)

    def as_dict(self) -> dict[str, Any]:
        return {"defense": {"backend": self.backend, "mode": self.mode.value,
                            "fail_policy": self.fail_policy},
                "cache": {"kind": self.cache_kind, "enabled": self.cache_enabled,
                          "ttl_s": self.cache_ttl_s},
                "upstreams": self.upstreams}


@dataclass
class Components:
    settings: Settings
    gateway: Gateway
    auth: Authenticator
    info: GatewayInfo
    builder: BackendBuilder
    audit: AuditTrail | None = None
    metrics: GatewayMetrics | None = None
    observers: list[RequestObserver] = field(default_factory=list)  # audit, log, metrics, ...
    probes: dict[str, Probe] = field(default_factory=dict)

    @property
    def router(self) -> ModelRouter:
        return self.gateway.router

    @property
    def defense(self) -> Defense:
        return self.gateway.defense

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
            not r.get("ok") for r in checks.values()) else "ready", **self.info.as_dict(),
            "checks": checks}


def local_models(instances: int = 1) -> dict[str, Callable[[], Upstream]]:
    """The built-in offline models, by name (the names are `routing.BUILTIN_MODELS`).
    `local/smollm2` loads its GGUF file on first use, in `instances` copies."""
    return {"local/echo": echo_model, "local/sst2-sentiment": _sentiment_model,
            "local/smollm2": lambda: LlamaCppUpstream("local/smollm2", instances=instances)}


def _once(factory: Callable[[], Upstream]) -> Callable[[], Upstream]:
    """`factory`, built at most once: every route to a built-in shares one instance (one
    loaded model per process, however many aliases and the defense name it)."""
    made: list[Upstream] = []

    def build() -> Upstream:
        if not made:
            made.append(factory())
        return made[0]

    return build


def _sentiment_model() -> Upstream:
    # imported here: the evaluation package is not needed to serve other models
    from llamos_gateway.evaluation.sentiment_model import sentiment_model

    return sentiment_model()


def build_router(settings: Settings, client: aiohttp.ClientSession) -> ModelRouter:
    routes: dict[str, Route] = {}
    instances = settings.server.local_model_instances
    builtins = {name: _once(factory) for name, factory in local_models(instances).items()}
    for name, factory in builtins.items():
        routes[name] = Route(name, factory(), name, "llamos-local", "local")
    for alias, spec in settings.models.items():
        routes[alias] = _route(alias, spec, settings, client, builtins, key=f"models.{alias}")
    defense = [_defense_route(name, i, settings, client, routes, builtins)
               for i, name in enumerate(settings.defense.models)]
    return ModelRouter(routes, defense=defense[0] if defense else None, fallbacks=defense[1:])


def _defense_route(model: str, index: int, settings: Settings, client: aiohttp.ClientSession,
                   routes: dict[str, Route],
                   builtins: dict[str, Callable[[], Upstream]]) -> Route:
    """A defense LLM: one of the aliases, or a model string of its own (`defense.model`, or
    its `index`-th entry when it is a list of fallbacks)."""
    d = settings.defense
    if model in routes and routes[model].path == "local":
        return routes[model]
    # The agent retries on its own (defense.max_retries) with defense.timeout_s per attempt, so
    # its upstream must not retry again underneath: an alias is rebuilt without retries.
    alias = settings.models.get(model)
    base = alias or ModelSpec(model=model, api_base=d.api_base, api_key_env=d.api_key_env)
    spec = base.model_copy(update={"timeout_s": d.timeout_s, "max_retries": 0})
    # a missing key is reported once, under the key the user wrote: models.<alias> (already
    # said when the alias was built) or defense.model
    key = "defense.model" if isinstance(d.model, str) else f"defense.model[{index}]"
    return _route("defense" if index == 0 else f"defense-{index}", spec, settings, client,
                  builtins, key=key, warn=alias is None)


def _route(alias: str, spec: ModelSpec, settings: Settings, client: aiohttp.ClientSession,
           builtins: dict[str, Callable[[], Upstream]], *, key: str,
           warn: bool = True) -> Route:
    """`key`: where the user wrote this model, named in errors and in the warning about an
    unset key variable (`warn=False`: already said under another key)."""
    plan = plan_route(alias, spec, key=key)
    if plan.path == "local":
        if spec.gguf_path is not None:  # local/gguf: one loaded file per path
            key_ = f"gguf:{spec.gguf_path.resolve()}"
            instances = settings.server.local_model_instances
            builtins.setdefault(key_, _once(lambda: LlamaCppUpstream(
                alias, spec.gguf_path, instances=instances)))
            return Route(alias, builtins[key_](), plan.upstream_model, plan.owned_by, plan.path)
        return Route(alias, builtins[spec.model](), plan.upstream_model, plan.owned_by, plan.path)
    if warn and spec.api_key_env and spec.api_key() is None:
        log.warning("%s: environment variable %s is not set", key, spec.api_key_env)
    limits = settings.limits
    if plan.path == "passthrough":
        assert spec.api_base is not None
        # one pooled client for all; the upstream object itself is per alias (own timeout, retries)
        upstream = HttpUpstream(
            name=alias, api_base=spec.api_base, client=client, api_key=spec.api_key(),
            max_retries=spec.max_retries if spec.max_retries is not None else limits.max_retries,
            timeout_s=spec.timeout_s or limits.upstream_timeout_s,
            extra_headers=spec.extra_headers, request_id_header=spec.request_id_header)
        return Route(alias, upstream, plan.upstream_model, plan.owned_by, plan.path,
                     responses=spec.responses)
    from llamos_gateway.upstream.litellm_adapter import LiteLLMUpstream

    via_litellm = LiteLLMUpstream(
        name=alias, model=spec.model, api_base=spec.api_base, api_key=spec.api_key(),
        timeout_s=spec.timeout_s or limits.upstream_timeout_s,
        max_retries=spec.max_retries if spec.max_retries is not None else limits.max_retries,
        extra_headers=spec.extra_headers)
    return Route(alias, via_litellm, plan.upstream_model, plan.owned_by, plan.path)


class BackendBuilder:
    """Builds defense backends from their `backends.BACKENDS` entries, sharing one lexicon
    and one bound on defense model calls (`defense.max_inflight`) between them."""

    def __init__(self, settings: Settings, router: ModelRouter) -> None:
        self._settings = settings
        self._router = router
        self._lexical: LexicalPurifier | None = None
        self._inflight = asyncio.Semaphore(settings.defense.max_inflight)

    @property
    def has_model(self) -> bool:
        return self._router.defense is not None

    def build(self, name: str, *, prompts: PromptSet | None = None) -> Purifier:
        """The backend `name`, uncached; `prompts` gives the agent another prompt set than
        the configured files (the arena grows its examples)."""
        backend = backends.get(name)
        return backend.build(backends.Parts(
            defense=self._settings.defense, lexical=self.lexical,
            agent=lambda: self._agent(prompts), completions=self._completions))

    def _completions(self) -> tuple[Upstream, str]:
        """The ranked backend's `/v1/completions` scorer: `defense.ranked_scorer_model`, an
        alias served over HTTP."""
        alias = self._settings.defense.ranked_scorer_model
        route = None if alias is None else self._router.resolve(alias)
        if route is None or route.path == "local":
            raise ConfigError("defense.ranked_scorer_model: name an alias from `models` with an "
                              "api_base (an OpenAI-compatible server)")
        return route.upstream, route.upstream_model

    def lexical(self) -> LexicalPurifier:
        if self._lexical is None:
            self._lexical = LexicalPurifier(
                screen_threshold=self._settings.defense.screen_threshold)
        return self._lexical

    def _agent(self, prompts: PromptSet | None) -> Purifier:
        d = self._settings.defense
        routes = self._router.defense_routes
        if not routes:
            raise ConfigError(_NEEDS_MODEL)
        chosen = prompts or agent_prompts(self._settings)
        agents = [(name, self._one_agent(route, chosen))
                  for name, route in zip(d.models, routes, strict=True)]
        agent: Purifier = agents[0][1] if len(agents) == 1 else FallbackPurifier(agents)
        return SegmentingPurifier(agent, max_chars=d.max_chars, mode=d.long_text,
                                  concurrency=d.concurrency)

    def _one_agent(self, route: Route, prompts: PromptSet) -> LLMPurifier:
        d = self._settings.defense
        return LLMPurifier(
            upstream=route.upstream, model=route.upstream_model,
            prompts=prompts, task=d.task,
            limits=DriftLimits(max_edit_ratio=d.max_edit_ratio,
                               max_length_ratio=d.max_length_ratio),
            timeout_s=d.timeout_s, max_retries=d.max_retries,
            idempotence_check=d.idempotence_check,
            response_format=_response_format(d.response_format, route),
            # a rewrite the guards reject is a defense failure under fail-closed
            drift_policy="reject" if d.fail_policy == "closed" else "forward",
            inflight=self._inflight)


def _response_format(configured: str, route: Route) -> ResponseFormat:
    """`auto`: a JSON schema for a model run in process by llama.cpp (its grammar for any JSON
    is slow and lets a small model wander), OpenAI's JSON mode for every other model."""
    if configured == "auto":
        return "json_schema" if isinstance(route.upstream, LlamaCppUpstream) else "json_object"
    return cast(ResponseFormat, configured)


def cached(settings: Settings, purifier: Purifier, cache: Cache, *,
           cacheable: bool = True) -> Purifier:
    """`purifier` behind the purification cache, when the cache is on and it may be cached."""
    if settings.cache.enabled and cacheable:
        return CachingPurifier(purifier, cache)
    return purifier


_NEEDS_MODEL = ("defense.model: the llamos and tiered backends need a defense model "
                "(an alias from `models` or a litellm model string)")


def preflight(settings: Settings) -> None:
    """What opening the components would find wrong in the configuration, found without
    opening anything: `llamos serve` checks it before a worker starts, so an unknown built-in
    model, an agent backend without its defense model or a broken prompt file is one line
    naming the key, not a worker's start-up traceback."""
    for alias, spec in settings.models.items():
        plan_route(alias, spec, key=f"models.{alias}")
    d = settings.defense
    for i, model in enumerate(d.models):
        if model not in settings.models:
            key = "defense.model" if isinstance(d.model, str) else f"defense.model[{i}]"
            plan_route("defense", ModelSpec(model=model, api_base=d.api_base), key=key)
    if backends.get(settings.defense_backend).needs_model:
        if not d.models:
            raise ConfigError(_NEEDS_MODEL)
        agent_prompts(settings)
    check_policies(settings, backends.available(has_model=bool(d.models)))


def check_policies(settings: Settings, built: Sequence[str]) -> None:
    """Every backend a model's or a key's policy names is one this gateway builds."""
    layers = [(f"models.{a}.defense.backend", m.defense) for a, m in settings.models.items()]
    layers += [(f"auth.api_keys[{i}].defense.backend", k.defense)
               for i, k in enumerate(settings.auth.api_keys)]
    for key, layer in layers:
        if layer is not None and layer.backend is not None and layer.backend not in built:
            raise ConfigError(f"{key}: backend '{layer.backend}' is not built by this gateway "
                              f"(built: {', '.join(built)})")


def defense_backends(settings: Settings, builder: BackendBuilder,
                     cache: Cache) -> dict[str, Purifier]:
    """Every backend this configuration can run, the configured one first, each behind the
    purification cache when the cache is on."""
    chosen = settings.defense_backend
    names = [chosen, *(n for n in backends.available(has_model=builder.has_model)
                       if n != chosen)]
    return {name: cached(settings, builder.build(name), cache,
                         cacheable=backends.get(name).cacheable) for name in names}


def agent_prompts(settings: Settings) -> PromptSet:
    """The LLAMOS agent's prompt set from the configured files (`defense.prompt_set`)."""
    d = settings.defense
    return load_prompts(d.prompts_dir / PROMPT_SET_DIRS[d.prompt_set], examples=d.examples)


# defense.prompt_set -> the directory under defense.prompts_dir
PROMPT_SET_DIRS = {"default": "llamos", "compact": "llamos-compact"}


def _probe_http(client: aiohttp.ClientSession, base: str) -> Probe:
    async def check() -> dict[str, Any]:
        started = time.perf_counter()
        error = await probe(client, base)
        if error is not None:
            return {"ok": False, "required": False, "error": error}
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
        stack.push_async_callback(client.close)
        router = build_router(settings, client)
        for upstream in router.upstreams():
            stack.push_async_callback(upstream.aclose)
        state = await stack.enter_async_context(open_shared_state(settings))
        builder = BackendBuilder(settings, router)
        if purifier is not None:  # tests and benchmarks bring their own
            known = purifier.name in backends.names()
            served = {purifier.name: cached(settings, purifier, state.cache, cacheable=not known
                                            or backends.get(purifier.name).cacheable)}
        else:
            served = defense_backends(settings, builder, state.cache)
        chosen = next(iter(served.values()))
        defense = backends.defense_for(settings.defense, served)
        if purifier is None:
            check_policies(settings, list(served))
        quota = Quota(settings.rate_limit.requests_per_minute,
                      settings.rate_limit.tokens_per_minute)
        gateway = Gateway(router=router, defense=defense, limiter=limiter or state.limiter,
                          policies=settings.policies())
        probes: dict[str, Probe] = {"redis": state.probe} if state.redis is not None else {}
        for route in router.routes():
            up = route.upstream
            if isinstance(up, HttpUpstream):
                probes[f"upstream:{route.alias}"] = _probe_http(client, up.base_url)
        info = GatewayInfo(backend=chosen.name, mode=settings.defense.mode,
                           fail_policy=settings.defense.fail_policy, cache_kind=state.kind,
                           cache_enabled=isinstance(chosen, CachingPurifier),
                           cache_ttl_s=settings.cache.ttl_s,
                           upstreams={r.alias: r.path for r in router.routes()})
        seen = stack.enter_context(request_observers(settings, backend=info.backend,
                                                     cache_enabled=info.cache_enabled))
        observers: list[RequestObserver] = [state.audit] if state.audit is not None else []
        yield Components(settings=settings, gateway=gateway, info=info, builder=builder,
                         auth=Authenticator(settings.auth.api_keys, quota), audit=state.audit,
                         metrics=seen.metrics, observers=[*observers, *seen.all()],
                         probes=probes)
