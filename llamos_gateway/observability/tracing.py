"""Optional OpenTelemetry tracing, on when `observability.otlp_endpoint` is set.

Each finished request becomes a server span with `defense` and `upstream` child spans, built
from the `Trace` (so it agrees with the logs and metrics) and exported over OTLP/HTTP by a
batch processor on its own thread. Spans carry ids, routes, statuses and defense outcomes,
never texts or keys. The OpenTelemetry SDK is not a dependency of the gateway: install
`opentelemetry-sdk` and `opentelemetry-exporter-otlp-proto-http` to use this.

The stage spans are placed from the measured durations: the defense runs first, the upstream
call right after it; their start times are therefore close to, not exactly, the real ones.
"""

from __future__ import annotations

import importlib
from typing import Any

from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import ObservabilitySettings
from llamos_gateway.trace import Trace

_PACKAGES = {"opentelemetry.sdk.trace": "opentelemetry-sdk",
             "opentelemetry.exporter.otlp.proto.http.trace_exporter":
                 "opentelemetry-exporter-otlp-proto-http"}


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"observability.otlp_endpoint is set but the package {_PACKAGES[module]} is not "
            f"installed: pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http"
        ) from exc


def traces_url(endpoint: str) -> str:
    """An OTLP/HTTP base (`http://collector:4318`) or a full `.../v1/traces` URL."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def open_tracing(settings: ObservabilitySettings, *, exporter: Any = None) -> OtelTracing | None:
    """The tracing observer, or None when no endpoint is configured. `exporter` replaces the
    OTLP exporter (tests pass an in-memory one, which is exported synchronously)."""
    if not settings.otlp_endpoint:
        return None
    sdk_trace = _require("opentelemetry.sdk.trace")
    export = importlib.import_module("opentelemetry.sdk.trace.export")
    resources = importlib.import_module("opentelemetry.sdk.resources")
    if exporter is None:
        otlp = _require("opentelemetry.exporter.otlp.proto.http.trace_exporter")
        processor = export.BatchSpanProcessor(
            otlp.OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint)))
    else:
        processor = export.SimpleSpanProcessor(exporter)
    resource = resources.Resource.create({"service.name": settings.service_name})
    provider = sdk_trace.TracerProvider(resource=resource)
    provider.add_span_processor(processor)
    return OtelTracing(provider)


class OtelTracing:
    """A `RequestObserver` that turns each finished `Trace` into spans."""

    def __init__(self, provider: Any) -> None:
        from opentelemetry import trace as otel

        self._otel = otel
        self._provider = provider
        self._tracer = provider.get_tracer("llamos_gateway")

    def observe(self, trace: Trace) -> None:
        otel = self._otel
        start = int(trace.wall_time * 1e9)
        end = start + int((trace.total_ms or 0.0) * 1e6)
        span = self._tracer.start_span(f"POST /v1/{trace.route}", kind=otel.SpanKind.SERVER,
                                       start_time=start, attributes=_attributes(trace))
        if trace.status >= 500:
            span.set_status(otel.Status(otel.StatusCode.ERROR, trace.error_code or ""))
        context = otel.set_span_in_context(span)
        cursor = start
        outcome = trace.defense
        if outcome is not None and (outcome.results or outcome.failed):
            cursor = self._child("defense", context, cursor, outcome.purify_ms, {
                "llamos.defense.backend": outcome.backend,
                "llamos.defense.changed": outcome.changed,
                "llamos.defense.fail_open": outcome.fail_open or ""})
        if trace.upstream_ms is not None:
            self._child("upstream", context, cursor, trace.upstream_ms,
                        {"llamos.upstream_path": trace.upstream_path or ""})
        span.end(end_time=max(end, cursor))

    def _child(self, name: str, context: Any, start: int, ms: float,
               attributes: dict[str, Any]) -> int:
        end = start + int(ms * 1e6)
        span = self._tracer.start_span(name, context=context, start_time=start,
                                       attributes=attributes)
        span.end(end_time=end)
        return end

    def close(self) -> None:
        """Flush what is buffered and stop the exporter thread."""
        self._provider.shutdown()


def _attributes(trace: Trace) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "http.request.method": "POST", "http.route": f"/v1/{trace.route}",
        "http.response.status_code": trace.status, "llamos.request_id": trace.request_id,
        "llamos.stream": trace.stream, "llamos.rate_limited": trace.rate_limited,
    }
    optional = {"llamos.model": trace.model, "llamos.key_id": trace.key_id,
                "llamos.error_code": trace.error_code,
                "llamos.defense.mode": trace.defense.mode.value if trace.defense else None}
    attributes.update({k: v for k, v in optional.items() if v is not None})
    return attributes
