"""Seeing the gateway run: Prometheus metrics, structured request logs, optional tracing.

All three are `RequestObserver`s fed from the same `Trace`, so they always agree.
`request_observers` builds them for the composition root and releases them on shutdown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from llamos_gateway.observability.logging import RequestLog, configure_logging
from llamos_gateway.observability.metrics import GatewayMetrics
from llamos_gateway.observability.tracing import open_tracing
from llamos_gateway.settings import Settings
from llamos_gateway.trace import RequestObserver

__all__ = ["GatewayMetrics", "RequestLog", "configure_logging", "find_metrics",
           "request_observers"]


@contextmanager
def request_observers(settings: Settings, info: Mapping[str, Any]) -> Iterator[list[RequestObserver]]:
    """The request log, the metrics (unless `observability.metrics` is off) and the tracer
    (when `observability.otlp_endpoint` is set). `info` is the components' info block."""
    observers: list[RequestObserver] = [RequestLog(log_text=settings.logging.log_text)]
    defense = info.get("defense", {})
    metrics = None
    if settings.observability.metrics:
        metrics = GatewayMetrics(
            backend=str(defense.get("backend", settings.defense_backend)),
            mode=str(defense.get("mode", settings.defense.mode.value)),
            fail_policy=settings.defense.fail_policy,
            cache_enabled=_cache_enabled(settings, info))
        observers.append(metrics)
    tracing = open_tracing(settings.observability)
    if tracing is not None:
        observers.append(tracing)
    try:
        yield observers
    finally:
        if tracing is not None:
            tracing.close()
        if metrics is not None:
            metrics.close()


def _cache_enabled(settings: Settings, info: Mapping[str, Any]) -> bool:
    """Whether a purification cache sits in front of the purifier (the composition root puts
    one there unless the cache is off or the backend is the no-op passthrough)."""
    backend = info.get("defense", {}).get("backend", settings.defense_backend)
    return settings.cache.enabled and backend != "passthrough"


def find_metrics(observers: Sequence[RequestObserver]) -> GatewayMetrics | None:
    return next((o for o in observers if isinstance(o, GatewayMetrics)), None)
