"""Fixtures for the agent tests: an in-process scripted defense model (`Upstream`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from llamos_gateway.agent import LLMPurifier, PromptSet, load_prompts
from llamos_gateway.errors import LlamosError
from llamos_gateway.settings import PROMPTS_DIR
from llamos_gateway.upstream import UpstreamCall, UpstreamReply


def completion(content: str, tokens: int = 10) -> bytes:
    return json.dumps({
        "id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "defense",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens - 1, "completion_tokens": 1, "total_tokens": tokens},
    }).encode()


def answer(purified: str, changed: bool = True) -> str:
    return json.dumps({"purified": purified, "changed": changed})


class ScriptedDefense:
    """Replies are taken in order; a `LlamosError` instance is raised instead of returned.
    When the queue is empty the model echoes its input back as unchanged."""

    name = "scripted-defense"

    def __init__(self) -> None:
        self.history: list[UpstreamCall] = []
        self._queue: list[str | bytes | LlamosError] = []

    def enqueue(self, *replies: str | bytes | LlamosError) -> None:
        self._queue.extend(replies)

    def answer(self, purified: str, changed: bool = True) -> None:
        self.enqueue(answer(purified, changed))

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        self.history.append(call)
        if not self._queue:
            return UpstreamReply(200, completion(answer(_delimited(call), changed=False)))
        reply = self._queue.pop(0)
        if isinstance(reply, LlamosError):
            raise reply
        content = reply if isinstance(reply, bytes) else completion(reply)
        return UpstreamReply(200, content)

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def _delimited(call: UpstreamCall) -> str:
    text: Any = call.body["messages"][-1]["content"]
    inner = text.split(">>>\n", 1)[1]
    return str(inner.rsplit("\n<<<END ", 1)[0])


@pytest.fixture
def defense() -> ScriptedDefense:
    return ScriptedDefense()


@pytest.fixture
def prompts() -> PromptSet:
    return load_prompts(PROMPTS_DIR / "llamos", examples=4)


@pytest.fixture
def make_purifier(defense: ScriptedDefense, prompts: PromptSet) -> Callable[..., LLMPurifier]:
    def make(**kw: Any) -> LLMPurifier:
        kw.setdefault("max_retries", 1)
        kw.setdefault("timeout_s", 5.0)
        return LLMPurifier(upstream=defense, model="defense-model", prompts=prompts, **kw)

    return make
