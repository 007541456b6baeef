"""The built-in `local/smollm2` (the bundled GGUF in process) answering through the gateway, to
the official `openai` SDK: chat, streamed chat, completions, embeddings, usage, and as the
defense model of the LLAMOS agent. Every test shares the session's loaded model."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from llamos_gateway import wiring
from llamos_gateway.localllm import LocalModel
from llamos_gateway.routing import plan_routes
from llamos_gateway.settings import Settings, load_settings
from llamos_gateway.upstream.llamacpp import LlamaCppUpstream

pytestmark = pytest.mark.slow


@pytest.fixture
def shared_model(monkeypatch: pytest.MonkeyPatch, local_model: LocalModel) -> LocalModel:
    """`local/smollm2` built on the session's model instead of loading its own copy."""
    builtins = wiring.local_models()
    monkeypatch.setattr(wiring, "local_models", lambda instances=1: {
        **builtins, "local/smollm2": lambda: LlamaCppUpstream(
            "local/smollm2", open_model=lambda path: local_model)})
    return local_model


@pytest.fixture
def gateway(shared_model: LocalModel, serve_gateway: Callable[..., str]) -> Callable[..., str]:
    def start(**overrides: Any) -> str:
        base: dict[str, Any] = {"defense": {"backend": "passthrough"}, "audit": {"enabled": False}}
        return serve_gateway(load_settings(**{**base, **overrides}))

    return start


@pytest.fixture
def client(gateway: Callable[..., str]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway(), api_key="sk-test", max_retries=0) as sdk:
        yield sdk


def test_listed_and_answers_chat_with_usage(client: openai.OpenAI) -> None:
    assert "local/smollm2" in {m.id for m in client.models.list()}
    completion = client.chat.completions.create(
        model="local/smollm2", max_tokens=12, temperature=0,
        messages=[{"role": "user", "content": "What is the capital of France?"}])
    assert completion.choices[0].message.content
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 5 and 0 < usage.completion_tokens <= 12
    assert completion.choices[0].finish_reason in ("stop", "length")


def test_first_token_logprobs_for_label_scoring(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="local/smollm2", max_tokens=4, temperature=0, logprobs=True, top_logprobs=20,
        messages=[{"role": "user", "content": "Is 'a wonderful film' positive or negative? "
                                              "Answer in one word."}])
    logprobs = completion.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    (first,) = logprobs.content  # the first token only (documented)
    top = first.top_logprobs
    assert len(top) == 20 and top[0].token == first.token
    assert [t.logprob for t in top] == sorted((t.logprob for t in top), reverse=True)
    assert all(t.logprob <= 0 for t in top) and sum(math.exp(t.logprob) for t in top) <= 1.0001
    assert {"positive", "negative"} & {t.token.strip().lower() for t in top}
    plain = client.chat.completions.create(
        model="local/smollm2", max_tokens=2, messages=[{"role": "user", "content": "Hi"}])
    assert plain.choices[0].logprobs is None
    with pytest.raises(openai.BadRequestError, match="top_logprobs"):
        client.chat.completions.create(
            model="local/smollm2", max_tokens=2, logprobs=True, top_logprobs=21,
            messages=[{"role": "user", "content": "Hi"}])


def test_streamed_chat_arrives_in_pieces_with_usage(client: openai.OpenAI) -> None:
    # (not compared with a non-streamed answer: with the prefix cache on, greedy text may
    # differ in the last bits of the reused state; see LocalModel)
    chunks = list(client.chat.completions.create(
        model="local/smollm2", max_tokens=10, temperature=0, seed=1,
        messages=[{"role": "user", "content": "Name a colour."}],
        stream=True, stream_options={"include_usage": True}))
    pieces = [c.choices[0].delta.content for c in chunks
              if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1
    assert chunks[-2].choices[0].finish_reason == "stop"
    usage = chunks[-1].usage
    assert usage is not None and 0 < usage.completion_tokens <= 11 and usage.prompt_tokens > 5


def test_completions_and_embeddings(client: openai.OpenAI) -> None:
    completion = client.completions.create(model="local/smollm2", prompt="One, two, three,",
                                           max_tokens=5, temperature=0)
    assert completion.choices[0].text
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    embedded = client.embeddings.create(model="local/smollm2", input=["a good movie", "a cat"])
    first, second = (d.embedding for d in embedded.data)
    assert len(first) == len(second) > 16
    assert first != second


def test_defense_model_purifies_through_the_agent(gateway: Callable[..., str]) -> None:
    url = gateway(defense={"backend": "llamos", "model": "local/smollm2",
                           "prompt_set": "compact", "timeout_s": 120})
    reply = httpx.post(url + "/purify",
                       json={"texts": ["the film is a real delihgt ."], "task": "sentiment"},
                       timeout=180)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["backend"] == "llamos" and body["fail_open"] is None
    result = body["results"][0]
    assert result["agent_called"] is True
    assert result["purified"].strip()


def test_a_gguf_alias_serves_its_file(shared_model: LocalModel) -> None:
    settings: Settings = load_settings(models={"mine": {
        "model": "local/gguf", "gguf_path": str(shared_model.path)}})
    plan = {p.alias: p for p in plan_routes(settings)}["mine"]
    assert (plan.path, plan.owned_by) == ("local", "llama.cpp")
