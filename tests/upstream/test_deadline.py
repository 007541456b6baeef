"""The upstream deadline (`timeout_s`, see `upstream.deadline`) on both upstream paths, and a
client that leaves a non-streaming request cancelling the upstream call."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI, Reply
from tests.conftest import factory_with

CHAT = "/v1/chat/completions"
PATHS = ["passthrough", "litellm"]


def chat(model: str, *, stream: bool = False) -> dict[str, Any]:
    return {"model": model, "stream": stream,
            "messages": [{"role": "user", "content": "hello " * 40}]}


def slow_settings(settings_for: Callable[..., Settings], fake_url: str,
                  timeout_s: float) -> Settings:
    return settings_for(models={
        "passthrough": {"model": "openai/fake-model", "api_base": fake_url,
                        "timeout_s": timeout_s},
        "litellm": {"model": "openai/fake-model", "api_base": fake_url, "passthrough": False,
                    "timeout_s": timeout_s, "max_retries": 0}})


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, components=factory_with())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw",
                                     timeout=30) as client:
            yield client


@pytest.mark.parametrize("path", PATHS)
async def test_a_trickled_body_is_cut_at_the_deadline(
        settings_for: Callable[..., Settings], fake_url: str, fake_upstream: FakeOpenAI,
        path: str) -> None:
    # every piece arrives well within the timeout; the whole body would take ~8 s
    fake_upstream.enqueue(Reply(trickle_bytes=40, trickle_delay_s=0.4))
    async with gateway(slow_settings(settings_for, fake_url, 1.0)) as client:
        started = time.monotonic()
        response = await client.post(CHAT, json=chat(path))
        took = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert took < 3.0


@pytest.mark.parametrize("path", PATHS)
async def test_a_stream_that_never_starts_times_out(
        settings_for: Callable[..., Settings], fake_url: str, fake_upstream: FakeOpenAI,
        path: str) -> None:
    fake_upstream.enqueue(Reply(delay_s=5.0))
    async with gateway(slow_settings(settings_for, fake_url, 0.5)) as client:
        started = time.monotonic()
        response = await client.post(CHAT, json=chat(path, stream=True))
        took = time.monotonic() - started
    assert took < 2.5
    if response.status_code == 200:  # a stream already started: the error is an SSE event
        assert b'"upstream_timeout"' in response.content
    else:
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "upstream_timeout"


@pytest.mark.parametrize("path", PATHS)
async def test_a_stream_idle_past_the_deadline_ends_with_an_error_event(
        settings_for: Callable[..., Settings], fake_url: str, fake_upstream: FakeOpenAI,
        path: str) -> None:
    fake_upstream.enqueue(Reply(chunks=["a", "b", "c"], chunk_delay_s=2.0))
    async with gateway(slow_settings(settings_for, fake_url, 0.6)) as client:
        started = time.monotonic()
        response = await client.post(CHAT, json=chat(path, stream=True))
        took = time.monotonic() - started
    assert response.status_code == 200
    assert b'"upstream_timeout"' in response.content
    assert b"[DONE]" not in response.content
    assert took < 2.0


@pytest.mark.parametrize("path", PATHS)
async def test_a_stream_that_keeps_sending_has_no_total_limit(
        settings_for: Callable[..., Settings], fake_url: str, fake_upstream: FakeOpenAI,
        path: str) -> None:
    fake_upstream.enqueue(Reply(chunks=list("abcdefgh"), chunk_delay_s=0.25))
    async with gateway(slow_settings(settings_for, fake_url, 0.8)) as client:
        started = time.monotonic()
        response = await client.post(CHAT, json=chat(path, stream=True))
        took = time.monotonic() - started
    assert response.status_code == 200
    assert took > 1.6  # longer than the timeout in all
    assert b"[DONE]" in response.content
    assert b"upstream_timeout" not in response.content


@pytest.mark.parametrize("path", PATHS)
def test_a_client_that_leaves_cancels_the_upstream_call(
        settings_for: Callable[..., Settings], fake_url: str, fake_upstream: FakeOpenAI,
        serve_gateway: Callable[..., str], path: str) -> None:
    fake_upstream.enqueue(Reply(delay_s=20.0))
    base = serve_gateway(slow_settings(settings_for, fake_url, 60.0))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base}/chat/completions", json=chat(path), timeout=1.0)
    deadline = time.monotonic() + 5.0
    while fake_upstream.cancelled_requests == 0:  # poll a condition, not a fixed sleep
        assert time.monotonic() < deadline, "the upstream call was not cancelled"
        time.sleep(0.02)
    assert fake_upstream.cancelled_requests == 1
