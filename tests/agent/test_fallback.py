"""Fallback defense models (`defense.model` as a list): with the first one down, the next is
asked before the fail policy applies, in order, and every attempt is counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.defense import PurifyRequest, PurifyResult
from llamos_gateway.defense.fallback import FallbackPurifier
from llamos_gateway.errors import DefenseUnavailable
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FailingPurifier, FakeOpenAI, MarkPurifier, Reply, free_port
from tests.agent.stack import llamos_components

ADV = "the sountrack is warm"
CLEAN = "the soundtrack is warm"


def answer(purified: str) -> Reply:
    return Reply(content=json.dumps({"purified": purified, "changed": True}))


@pytest.fixture
def purify(settings_for: Callable[..., Settings], fake_url: str) -> Callable[..., Any]:
    down = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there

    async def post(models: list[str], **defense: Any) -> tuple[dict[str, Any], str]:
        settings = settings_for(
            models={"down": {"model": "openai/down-model", "api_base": down},
                    "also-down": {"model": "openai/down-model", "api_base": down},
                    "up": {"model": "openai/fake-model", "api_base": fake_url}},
            defense={"backend": "llamos", "model": models, "timeout_s": 2.0,
                     "max_retries": 0, **defense},
            limits={"max_retries": 0}, cache={"enabled": False})
        app = create_app(settings, components=llamos_components())
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                response = await client.post("/v1/purify", json={"texts": [ADV]})
                metrics = (await client.get("/metrics")).text
        return response.json(), metrics

    return post


async def test_the_next_model_answers_when_the_first_is_down(
        purify: Callable[..., Any], fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(answer(CLEAN))
    body, metrics = await purify(["down", "up"])
    [result] = body["results"]
    assert result["purified"] == CLEAN and body["fail_open"] is None
    assert result["defense_attempts"] == [{"model": "down", "outcome": "defense_error"},
                                          {"model": "up", "outcome": "ok"}]
    assert len([r for r in fake_upstream.history if r.path.endswith("/chat/completions")]) == 1
    assert 'llamos_defense_model_attempts_total{model="down",outcome="defense_error"} 1.0' \
        in metrics
    assert 'llamos_defense_model_attempts_total{model="up",outcome="ok"} 1.0' in metrics


async def test_the_first_model_alone_when_it_answers(purify: Callable[..., Any],
                                                     fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(answer(CLEAN))
    body, _ = await purify(["up", "down"])
    assert body["results"][0]["defense_attempts"] == [{"model": "up", "outcome": "ok"}]


async def test_all_down_then_the_fail_policy_applies(purify: Callable[..., Any],
                                                     fake_upstream: FakeOpenAI) -> None:
    body, _ = await purify(["down", "also-down"])
    assert body["fail_open"] == "defense_error"
    assert body["results"][0]["purified"] == ADV  # fail-open: unchanged
    assert fake_upstream.history == []


async def test_fallback_purifier_counts_every_attempt_in_order() -> None:
    first, second = FailingPurifier(), MarkPurifier()
    fallback = FallbackPurifier([("a", first), ("b", FailingPurifier()), ("c", second)])
    result = await fallback.purify(PurifyRequest("bad"))
    assert result.purified == "[clean] good"
    assert result.extra["defense_attempts"] == [
        {"model": "a", "outcome": "defense_timeout"}, {"model": "b", "outcome": "defense_timeout"},
        {"model": "c", "outcome": "ok"}]
    with pytest.raises(DefenseUnavailable, match="after 2 defense model"):
        await FallbackPurifier([("a", first), ("b", first)]).purify(PurifyRequest("x"))
    busy = FallbackPurifier([("a", Busy()), ("c", second)])
    with pytest.raises(DefenseUnavailable):  # the in-flight bound is shared: no fallback
        await busy.purify(PurifyRequest("bad"))
    assert busy.attempts == {("a", "defense_busy"): 1}


class Busy(FailingPurifier):
    async def purify(self, request: PurifyRequest) -> PurifyResult:
        raise DefenseUnavailable("no slot", reason="defense_busy")
