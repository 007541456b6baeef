"""The official `openai` SDK against the gateway served by uvicorn on 127.0.0.1, with the fake
upstream on 127.0.0.1 behind it. Both upstream paths (httpx pass-through and litellm)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import openai
import pytest

from llamos_gateway.settings import Settings
from llamos_gateway.testing import FailingPurifier, FakeOpenAI, MarkPurifier, Reply

pytestmark = pytest.mark.slow
PATHS = ["fake", "fake-litellm"]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.fixture
def gateway_url(settings_for: Callable[..., Settings], serve_gateway: Callable[..., str]) -> str:
    return serve_gateway(settings_for(), MarkPurifier())


def client(url: str, **kw: object) -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", PATHS)
def test_sync_chat_purified_with_tools(gateway_url: str, fake_upstream: FakeOpenAI,
                                       model: str) -> None:
    fake_upstream.enqueue(Reply(tool_calls=[{"id": "call_1", "type": "function", "function": {
        "name": "get_weather", "arguments": '{"city": "Paris"}'}}]))
    raw = client(gateway_url).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "a bad day in Paris?"}],
        tools=TOOLS, tool_choice="auto", seed=3, extra_body={"x_custom": {"a": 1}})
    completion = raw.parse()
    assert raw.headers["x-llamos-changed"] == "true"
    assert raw.headers["x-llamos-defense"] == "enforce"
    sent = fake_upstream.history[-1].body
    assert sent["messages"][-1]["content"] == "[clean] a good day in Paris?"
    assert sent["tools"] == TOOLS
    assert sent["tool_choice"] == "auto"
    assert sent["seed"] == 3
    assert sent["x_custom"] == {"a": 1}
    call = completion.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "get_weather"
    assert completion.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("model", PATHS)
async def test_async_chat_and_stream(gateway_url: str, fake_upstream: FakeOpenAI,
                                     model: str) -> None:
    aclient = openai.AsyncOpenAI(base_url=gateway_url, api_key="sk-test", max_retries=0)
    completion = await aclient.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "bad"}])
    assert completion.choices[0].message.content == "[clean] good"
    fake_upstream.enqueue(Reply(chunks=[f"w{i} " for i in range(40)]))
    stream = await aclient.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "bad"}], stream=True)
    pieces = [c.choices[0].delta.content async for c in stream
              if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == "".join(f"w{i} " for i in range(40))  # complete and in order
    assert fake_upstream.history[-1].body["messages"][0]["content"] == "[clean] good"
    await aclient.close()


def test_sync_stream_and_completions_and_embeddings(gateway_url: str,
                                                    fake_upstream: FakeOpenAI) -> None:
    sdk = client(gateway_url)
    with sdk.chat.completions.with_streaming_response.create(
            model="fake", messages=[{"role": "user", "content": "bad"}], stream=True) as response:
        assert response.headers["x-llamos-changed"] == "true"
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    legacy = sdk.completions.create(model="fake", prompt="bad prompt")
    assert legacy.choices[0].text == "[clean] good prompt"
    vectors = sdk.embeddings.create(model="fake", input="bad")
    assert vectors.data[0].embedding == [0.1, 0.2, 0.3]


def test_local_echo_shows_what_the_target_sees(gateway_url: str) -> None:
    sdk = client(gateway_url)
    echoed = sdk.chat.completions.create(model="local/echo",
                                         messages=[{"role": "user", "content": "bad input"}])
    assert echoed.choices[0].message.content == "[clean] good input"
    stream = sdk.chat.completions.create(model="local/echo", stream=True,
                                         stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": "one bad two"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "[clean] one good two"
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("model", PATHS)
def test_errors_raise_typed_sdk_exceptions(gateway_url: str, fake_upstream: FakeOpenAI,
                                           model: str) -> None:
    sdk = client(gateway_url)
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.create(model="no-such-model", messages=messages)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        sdk.chat.completions.create(model=model, messages=[])
    fake_upstream.enqueue(Reply(status=429, error="slow down", error_type="rate_limit_error"))
    with pytest.raises(openai.RateLimitError):
        sdk.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
    fake_upstream.enqueue(Reply(status=500, error="boom"))
    with pytest.raises(openai.APIStatusError) as info:
        sdk.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
    assert info.value.status_code == 502


def test_auth_and_body_limit_and_timeout(settings_for: Callable[..., Settings],
                                         serve_gateway: Callable[..., str],
                                         fake_upstream: FakeOpenAI, fake_url: str) -> None:
    settings = settings_for(auth={"api_keys": ["sk-right"]},
                            limits={"max_body_bytes": 4096, "max_retries": 0},
                            models={"slow": {"model": "openai/m", "api_base": fake_url,
                                             "timeout_s": 0.3}})
    url = serve_gateway(settings, MarkPurifier())
    messages = [{"role": "user", "content": "x"}]
    with pytest.raises(openai.AuthenticationError):
        client(url).chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]
    good = openai.OpenAI(base_url=url, api_key="sk-right", max_retries=0)
    with pytest.raises(openai.APIStatusError) as too_big:
        good.chat.completions.create(model="fake",
                                     messages=[{"role": "user", "content": "y" * 9000}])
    assert too_big.value.status_code == 413
    fake_upstream.enqueue(Reply(delay_s=3.0))
    with pytest.raises(openai.APIStatusError) as slow:
        good.chat.completions.create(model="slow", messages=messages)  # type: ignore[arg-type]
    assert slow.value.status_code == 504


def test_fail_closed_is_503(settings_for: Callable[..., Settings],
                            serve_gateway: Callable[..., str]) -> None:
    url = serve_gateway(settings_for(defense={"fail_policy": "closed"}), FailingPurifier())
    with pytest.raises(openai.InternalServerError) as info:
        client(url).chat.completions.create(model="fake",
                                            messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 503
    assert info.value.code == "defense_unavailable"


def test_client_disconnect_cancels_upstream_stream(gateway_url: str,
                                                   fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(chunks=[f"c{i}" for i in range(200)], chunk_delay_s=0.05))
    with httpx.Client(timeout=10) as http, http.stream(
            "POST", f"{gateway_url}/chat/completions",
            json={"model": "fake", "stream": True,
                  "messages": [{"role": "user", "content": "x"}]}) as response:
        for n, _ in enumerate(response.iter_lines()):
            if n >= 3:
                break  # leave after a few chunks: the connection is closed here
    deadline = time.monotonic() + 5.0
    while fake_upstream.cancelled_streams == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake_upstream.cancelled_streams == 1
    assert fake_upstream.completed_streams == 0
