"""Seeing the gateway run: Prometheus metrics, structured request logs, optional tracing.

All three are `RequestObserver`s fed from the same `Trace`, so they always agree.
`request_observers` builds them for the composition root and releases them on shutdown.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from llamos_gateway.observability.logging import RequestLog, configure_logging
from llamos_gateway.observability.metrics import GatewayMetrics
from llamos_gateway.observability.tracing import OtelTracing, open_tracing
from llamos_gateway.settings import Settings
from llamos_gateway.trace import RequestObserver

__all__ = ["GatewayMetrics", "Observers", "RequestLog", "configure_logging",
           "request_observers"]


@dataclass(frozen=True, slots=True)
class Observers:
    log: RequestLog
    metrics: GatewayMetrics | None = None  # None when `observability.metrics` is off
    tracing: OtelTracing | None = None     # None without `observability.otlp_endpoint`

    def all(self) -> list[RequestObserver]:
        return [o for o in (self.log, self.metrics, self.tracing) if o is not None]


@contextmanager
def request_observers(settings: Settings, *, backend: str,
                      cache_enabled: bool) -> Iterator[Observers]:
    """The request log, the metrics and the tracer. `backend` is the defense backend being
    served, `cache_enabled` whether a purification cache sits in front of it."""
    metrics = None
    if settings.observability.metrics:
        metrics = GatewayMetrics(backend=backend, mode=settings.defense.mode.value,
                                 fail_policy=settings.defense.fail_policy,
                                 cache_enabled=cache_enabled)
    tracing = open_tracing(settings.observability)
    try:
        yield Observers(RequestLog(log_text=settings.logging.log_text), metrics, tracing)
    finally:
        if tracing is not None:
            tracing.close()
        if metrics is not None:
            metrics.close()
