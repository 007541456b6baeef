"""Prometheus metrics: what each finished request counts, and GET /metrics in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families

from llamos_gateway.api.app import create_app
from llamos_gateway.defense import DefenseOutcome
from llamos_gateway.defense.protocol import PurifyResult
from llamos_gateway.observability.metrics import GatewayMetrics
from llamos_gateway.settings import DefenseMode, Settings
from llamos_gateway.testing import FailingPurifier, FakeOpenAI, MarkPurifier, Reply
from llamos_gateway.trace import Trace
from llamos_gateway.wiring import Components, open_components
from tests.conftest import factory_with

CHAT = "/v1/chat/completions"


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def trace(status: int = 200, *, model: str | None = "fake", resolved: bool = True,
          upstream_ms: float | None = 12.0, defense: DefenseOutcome | None = None,
          error_code: str | None = None, rate_limited: bool = False) -> Trace:
    t = Trace(request_id="r1", route="chat/completions", model=model,
              upstream_path="passthrough" if resolved else None, upstream_ms=upstream_ms,
              defense=defense, rate_limited=rate_limited, key_id="team-a")
    t.finish(status, error_code)
    return t


def result(text: str = "a", purified: str | None = None, **kw: Any) -> PurifyResult:
    return PurifyResult(original=text, purified=text if purified is None else purified,
                        backend="tiered", **kw)


def test_requests_and_stage_latencies_are_counted() -> None:
    metrics = GatewayMetrics(backend="tiered")
    outcome = DefenseOutcome(mode=DefenseMode.ENFORCE, backend="tiered",
                             results=(result("bad", "good"),), purify_ms=30.0)
    metrics.observe(trace(defense=outcome))
    metrics.observe(trace(defense=outcome))
    assert value(metrics, "llamos_requests_total", route="chat/completions", model="fake",
                 status="200") == 2
    for stage in ("defense", "upstream", "total"):
        assert value(metrics, "llamos_stage_duration_seconds_count", stage=stage,
                     route="chat/completions") == 2, stage
    assert value(metrics, "llamos_stage_duration_seconds_sum", stage="defense",
                 route="chat/completions") == pytest.approx(0.06)


def test_unknown_models_share_one_label_value() -> None:
    """A client cannot create series by sending made-up model names."""
    metrics = GatewayMetrics()
    for name in ("x1", "x2", "x3"):
        metrics.observe(trace(404, model=name, resolved=False, upstream_ms=None,
                              error_code="model_not_found"))
    assert value(metrics, "llamos_requests_total", route="chat/completions",
                 model="_unresolved", status="404") == 3
    assert value(metrics, "llamos_requests_total", route="chat/completions", model="x1",
                 status="404") == 0


def test_defense_outcomes() -> None:
    metrics = GatewayMetrics(backend="tiered", cache_enabled=True)
    enforce = DefenseMode.ENFORCE
    changed = DefenseOutcome(enforce, "tiered", (result("bad", "good", agent_called=True),), 5.0)
    unchanged = DefenseOutcome(enforce, "tiered", (
        result(reasons=("screen_clean",)),  # the screen let it through: no agent
        result(cache_hit=True),  # from the cache: neither agent nor screen
        result(fallback="drift_edit_ratio", agent_called=True)), 5.0)
    failed = DefenseOutcome(enforce, "tiered", purify_ms=20.0, fail_open="defense_timeout",
                            failed=True)
    no_text = DefenseOutcome(enforce, "tiered")
    for outcome in (changed, unchanged, failed, no_text):
        metrics.observe(trace(defense=outcome))
    metrics.observe(trace(503, defense=None, upstream_ms=None, error_code="defense_unavailable"))

    def outcome_count(outcome: str) -> float:
        return value(metrics, "llamos_defense_requests_total", backend="tiered", mode="enforce",
                     outcome=outcome)

    for name in ("changed", "unchanged", "fail_open", "fail_closed", "no_text"):
        assert outcome_count(name) == 1, name
    assert value(metrics, "llamos_defense_fail_open_total", reason="defense_timeout") == 1
    assert value(metrics, "llamos_defense_fallbacks_total", backend="tiered",
                 reason="drift_edit_ratio") == 1
    assert value(metrics, "llamos_defense_texts_total", backend="tiered", changed="true") == 1
    assert value(metrics, "llamos_defense_texts_total", backend="tiered", changed="false") == 3
    assert value(metrics, "llamos_defense_screen_total", decision="skipped") == 1
    assert value(metrics, "llamos_defense_screen_total", decision="agent") == 2
    assert value(metrics, "llamos_defense_cache_total", result="hit") == 1
    assert value(metrics, "llamos_defense_cache_total", result="miss") == 3


def test_no_screen_counts_outside_the_tiered_backend() -> None:
    metrics = GatewayMetrics(backend="lexical")
    outcome = DefenseOutcome(DefenseMode.ENFORCE, "lexical", (result(reasons=("screen_clean",)),))
    metrics.observe(trace(defense=outcome))
    assert value(metrics, "llamos_defense_screen_total", decision="skipped") == 0


def test_no_cache_counts_without_a_cache() -> None:
    metrics = GatewayMetrics(cache_enabled=False)
    metrics.observe(trace(defense=DefenseOutcome(DefenseMode.ENFORCE, "lexical", (result(),))))
    assert value(metrics, "llamos_defense_cache_total", result="miss") == 0


def test_rate_limit_rejections_and_upstream_errors_are_told_apart() -> None:
    metrics = GatewayMetrics()
    # the gateway's limiter said no: the upstream was never called
    metrics.observe(trace(429, upstream_ms=None, error_code="rate_limit_exceeded",
                          rate_limited=True))
    # the provider said 429: an upstream error, not ours
    metrics.observe(trace(429, error_code="rate_limit_exceeded", rate_limited=True))
    metrics.observe(trace(504, error_code="upstream_timeout"))
    metrics.observe(trace(502, error_code="upstream_auth_failed"))
    metrics.observe(trace(502, error_code="upstream_error"))
    metrics.observe(trace(499, error_code="client_closed_request"))
    assert value(metrics, "llamos_rate_limited_total", route="chat/completions",
                 key_id="team-a") == 1
    for kind in ("status_429", "timeout", "auth", "error"):
        assert value(metrics, "llamos_upstream_errors_total", model="fake", kind=kind) == 1, kind
    total = sum(s.value for f in metrics.registry.collect() for s in f.samples
                if s.name == "llamos_upstream_errors_total")
    assert total == 4  # the client hanging up is not an upstream error


def test_two_apps_in_one_process_do_not_collide() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.observe(trace())
    assert value(second, "llamos_requests_total", route="chat/completions", model="fake",
                 status="200") == 0


def scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_metrics_endpoint_counts_requests(api: httpx.AsyncClient,
                                                fake_upstream: FakeOpenAI) -> None:
    body = {"model": "fake", "messages": [{"role": "user", "content": "a bad movie"}]}
    assert (await api.post(CHAT, json=body)).status_code == 200
    fake_upstream.enqueue(Reply(status=500, error="boom"))
    assert (await api.post(CHAT, json=body)).status_code == 502
    assert (await api.post(CHAT, json={**body, "model": "nope"})).status_code == 404
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = scrape(response.text)
    route = "chat/completions"
    assert sample(samples, "llamos_requests_total", route=route, model="fake", status="200") == 1
    assert sample(samples, "llamos_requests_total", route=route, model="fake", status="502") == 1
    assert sample(samples, "llamos_requests_total", route=route, model="_unresolved",
                  status="404") == 1
    assert sample(samples, "llamos_upstream_errors_total", model="fake", kind="error") == 1
    assert sample(samples, "llamos_defense_requests_total", backend="mark", mode="enforce",
                  outcome="changed") == 2
    assert sample(samples, "llamos_stage_duration_seconds_count", stage="upstream",
                  route=route) == 2
    assert sample(samples, "llamos_build_info", version=_version(), defense_backend="mark",
                  defense_mode="enforce", fail_policy="open") == 1


def _version() -> str:
    from llamos_gateway import __version__

    return __version__


async def test_fail_open_and_fail_closed_through_the_api(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI) -> None:
    body = {"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
    for policy, status in (("open", 200), ("closed", 503)):
        settings = settings_for(defense={"backend": "passthrough", "fail_policy": policy})
        app = create_app(settings, components=factory_with(FailingPurifier()))
        async with LifespanManager(app) as manager, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client:
            assert (await client.post(CHAT, json=body)).status_code == status
            samples = scrape((await client.get("/metrics")).text)
        outcome = "fail_open" if policy == "open" else "fail_closed"
        assert sample(samples, "llamos_defense_requests_total", backend="failing",
                      mode="enforce", outcome=outcome) == 1, policy


async def test_metrics_can_be_turned_off(settings_for: Callable[..., Settings]) -> None:
    app = create_app(settings_for(observability={"metrics": False}),
                     components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def with_probe(ok: bool) -> Callable[[Settings], AbstractAsyncContextManager[Components]]:
    """The real components plus a scripted `redis` probe."""
    calls: list[int] = []

    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[Components]:
        async with open_components(settings, purifier=MarkPurifier()) as built:
            async def probe() -> dict[str, Any]:
                calls.append(1)
                return {"ok": ok, "required": False}

            built.probes["redis"] = probe
            yield built

    return factory


@pytest.mark.parametrize("ok", [True, False])
async def test_redis_availability_gauge_comes_from_its_probe(
        settings_for: Callable[..., Settings], ok: bool) -> None:
    app = create_app(settings_for(), components=with_probe(ok))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client:
        samples = scrape((await client.get("/metrics")).text)
    assert sample(samples, "llamos_dependency_up", dependency="redis") == (1.0 if ok else 0.0)
    # upstream probes are not run by a scrape
    assert not any(name == "llamos_dependency_up" and dict(labels)["dependency"] != "redis"
                   for name, labels in samples)


@pytest.mark.redis
async def test_redis_gauge_with_real_redis(settings_for: Callable[..., Settings]) -> None:
    redis_settings = {"url": "redis://127.0.0.1:6379/14"}
    down_settings = {"url": "redis://127.0.0.1:1/14", "socket_timeout_s": 0.2}
    for redis, expected in ((redis_settings, 1.0), (down_settings, 0.0)):
        app = create_app(settings_for(redis=redis), components=factory_with(MarkPurifier()))
        async with LifespanManager(app) as manager, httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client:
            samples = scrape((await client.get("/metrics")).text)
        assert sample(samples, "llamos_dependency_up", dependency="redis") == expected, redis


def test_prompt_tokens_per_defense_model_call_are_observed_and_audited() -> None:
    from llamos_gateway.storage.audit import AuditRecord

    metrics = GatewayMetrics(backend="tiered")
    asked = result("bad", "good", agent_called=True, defense_tokens=330,
                   extra={"prompt_tokens": 300})
    cached = result("bad", "good", cache_hit=True, extra={"cached_prompt_tokens": 300})
    outcome = DefenseOutcome(mode=DefenseMode.ENFORCE, backend="tiered",
                             results=(asked, cached, result("fine")), purify_ms=30.0)
    metrics.observe(trace(defense=outcome))
    assert value(metrics, "llamos_defense_prompt_tokens_count", backend="tiered") == 1
    assert value(metrics, "llamos_defense_prompt_tokens_sum", backend="tiered") == 300
    record = AuditRecord.from_trace(trace(defense=outcome), store_text=False)
    assert record is not None
    assert record.prompt_tokens == 300
    assert [t.prompt_tokens for t in record.texts] == [300, 0, 0]
