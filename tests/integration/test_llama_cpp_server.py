"""llama-cpp-python's real server (the session's `llama_cpp_server`) as the gateway's upstream:
chat (JSON and streamed), completions, embeddings as far as the server supports them, and the
defense model of the LLAMOS agent. The official `openai` SDK is the client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from llamos_gateway.settings import load_settings

pytestmark = pytest.mark.slow


def settings(server: str, **overrides: Any) -> Any:
    base: dict[str, Any] = {
        "models": {"smol": {"model": "openai/smollm2", "api_base": server}},
        "defense": {"backend": "passthrough"}, "limits": {"max_retries": 0},
        "audit": {"enabled": False}}
    return load_settings(**{**base, **overrides})


@pytest.fixture
def sdk(llama_cpp_server: str, serve_gateway: Callable[..., str]) -> openai.OpenAI:
    url = serve_gateway(settings(llama_cpp_server))
    return openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0, timeout=120)


def test_chat_through_the_gateway(sdk: openai.OpenAI) -> None:
    # the SDK sends no request id of its own; the gateway makes one and must not forward it
    raw = sdk.chat.completions.with_raw_response.create(
        model="smol", max_tokens=8, temperature=0,
        messages=[{"role": "user", "content": "Say hello."}],
        extra_headers={"x-request-id": "client-not-a-uuid"})
    completion = raw.parse()
    assert raw.headers["x-request-id"] == "client-not-a-uuid"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.prompt_tokens > 0


def test_streamed_chat(sdk: openai.OpenAI) -> None:
    chunks = list(sdk.chat.completions.create(
        model="smol", max_tokens=8, temperature=0, stream=True,
        messages=[{"role": "user", "content": "Count to three."}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    assert any(c.choices and c.choices[0].finish_reason for c in chunks)


def test_completions(sdk: openai.OpenAI) -> None:
    completion = sdk.completions.create(model="smol", prompt="One, two,", max_tokens=4,
                                        temperature=0)
    assert completion.choices[0].text
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_embeddings_as_far_as_the_server_supports_them(sdk: openai.OpenAI) -> None:
    """Served without `--embedding` (one llama.cpp context cannot both generate and embed),
    the server answers embeddings with a 500 and its reason: the gateway reports it as the
    upstream's failure (502) with the server's own message."""
    with pytest.raises(openai.APIStatusError) as caught:
        sdk.embeddings.create(model="smol", input="a fine film")
    assert caught.value.status_code == 502
    assert "upstream smol: Llama model must be created with embedding=True" in caught.value.message


def test_the_server_as_the_defense_model(llama_cpp_server: str,
                                         serve_gateway: Callable[..., str]) -> None:
    """The agent's request reaches the server and is answered: purified, or (a 135M model)
    an unusable reply counted under fail-open, never a refused request."""
    url = serve_gateway(settings(llama_cpp_server, defense={
        "backend": "llamos", "model": "smol", "prompt_set": "compact", "max_retries": 0,
        "response_format": "off", "timeout_s": 120}))
    reply = httpx.post(url + "/purify", json={"texts": ["the film is a real delihgt ."],
                                              "task": "sentiment"}, timeout=180)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["backend"] == "llamos"
    assert body["fail_open"] in (None, "defense_unparseable"), body
    if body["fail_open"] is None:
        assert body["results"][0]["agent_called"] is True
