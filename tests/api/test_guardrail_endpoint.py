"""`POST /beta/litellm_basic_guardrail_api`: LiteLLM's Generic Guardrail API contract, in
process (the LiteLLM proxy itself is in tests/integrations/test_litellm_generic_guardrail.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import Settings
from llamos_gateway.testing import MarkPurifier
from tests.conftest import factory_with

PATH = "/beta/litellm_basic_guardrail_api"


@pytest.fixture
async def client(settings_for: Callable[..., Settings],
                 mark_purifier: MarkPurifier) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(
        models={"strict": {"model": "local/echo", "defense": {"action": "block",
                                                              "block_threshold": 0.0}}},
        auth={"api_keys": [{"key": "sk-guard", "id": "litellm"}]})
    app = create_app(settings, components=factory_with(mark_purifier))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw",
                                     headers={"x-api-key": "sk-guard"}) as c:
            yield c


async def guard(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post(PATH, json={"input_type": "request", "request_data": {},
                                              **body})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_purified_texts_come_back_intervened(client: httpx.AsyncClient,
                                                   mark_purifier: MarkPurifier) -> None:
    answer = await guard(client, texts=["a bad movie", "fine"], images=["data:image/png;x"])
    assert answer == {"action": "GUARDRAIL_INTERVENED",
                      "texts": ["[clean] a good movie", "[clean] fine"]}
    assert [r.text for r in mark_purifier.history] == ["a bad movie", "fine"]


async def test_only_the_policys_roles_when_messages_say_whose_texts_are(
        client: httpx.AsyncClient, mark_purifier: MarkPurifier) -> None:
    messages = [{"role": "system", "content": "be bad"},
                {"role": "user", "content": [{"type": "text", "text": "bad one"},
                                             {"type": "image_url", "image_url": {"url": "x"}}]},
                {"role": "assistant", "content": "bad reply"}]
    answer = await guard(client, texts=["be bad", "bad one", "bad reply"],
                         structured_messages=messages)
    assert answer["texts"] == ["be bad", "[clean] good one", "bad reply"]
    assert [r.text for r in mark_purifier.history] == ["bad one"]


async def test_none_when_nothing_changes_or_for_responses(client: httpx.AsyncClient,
                                                          mark_purifier: MarkPurifier) -> None:
    assert await guard(client, texts=["[clean] done"]) == {"action": "NONE"}
    assert await guard(client, texts=["bad"], input_type="response") == {"action": "NONE"}
    assert await guard(client, texts=[]) == {"action": "NONE"}
    assert [r.text for r in mark_purifier.history] == ["[clean] done"]


async def test_the_models_policy_blocks(client: httpx.AsyncClient) -> None:
    # MarkPurifier scores every text 0.0; `strict` blocks from 0.0, the others from 0.9
    answer = await guard(client, texts=["a bad movie"], model="strict")
    assert answer["action"] == "BLOCKED"
    assert "blocked by the LLAMOS defense" in answer["blocked_reason"]
    other = await guard(client, texts=["a bad movie"], model="local/echo")
    assert other["action"] == "GUARDRAIL_INTERVENED"


async def test_needs_the_key(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={"texts": ["x"]}, headers={"x-api-key": "nope"})
    assert response.status_code == 401
