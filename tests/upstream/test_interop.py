"""Interoperability with real OpenAI-compatible servers, against the testing kit's fake in the
strict shape of llama-cpp-python's server: the gateway's request id is not forwarded unless a
model's config names a header for it, and an error with an empty body says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.errors import UpstreamStatusError
from llamos_gateway.evaluation.datasets import bundled_task
from llamos_gateway.evaluation.llm_target import GatewayChat, LLMTarget
from llamos_gateway.settings import load_settings
from llamos_gateway.testing import FakeOpenAI, Reply, ServedApp
from llamos_gateway.upstream import UpstreamCall
from llamos_gateway.upstream.passthrough import HttpUpstream, build_http_client
from llamos_gateway.wiring import open_components

CHAT = {"model": "strict-model", "messages": [{"role": "user", "content": "hello there"}]}


@pytest.fixture(scope="module")
def strict() -> Iterator[tuple[FakeOpenAI, str]]:
    """A fake that answers 400 with an empty body to a request id that is not a UUID."""
    fake = FakeOpenAI(uuid_request_ids=True, models=("strict-model",))
    with ServedApp(fake) as served:
        yield fake, served.url + "/v1"


@pytest.fixture
def strict_url(strict: tuple[FakeOpenAI, str]) -> str:
    strict[0].reset()
    return strict[1]


def gateway_settings(url: str, **spec: Any) -> Any:
    return load_settings(models={"strict": {"model": "openai/strict-model", "api_base": url,
                                            **spec}},
                         defense={"backend": "passthrough"}, limits={"max_retries": 0},
                         audit={"enabled": False})


@pytest.fixture
async def api(strict_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(gateway_settings(strict_url))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


async def test_the_fake_rejects_what_llama_cpp_rejects(strict_url: str) -> None:
    async with httpx.AsyncClient() as client:
        bad = await client.post(strict_url + "/chat/completions", json=CHAT,
                                headers={"x-request-id": "eval-0123456789abcdef"})
        good = await client.post(strict_url + "/chat/completions", json=CHAT,
                                 headers={"x-request-id": str(uuid.uuid4())})
    assert (bad.status_code, bad.content) == (400, b"")
    assert good.status_code == 200


async def test_a_client_request_id_does_not_reach_the_upstream(
        api: httpx.AsyncClient, strict: tuple[FakeOpenAI, str]) -> None:
    response = await api.post("/v1/chat/completions", json={**CHAT, "model": "strict"},
                              headers={"x-request-id": "client-req-1"})
    assert response.status_code == 200, response.text
    assert response.headers["x-request-id"] == "client-req-1"
    assert "x-request-id" not in strict[0].history[-1].headers


async def test_the_eval_target_works_against_a_uuid_checking_server(strict_url: str) -> None:
    """The regression: `llamos eval --target` sent its `eval-...` request id upstream and a
    llama-cpp-python server refused every query."""
    async with open_components(gateway_settings(strict_url)) as components:
        target = LLMTarget(GatewayChat(components.gateway), "strict", bundled_task("sst2"))
        scores = await target.predict(["a fine film ."])
    assert scores.scores.shape == (1, 2)
    assert target.queries == 1


async def test_a_configured_header_carries_the_request_id(
        strict_url: str, strict: tuple[FakeOpenAI, str]) -> None:
    request_id = str(uuid.uuid4())
    app = create_app(gateway_settings(strict_url, request_id_header="x-request-id"))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client:
        ok = await client.post("/v1/chat/completions", json={**CHAT, "model": "strict"},
                               headers={"x-request-id": request_id})
        refused = await client.post("/v1/chat/completions", json={**CHAT, "model": "strict"},
                                    headers={"x-request-id": "not-a-uuid"})
    assert ok.status_code == 200
    assert strict[0].history[-2].headers["x-request-id"] == request_id
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "upstream strict: HTTP 400 with an empty body"


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_an_empty_error_body_names_the_status(fake_url: str, fake_upstream: FakeOpenAI,
                                                    status: int) -> None:
    fake_upstream.enqueue(Reply(status=status, raw=b""))
    client = build_http_client(max_connections=2, timeout_s=5.0, connect_timeout_s=2.0)
    try:
        upstream = HttpUpstream(name="smol", api_base=fake_url, client=client, max_retries=0)
        with pytest.raises(UpstreamStatusError) as caught:
            await upstream.complete(UpstreamCall("chat/completions", CHAT))
    finally:
        await client.close()
    assert caught.value.status == status
    assert caught.value.message == f"upstream smol: HTTP {status} with an empty body"
