"""`POST /v1/purify` in-process (ASGI transport + lifespan), with the LLAMOS agent talking to
the scripted fake defense LLM on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.agent import load_prompts
from llamos_gateway.api.app import create_app
from llamos_gateway.api.purify import MAX_DIFF
from llamos_gateway.defense.protocol import Edit, PurifyRequest, PurifyResult
from llamos_gateway.settings import PROMPTS_DIR, Settings
from llamos_gateway.testing import FakeOpenAI, MarkPurifier, Reply
from tests.agent.stack import Recorder, llamos_components, settings_kw
from tests.conftest import factory_with

PURIFY = "/v1/purify"
Client = Callable[..., Any]


def answer(purified: str, changed: bool = True) -> Reply:
    return Reply(content=json.dumps({"purified": purified, "changed": changed}))


@pytest.fixture
async def client(settings_for: Callable[..., Settings],
                 fake_url: str) -> AsyncIterator[Client]:
    opened: list[tuple[LifespanManager, httpx.AsyncClient]] = []

    async def open_client(recorder: Recorder | None = None, **defense: Any) -> httpx.AsyncClient:
        app = create_app(settings_for(**settings_kw(fake_url, **defense)),
                         components=llamos_components(recorder))
        manager = LifespanManager(app)
        await manager.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app),
                                 base_url="http://gw")
        opened.append((manager, http))
        return http

    yield open_client
    for manager, http in reversed(opened):
        await http.aclose()
        await manager.__aexit__(None, None, None)


async def test_purifies_a_list_with_diff_reasons_and_timings(client: Client,
                                                             fake_upstream: FakeOpenAI) -> None:
    recorder = Recorder()
    http = await client(recorder, concurrency=1)
    fake_upstream.enqueue(answer("the soundtrack is warm"), answer("fine as is", changed=False),
                          answer("The sentiment is positive."))
    response = await http.post(PURIFY, json={
        "texts": ["the sountrack is warm @qz1", "fine as is", "a gret film"],
        "task": "sentiment"})
    assert response.status_code == 200, response.text
    report = response.json()
    version = load_prompts(PROMPTS_DIR / "llamos").version
    assert report["object"] == "llamos.purify" and report["backend"] == "llamos"
    assert report["prompt_version"] == version == response.headers["x-llamos-prompt"]
    first, second, third = report["results"]
    assert first["purified"] == "the soundtrack is warm" and first["changed"] is True
    assert first["diff"][0] == {"start": 4, "end": 13, "before": "sountrack",
                                "after": "soundtrack", "rule": "llamos"}
    assert first["agent_called"] and first["timings"]["defense_ms"] >= 0
    assert first["timings"]["purify_ms"] >= first["timings"]["defense_ms"]
    assert second == {**second, "purified": "fine as is", "changed": False, "diff": []}
    assert third["purified"] == "a gret film" and third["fallback"] == "drift_answer"
    assert third["reasons"] == ["drift_answer"]
    assert report["timings"]["total_ms"] >= report["timings"]["purify_ms"] > 0
    assert "sentiment" in fake_upstream.history[0].body["messages"][0]["content"]
    (trace,) = recorder.traces
    assert trace.route == "purify" and trace.status == 200 and trace.defense is not None
    assert [r.purified for r in trace.defense.results][0] == "the soundtrack is warm"


async def test_fail_open_returns_the_texts_unchanged(client: Client,
                                                     fake_upstream: FakeOpenAI) -> None:
    http = await client(fail_policy="open", max_retries=0)
    fake_upstream.enqueue(Reply(status=500, error="down"))
    response = await http.post(PURIFY, json={"texts": ["a gret film"]})
    assert response.status_code == 200
    assert response.headers["x-llamos-fail-open"] == "defense_error"
    (item,) = response.json()["results"]
    assert item["purified"] == "a gret film" and item["changed"] is False
    assert item["reasons"] == ["defense_error"] and response.json()["fail_open"] == "defense_error"


async def test_tiered_fail_open_returns_the_lexical_pass(client: Client,
                                                         fake_upstream: FakeOpenAI) -> None:
    http = await client(backend="tiered", fail_policy="open", max_retries=0)
    fake_upstream.enqueue(Reply(status=500, error="down"))
    texts = ["a gret film . @fasuv3", "a great film"]
    response = await http.post(PURIFY, json={"texts": texts})
    assert response.status_code == 200
    assert response.headers["x-llamos-fail-open"] == "defense_error"
    report = response.json()
    assert report["fail_open"] == "defense_error"
    flagged, clean = report["results"]
    assert flagged["purified"] == "a great film ." and flagged["changed"] is True
    assert flagged["reasons"][-1] == "agent_unavailable" and flagged["agent_called"]
    assert clean["purified"] == "a great film" and not clean["agent_called"]


async def test_fail_closed_is_a_503(client: Client, fake_upstream: FakeOpenAI) -> None:
    http = await client(fail_policy="closed", max_retries=0)
    fake_upstream.enqueue(Reply(content="no json here"))
    response = await http.post(PURIFY, json={"texts": ["a gret film"]})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "defense_unavailable"


@pytest.mark.parametrize(("body", "param"), [
    ({"texts": []}, "texts"),
    ({"texts": "one"}, "texts"),
    ({"texts": ["x"], "task": "poetry"}, "task"),
    ({"texts": ["x"], "surprise": 1}, "surprise"),
    ({"texts": ["x"], "backend": "bogus"}, "backend"),
])
async def test_bad_requests_are_openai_errors(client: Client, body: dict[str, Any],
                                              param: str) -> None:
    http = await client()
    response = await http.post(PURIFY, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param


async def test_every_configured_backend_is_served(client: Client,
                                                  fake_upstream: FakeOpenAI) -> None:
    http = await client()
    # the tiered screen flags the look-alikes and asks the agent, which confirms the repair
    fake_upstream.enqueue(Reply(content='{"purified": "the film is good", "changed": false}'))
    for backend in ("lexical", "passthrough", "tiered"):
        response = await http.post(PURIFY, json={"texts": ["the film is g\u043e\u043ed"],
                                                 "backend": backend})
        assert response.status_code == 200, (backend, response.text)
        purified = response.json()["results"][0]["purified"]
        assert purified == ("the film is g\u043e\u043ed" if backend == "passthrough"
                            else "the film is good"), backend


async def test_task_header_is_used_and_checked(client: Client, fake_upstream: FakeOpenAI) -> None:
    http = await client()
    ok = await http.post(PURIFY, json={"texts": ["fine"]}, headers={"x-llamos-task": "nli"})
    assert ok.status_code == 200
    assert "natural language" in fake_upstream.history[0].body["messages"][0]["content"]
    bad = await http.post(PURIFY, json={"texts": ["fine"]}, headers={"x-llamos-task": "poetry"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "x-llamos-task"


async def test_uses_the_apps_purifier_and_its_auth(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(auth={"api_keys": ["sk-test"]})
    app = create_app(settings, components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as http:
        denied = await http.post(PURIFY, json={"texts": ["bad"]})
        assert denied.status_code == 401
        ok = await http.post(PURIFY, json={"texts": ["bad"], "backend": "mark"},
                             headers={"authorization": "Bearer sk-test"})
        assert ok.status_code == 200
        assert ok.json()["results"][0]["purified"] == "[clean] good"
        assert ok.headers["x-llamos-prompt"] == "test0000"


class ManyEdits:
    """Deletes every other character, one edit each (like a backend that edits per character)."""

    name = "many-edits"
    cache_identity = "many-edits"

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        text = request.text
        edits = tuple(Edit(i, i + 1, text[i], "", "strip") for i in range(0, len(text), 2))
        return PurifyResult(original=text, purified=text[1::2], backend=self.name, edits=edits)


async def test_the_reply_stays_proportional_to_the_input(
        settings_for: Callable[..., Settings]) -> None:
    text = "ab" * 50_000  # 100 KB, 50,000 edits
    app = create_app(settings_for(), components=factory_with(ManyEdits()))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as http:
        reply = await http.post(PURIFY, json={"texts": [text]})
    assert reply.status_code == 200
    result = reply.json()["results"][0]
    assert "edits" not in result  # the diff is listed once
    assert len(result["diff"]) == MAX_DIFF
    assert result["diff_omitted"] == 50_000 - MAX_DIFF
    assert result["purified"] == "b" * 50_000
    assert len(reply.content) < 4 * len(text)
