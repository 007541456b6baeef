"""Wrongly typed or out-of-range fields: a 400 that names the field, a request log line, a
metric, and no traceback. Also the audit route's arguments, long model names, HEAD probes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI, MarkPurifier
from tests.conftest import factory_with

CHAT = "/v1/chat/completions"


def chat(**message: Any) -> dict[str, Any]:
    return {"model": "fake", "messages": [{"role": "user", "content": "hi", **message}]}


BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    (CHAT, chat(role=["user"]), "messages[0].role"),
    (CHAT, chat(role={"a": 1}), "messages[0].role"),
    (CHAT, chat(role=None), "messages[0].role"),
    (CHAT, chat(content=[{"type": "text", "text": None}]), "messages[0].content[0].text"),
    (CHAT, chat(content=[{"type": ["text"], "text": "x"}]), "messages[0].content[0]"),
    (CHAT, chat(content=[7]), "messages[0].content[0]"),
    (CHAT, chat(content={"text": "x"}), "messages[0].content"),
    (CHAT, {**chat(), "max_tokens": -5}, "max_tokens"),
    (CHAT, {**chat(), "max_completion_tokens": "9"}, "max_completion_tokens"),
    (CHAT, {**chat(), "n": True}, "n"),
    (CHAT, {**chat(), "stream": "yes"}, "stream"),
    (CHAT, {**chat(), "stream_options": [1]}, "stream_options"),
    (CHAT, {**chat(), "model": {"a": 1}}, "model"),
    ("/v1/completions", {"model": "fake", "prompt": [[True]]}, "prompt"),
    ("/v1/completions", {"model": "fake", "prompt": [1, True]}, "prompt"),
    ("/v1/completions", {"model": "fake", "prompt": [[]]}, "prompt"),
    ("/v1/completions", {"model": "fake", "prompt": {"a": 1}}, "prompt"),
    ("/v1/embeddings", {"model": "fake", "input": [True]}, "input"),
    ("/v1/embeddings", {"model": "fake", "input": [[{"a": 1}]]}, "input"),
    ("/v1/embeddings", {"model": "fake", "input": ["a", 1]}, "input"),
    ("/v1/embeddings", {"model": "fake", "input": [None]}, "input"),
    ("/v1/embeddings", {"model": "fake", "input": "x", "dimensions": "8"}, "dimensions"),
    # found by bench/fuzz_gateway.py: a role or type that is not a string raised TypeError
    ("/v1/responses", {"model": "fake", "input": [{"role": {}, "content": "x"}]},
     "input[0].role"),
    ("/v1/responses", {"model": "fake", "input": [{"role": "user", "content": "x",
                                                   "type": ["message"]}]}, "input[0].type"),
]


@pytest.mark.parametrize(("route", "body", "param"), BAD_BODIES,
                         ids=[f"{r.split('/')[-1]}-{p}-{i}" for i, (r, _, p) in
                              enumerate(BAD_BODIES)])
async def test_a_wrongly_typed_field_is_a_400_naming_it(
        api: httpx.AsyncClient, fake_upstream: FakeOpenAI, caplog: pytest.LogCaptureFixture,
        route: str, body: dict[str, Any], param: str) -> None:
    caplog.set_level(logging.INFO)
    response = await api.post(route, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert not fake_upstream.history  # nothing was forwarded
    lines = [r for r in caplog.records if r.name == "llamos.request"]
    assert [(r.status, r.error_code) for r in lines] == [(400, "invalid_request")]  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    metrics = (await api.get("/metrics")).text
    assert f'route="{route.removeprefix("/v1/")}",status="400"' in metrics


async def test_parts_that_are_not_text_may_carry_a_null_text(api: httpx.AsyncClient,
                                                            fake_upstream: FakeOpenAI) -> None:
    """Clients that serialise every optional field send `"text": null` on image parts; the
    gateway does not read it there, so it passes (and token estimation does not trip on it)."""
    part = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}, "text": None}
    response = await api.post(CHAT, json=chat(content=[part, {"type": "text", "text": "hi"}]))
    assert response.status_code == 200, response.text
    assert fake_upstream.history[-1].body["messages"][0]["content"][0] == part


@pytest.mark.parametrize("body", [{"model": "fake", "prompt": [[1, 2], [3]]},
                                  {"model": "fake", "prompt": [1, 2]},
                                  {"model": "fake", "prompt": ["a", "b"]}])
async def test_token_prompts_still_pass(api: httpx.AsyncClient, fake_upstream: FakeOpenAI,
                                        body: dict[str, Any]) -> None:
    response = await api.post("/v1/completions", json=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("query", ["limit=²", "limit=٣", "limit=0", "limit=1001", "limit=1e3",
                                   "limit=" + "9" * 5000, "after=1_000", "after=%207",
                                   "after=1-2-3", "after=٣", "after=" + "9" * 21,
                                   "after=18446744073709551616", "after=-1"])
async def test_bad_audit_arguments_are_400(api: httpx.AsyncClient, query: str) -> None:
    response = await api.get(f"/v1/audit?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == query.split("=")[0]


async def test_a_huge_model_name_is_cut_in_the_404(settings_for: Callable[..., Settings],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    aliases = {f"alias-{i:03d}": {"model": "local/echo"} for i in range(60)}
    app = create_app(settings_for(models=aliases), components=factory_with(MarkPurifier()))
    name = "m" * 65536
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            chat_404 = await client.post(CHAT, json={**chat(), "model": name})
            get_404 = await client.get(f"/v1/models/{name[:60000]}")
    for response in (chat_404, get_404):
        assert response.status_code == 404
        message = response.json()["error"]["message"]
        assert len(response.content) < 1500, len(response.content)
        assert "characters)" in message
        assert "and 45 more" in message  # 60 aliases + 2 fakes + 3 built-ins, 20 listed
    line = next(r for r in caplog.records if r.name == "llamos.request")
    assert len(line.model) < 200  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_head_probes_answer_200(api: httpx.AsyncClient, path: str) -> None:
    response = await api.head(path)
    assert response.status_code == 200


async def test_local_embeddings_refuse_more_dimensions_than_any_real_model(
        settings_for: Callable[..., Settings]) -> None:
    """Found by bench/fuzz_gateway.py: `dimensions: 33203` made an 81-byte request into a
    308 KB reply from `local/echo`."""
    app = create_app(settings_for(), components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            body = {"model": "local/echo", "input": "x"}
            huge = await client.post("/v1/embeddings", json={**body, "dimensions": 33203})
            largest = await client.post("/v1/embeddings", json={**body, "dimensions": 3072})
    assert huge.status_code == 400, huge.text
    assert huge.json()["error"]["param"] == "dimensions"
    assert largest.status_code == 200
    assert len(largest.json()["data"][0]["embedding"]) == 3072
