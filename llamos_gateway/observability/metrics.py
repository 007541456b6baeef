"""Prometheus metrics: a `RequestObserver` that counts every finished request.

One `GatewayMetrics` per app, on its own `CollectorRegistry` (never the global default one),
so two apps in one process (tests) do not collide. With several worker processes
(`llamos serve --workers N`) prometheus_client's multiprocess mode is used: the values live
in mmap files under `PROMETHEUS_MULTIPROC_DIR`, and a scrape (served by whichever worker
accepts it) merges the files of every worker with `MultiProcessCollector`.

Label values come from the gateway's own vocabulary (routes, configured model aliases, key
ids, error codes), never from free text a client sends, so a client cannot blow up the
number of series.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    values,
)
from prometheus_client.exposition import choose_encoder

from llamos_gateway import __version__
from llamos_gateway.defense.fallback import ATTEMPTS
from llamos_gateway.errors import ConfigError
from llamos_gateway.trace import Trace

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Error codes of the upstream layer; anything else from an upstream is bucketed by status.
UPSTREAM_KINDS = {"upstream_timeout": "timeout", "upstream_auth_failed": "auth",
                  "upstream_error": "error", "upstream_invalid_response": "invalid_response"}
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                      60.0, 120.0)
_PROMPT_TOKEN_BUCKETS = (100, 200, 400, 800, 1600, 3200, 6400, 12800)
_UNRESOLVED = "_unresolved"


def multiprocess_dir() -> str | None:
    """The multiprocess directory when this process runs in multiprocess mode, else None.

    prometheus_client chooses its value class when it is first imported, so the variable must
    be set before the process starts (`llamos serve` does that for its workers)."""
    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return None
    if values.ValueClass is values.MutexValue:
        raise ConfigError(f"{MULTIPROC_ENV} was set after prometheus_client was imported; "
                          "set it in the environment before the gateway starts")
    if not os.path.isdir(path):
        raise ConfigError(f"{MULTIPROC_ENV}={path} is not a directory")
    return path


@contextmanager
def multiprocess_metrics(workers: int) -> Iterator[str | None]:
    """Around `uvicorn.run` in `llamos serve`: the directory the workers share their metrics
    through. A `PROMETHEUS_MULTIPROC_DIR` from the environment is used (and emptied of the
    files an earlier run left); with several workers and none set, a temporary one is made,
    exported to the workers and removed afterwards. One worker and none set: None."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
        yield path
        return
    if workers <= 1:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="llamos-metrics-") as tmp:
        os.environ[MULTIPROC_ENV] = tmp
        try:
            yield tmp
        finally:
            os.environ.pop(MULTIPROC_ENV, None)


@dataclass(frozen=True, slots=True)
class Exposition:
    body: bytes
    content_type: str


class GatewayMetrics:
    """Counts requests, stage latencies, defense outcomes, cache use, rate-limit rejections,
    upstream errors and dependency availability. `observe` is cheap and never raises."""

    def __init__(self, *, backend: str = "", mode: str = "enforce", fail_policy: str = "open",
                 cache_enabled: bool = True) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiproc = multiprocess_dir()
        self._backend = backend
        self._cache_enabled = cache_enabled
        r = self.registry
        self.requests = Counter("llamos_requests", "Finished requests.",
                                ["route", "model", "status"], registry=r)
        self.latency = Histogram("llamos_stage_duration_seconds",
                                 "Latency per stage: defense, upstream (to the first byte for "
                                 "streams), total.", ["stage", "route"],
                                 buckets=_LATENCY_BUCKETS_S, registry=r)
        self.defense = Counter("llamos_defense_requests",
                               "Defense outcome per request: changed, unchanged, fail_open, "
                               "fail_closed, no_text, off.",
                               ["backend", "mode", "outcome"], registry=r)
        self.fail_open = Counter("llamos_defense_fail_open",
                                 "Requests forwarded unpurified because the defense failed "
                                 "(fail-open), by reason.", ["reason"], registry=r)
        self.texts = Counter("llamos_defense_texts", "Purified texts, by whether they changed.",
                             ["backend", "changed"], registry=r)
        self.fallbacks = Counter("llamos_defense_fallbacks",
                                 "Texts kept as they were because a guard rejected the "
                                 "backend's output, by reason.", ["backend", "reason"], registry=r)
        self.verdicts = Counter("llamos_defense_verdicts",
                                "Defended requests by verdict: clean, repaired, suspicious, "
                                "blocked.", ["verdict"], registry=r)
        self.attempts = Counter("llamos_defense_model_attempts",
                                "Calls to each defense model when defense.model lists "
                                "fallbacks, by outcome (ok or the failure reason).",
                                ["model", "outcome"], registry=r)
        self.screen = Counter("llamos_defense_screen",
                              "Texts the defense agent saw (agent) or the tiered screen let "
                              "through without it (skipped).", ["decision"], registry=r)
        self.cache = Counter("llamos_defense_cache", "Purification cache lookups.", ["result"],
                             registry=r)
        self.prompt_tokens = Histogram("llamos_defense_prompt_tokens",
                                       "Prompt tokens the defense model read per text it was "
                                       "asked about (prompt set and text).", ["backend"],
                                       buckets=_PROMPT_TOKEN_BUCKETS, registry=r)
        self.rate_limited = Counter("llamos_rate_limited",
                                    "Requests rejected by the gateway's rate limiter.",
                                    ["route", "key_id"], registry=r)
        self.upstream_errors = Counter("llamos_upstream_errors",
                                       "Failed calls to the target model, by kind.",
                                       ["model", "kind"], registry=r)
        self.dependency = Gauge("llamos_dependency_up",
                                "1 when a dependency answered its last probe (refreshed on "
                                "every scrape), else 0.", ["dependency"], registry=r,
                                multiprocess_mode="livemostrecent")
        build = Gauge("llamos_build_info", "Version and defense configuration; always 1.",
                      ["version", "defense_backend", "defense_mode", "fail_policy"], registry=r,
                      multiprocess_mode="livemax")
        build.labels(__version__, backend, mode, fail_policy).set(1)

    @property
    def multiprocess(self) -> bool:
        return self._multiproc is not None

    def observe(self, trace: Trace) -> None:
        model = trace.model if trace.model and trace.upstream_path else _UNRESOLVED
        self.requests.labels(trace.route, model, str(trace.status)).inc()
        if trace.total_ms is not None:
            self.latency.labels("total", trace.route).observe(trace.total_ms / 1000.0)
        if trace.upstream_ms is not None:
            self.latency.labels("upstream", trace.route).observe(trace.upstream_ms / 1000.0)
            self._upstream_error(trace, model)
        elif trace.rate_limited:
            self.rate_limited.labels(trace.route, trace.key_id or "").inc()
        self._defense(trace)

    def _upstream_error(self, trace: Trace, model: str) -> None:
        if trace.status < 400 or trace.status == 499:  # 499: the client went away
            return
        code = trace.error_code or ""
        kind = UPSTREAM_KINDS.get(code, f"status_{trace.status}")
        self.upstream_errors.labels(model, kind).inc()

    def _defense(self, trace: Trace) -> None:
        outcome = trace.defense
        if outcome is None:
            if trace.error_code == "defense_unavailable":
                self.defense.labels(self._backend, "enforce", "fail_closed").inc()
            return
        backend, mode = outcome.backend, outcome.mode.value
        if outcome.purify_ms and (outcome.results or outcome.failed):
            self.latency.labels("defense", trace.route).observe(outcome.purify_ms / 1000.0)
        if outcome.failed:
            self.defense.labels(backend, mode, "fail_open").inc()
            self.fail_open.labels(outcome.fail_open or "unknown").inc()
            return
        if not outcome.results:
            self.defense.labels(backend, mode, "off" if mode == "off" else "no_text").inc()
            return
        self.defense.labels(backend, mode, "changed" if outcome.changed else "unchanged").inc()
        self.verdicts.labels(outcome.verdict.value).inc()
        # the tiered backend calls the agent only for texts its screen flags
        tiered = backend.startswith("tiered")
        for result in outcome.results:
            self.texts.labels(result.backend, "true" if result.changed else "false").inc()
            if result.fallback:
                self.fallbacks.labels(result.backend, result.fallback).inc()
            for attempt in result.extra.get(ATTEMPTS, ()):  # type: ignore[attr-defined]
                self.attempts.labels(attempt["model"], attempt["outcome"]).inc()
            if result.agent_called:
                self.screen.labels("agent").inc()
                if result.prompt_tokens:
                    self.prompt_tokens.labels(result.backend).observe(result.prompt_tokens)
            elif tiered and not result.cache_hit:
                self.screen.labels("skipped").inc()
            if self._cache_enabled:
                self.cache.labels("hit" if result.cache_hit else "miss").inc()

    def set_dependencies(self, checks: Mapping[str, Mapping[str, Any]]) -> None:
        for name, check in checks.items():
            self.dependency.labels(name).set(1.0 if check.get("ok") else 0.0)

    def expose(self, accept: str | None = None) -> Exposition:
        """The text exposition of every worker's metrics (or this process's only)."""
        registry = self.registry
        if self._multiproc is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self._multiproc)  # type: ignore[no-untyped-call]
        encoder, content_type = choose_encoder(accept or "")
        return Exposition(encoder(registry), content_type)

    def close(self) -> None:
        """At worker shutdown: drop this process's live gauges from the shared directory."""
        if self._multiproc is not None:
            multiprocess.mark_process_dead(os.getpid(), self._multiproc)  # type: ignore[no-untyped-call]


def dependency_probes(names: Iterable[str]) -> list[str]:
    """The readiness probes whose result is exported as `llamos_dependency_up` on each scrape:
    the shared-state ones (Redis). Upstream probes stay with /readyz: a scrape must not call
    every provider."""
    return [n for n in names if n == "redis" or n.startswith("redis")]
