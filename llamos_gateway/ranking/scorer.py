"""The scorer seam: log-probabilities of whole texts, batched. Three implementations: the
n-gram model (in process, microseconds), the local GGUF model (in process, a worker thread)
and any OpenAI-compatible `/v1/completions` endpoint that echoes prompt log-probabilities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import orjson

from llamos_gateway.errors import DefenseUnavailable, LlamosError
from llamos_gateway.localllm import LocalModel
from llamos_gateway.ranking.ngram import NgramModel, words
from llamos_gateway.upstream import Upstream, UpstreamCall


class Scorer(Protocol):
    """`logprobs(texts)`: the natural-log probability of each text; only differences between
    texts of one call are compared. `identity` names the model (for cache keys)."""

    @property
    def identity(self) -> str: ...

    async def logprobs(self, texts: Sequence[str]) -> list[float]: ...


class NgramScorer:
    def __init__(self, model: Callable[[], NgramModel], version: str) -> None:
        self._model = model
        self._version = version

    @property
    def identity(self) -> str:
        return f"ngram-{self._version}"

    async def logprobs(self, texts: Sequence[str]) -> list[float]:
        model = self._model()
        return [model.logprob(words(text)) for text in texts]


class LocalScorer:
    """The in-process GGUF model; scoring blocks (and is serialised by the model's lock), so
    it runs in a worker thread."""

    def __init__(self, model: Callable[[], LocalModel]) -> None:
        self._model = model

    @property
    def identity(self) -> str:
        return f"local-{self._model().path.name}"

    async def logprobs(self, texts: Sequence[str]) -> list[float]:
        model = self._model()
        scores = await asyncio.to_thread(model.score, list(texts))
        return [s.logprob for s in scores]


class CompletionsScorer:
    """`POST {api_base}/completions` with `echo: true, logprobs: 0`: the prompt's tokens come
    back with their log-probabilities. One text per request (llama-cpp-python's server takes
    one prompt per call), `concurrency` at a time.

    Two things differ from the textbook request, both for llama-cpp-python's server:
    `max_tokens` is 1, not 0 (it reads 0 as "until the context is full"), and the tokens the
    server generated (`usage.completion_tokens`) are left out of the sum; and `prefix` (the
    model's beginning-of-sequence token as text, `<|im_start|>` for SmolLM2) goes before each
    text: without it, that server pairs each prompt token with the distribution that follows
    it, one position off. A server that adds the BOS itself (vLLM) wants no prefix."""

    def __init__(self, upstream: Upstream, model: str, *, prefix: str = "",
                 timeout_s: float = 20.0, concurrency: int = 8) -> None:
        self._upstream = upstream
        self._model = model
        self._prefix = prefix
        self._timeout_s = timeout_s
        self._limit = asyncio.Semaphore(concurrency)

    @property
    def identity(self) -> str:
        return f"completions-{self._upstream.name}-{self._model}-{self._prefix}"

    async def logprobs(self, texts: Sequence[str]) -> list[float]:
        return list(await asyncio.gather(*(self._one(text) for text in texts)))

    async def _one(self, text: str) -> float:
        body = {"model": self._model, "prompt": self._prefix + text, "echo": True,
                "logprobs": 0, "max_tokens": 1, "temperature": 0.0}
        async with self._limit:
            try:
                reply = await self._upstream.complete(UpstreamCall(
                    "completions", body, timeout_s=self._timeout_s))
            except LlamosError as exc:
                raise DefenseUnavailable(f"ranked scorer: {exc.message}") from exc
        return prompt_logprob(orjson.loads(reply.content))


def prompt_logprob(reply: dict[str, Any]) -> float:
    """The sum of the echoed prompt tokens' log-probabilities: every token's but the
    generated ones at the end (the first has none)."""
    try:
        values = reply["choices"][0]["logprobs"]["token_logprobs"]
        generated = int((reply.get("usage") or {}).get("completion_tokens", 0))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise DefenseUnavailable("ranked scorer: the completions reply has no prompt "
                                 "log-probabilities (echo with logprobs unsupported?)") from exc
    prompt = values[:len(values) - generated] if generated else values
    return float(sum(v for v in prompt if v is not None))
