"""Optional OpenTelemetry tracing: off by default, a clear error without the SDK, spans with it."""

from __future__ import annotations

import sys

import pytest

from llamos_gateway.defense import DefenseOutcome
from llamos_gateway.defense.protocol import PurifyResult
from llamos_gateway.errors import ConfigError
from llamos_gateway.observability.tracing import open_tracing, traces_url
from llamos_gateway.settings import DefenseMode, ObservabilitySettings
from llamos_gateway.trace import Trace


def test_off_without_an_endpoint() -> None:
    assert open_tracing(ObservabilitySettings()) is None


def test_missing_sdk_is_a_config_error_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.trace", None)  # import fails
    with pytest.raises(ConfigError, match="opentelemetry-sdk"):
        open_tracing(ObservabilitySettings(otlp_endpoint="http://collector:4318"))


def test_traces_url() -> None:
    assert traces_url("http://c:4318") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces/") == "http://c:4318/v1/traces"


def test_spans_per_request_without_texts() -> None:
    pytest.importorskip("opentelemetry.sdk.trace", reason="the OpenTelemetry SDK is optional")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracing = open_tracing(ObservabilitySettings(otlp_endpoint="http://unused:4318"),
                           exporter=exporter)
    assert tracing is not None
    trace = Trace(request_id="req-1", route="chat/completions", model="fake",
                  upstream_path="passthrough", upstream_ms=40.0, key_id="team-a")
    trace.defense = DefenseOutcome(DefenseMode.ENFORCE, "mark", (PurifyResult(
        original="secret text", purified="clean text", backend="mark"),), purify_ms=10.0)
    trace.finish(200)
    tracing.observe(trace)
    tracing.close()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"POST /v1/chat/completions", "defense", "upstream"}
    root = spans["POST /v1/chat/completions"]
    assert root.attributes["llamos.request_id"] == "req-1"
    assert root.attributes["http.response.status_code"] == 200
    for child in ("defense", "upstream"):
        assert spans[child].parent.span_id == root.context.span_id
    assert spans["defense"].end_time <= spans["upstream"].start_time
    assert "secret" not in repr([dict(s.attributes) for s in spans.values()])
