"""The LLM-target path: prompt, chat model, answer parsing, cache; in-process and over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import numpy as np
import orjson
import pytest

from llamos_gateway.errors import UpstreamError
from llamos_gateway.evaluation.datasets import Dataset, bundled_task
from llamos_gateway.evaluation.llm_target import (
    GatewayChat,
    HttpChat,
    LLMTarget,
    UpstreamChat,
    logprob_scores,
    parse_answer,
    render_prompt,
)
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.query_cache import DiskQueryCache, MemoryQueryCache
from llamos_gateway.evaluation.sentiment_model import SentimentChatModel, sentence_of
from llamos_gateway.testing import free_port
from llamos_gateway.upstream import UpstreamCall

SST2 = ("negative", "positive")
RTE = ("entailment", "not_entailment")


@pytest.mark.parametrize(("answer", "labels", "expected"), [
    ("positive", SST2, 1), ("Negative.", SST2, 0), ("The sentiment is 'positive'", SST2, 1),
    ("positive or negative", SST2, -1), ("I cannot tell", SST2, -1), ("", SST2, -1),
    ("not_entailment", RTE, 1), ("Not entailment", RTE, 1), ("entailment", RTE, 0),
    ("entailment or not_entailment", RTE, -1),
])
def test_parse_answer(answer: str, labels: tuple[str, ...], expected: int) -> None:
    assert parse_answer(answer, labels) == expected


def test_logprobs_give_label_probabilities() -> None:
    choice = {"logprobs": {"content": [{"token": "positive", "logprob": -0.1, "top_logprobs": [
        {"token": "positive", "logprob": -0.1}, {"token": " neg", "logprob": -2.4},
        {"token": "maybe", "logprob": -5.0}]}]}}
    scores = logprob_scores(choice, SST2)
    assert scores is not None and scores.argmax() == 1 and np.isclose(scores.sum(), 1.0)
    assert logprob_scores({"logprobs": None}, SST2) is None


def test_prompt_carries_the_task_description_and_the_text() -> None:
    task = bundled_task("sst2")
    prompt = render_prompt(task, "a fine film")
    assert prompt.startswith(task.description) and prompt.endswith("Sentence: a fine film\nAnswer:")
    assert sentence_of(prompt) == "a fine film"
    pair = render_prompt(bundled_task("rte"), ("A man sleeps.", "A man is awake."))
    assert "Sentence1: A man sleeps.\nSentence2: A man is awake." in pair


async def test_sentiment_chat_model_answers_in_openai_shape(
        classifier: LocalSentimentClassifier) -> None:
    model = SentimentChatModel(classifier)
    body = {"model": "local/sst2-sentiment",
            "messages": [{"role": "user", "content": "a gorgeous , witty , seductive movie ."}]}
    reply = orjson.loads((await model.complete(UpstreamCall("chat/completions", body))).content)
    assert reply["object"] == "chat.completion"
    assert reply["choices"][0]["message"]["content"] == "positive"
    chunks = [c async for c in await model.stream(UpstreamCall("chat/completions",
                                                               {**body, "stream": True}))]
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert b"positive" in b"".join(chunks)


async def test_llm_target_agrees_with_the_classifier(classifier: LocalSentimentClassifier,
                                                     sst2: Dataset) -> None:
    cache = MemoryQueryCache()
    target = LLMTarget(UpstreamChat(SentimentChatModel(classifier)), "local/sst2-sentiment",
                       sst2.task, cache=cache, concurrency=4)
    texts = [e.input for e in sst2.examples[:20]]
    via_chat = (await target.predict(texts)).predicted
    assert via_chat.tolist() == classifier.predict_sync(texts).predicted.tolist()
    assert target.queries == 20
    again = await target.predict(texts)
    assert again.predicted.tolist() == via_chat.tolist()
    assert target.queries == 20 and target.cache_hits == 20  # repeated queries are free


async def test_llm_target_over_http(classifier: LocalSentimentClassifier, sst2: Dataset) -> None:
    model = SentimentChatModel(classifier)

    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/chat/completions"
        reply = await model.complete(UpstreamCall("chat/completions",
                                                  orjson.loads(request.content)))
        return httpx.Response(200, content=reply.content)

    chat = HttpChat("http://gateway.test/v1", transport=httpx.MockTransport(handler))
    target = LLMTarget(chat, "local/sst2-sentiment", sst2.task)
    try:
        scores = await target.predict(["a gorgeous film", "a tedious , dull mess"])
    finally:
        await chat.aclose()
    assert scores.predicted.tolist() == [1, 0]


async def test_unreachable_target_is_an_upstream_error(sst2: Dataset) -> None:
    chat = HttpChat(f"http://127.0.0.1:{free_port()}/v1", timeout_s=2.0)
    target = LLMTarget(chat, "gpt-x", sst2.task)
    try:
        with pytest.raises(UpstreamError, match="target unreachable at http://127.0.0.1"):
            await target.predict(["hello"])
    finally:
        await chat.aclose()


async def test_disk_cache_round_trip(tmp_path: object) -> None:
    from pathlib import Path

    cache = DiskQueryCache(Path(str(tmp_path)) / "q.sqlite3")
    await cache.set("k", b"\x01\x02")
    assert await cache.get("k") == b"\x01\x02" and await cache.get("other") is None
    cache.close()


@pytest.fixture
async def gateway(monkeypatch: pytest.MonkeyPatch,
                  classifier: LocalSentimentClassifier) -> AsyncIterator[object]:
    from llamos_gateway import wiring
    from llamos_gateway.defense.protocol import PassthroughPurifier
    from llamos_gateway.settings import Settings

    builtins = wiring.local_models()
    assert "local/sst2-sentiment" in builtins
    # the built-in entry, but with the classifier this test session already trained
    monkeypatch.setattr(wiring, "local_models", lambda instances=1: {
        **builtins, "local/sst2-sentiment": lambda: SentimentChatModel(classifier)})
    async with wiring.open_components(Settings(), purifier=PassthroughPurifier()) as components:
        yield components.gateway


async def test_llm_target_through_the_in_process_gateway(
        gateway: object, sst2: Dataset, classifier: LocalSentimentClassifier) -> None:
    target = LLMTarget(GatewayChat(gateway), "local/sst2-sentiment", sst2.task)
    texts = [e.input for e in sst2.examples[:10]]
    assert (await target.predict(texts)).predicted.tolist() == \
        classifier.predict_sync(texts).predicted.tolist()
