"""`local/sst2-sentiment` as a built-in chat model of the gateway.

Answers `positive` or `negative` for the last user message, so the LLM-target path (prompt,
gateway, answer parsing) runs offline end to end. When the message follows the eval prompt
(task description, then `Sentence: ...`, then `Answer:`), only the sentence is classified.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from llamos_gateway.evaluation.local_model import LABELS, MODEL_NAME, LocalSentimentClassifier
from llamos_gateway.upstream import UpstreamCall, UpstreamReply
from llamos_gateway.upstream.local import LocalChatModel

_SENTENCE = re.compile(r"(?:^|\n)\s*(?:Sentence|Text)\s*:\s*(?P<text>.*?)"
                       r"\s*(?:\n\s*Answer\s*:?\s*)?$",
                       re.DOTALL | re.IGNORECASE)


def sentence_of(prompt: str) -> str:
    """The text to classify: after a `Sentence:` line when there is one, else the whole prompt."""
    match = _SENTENCE.search(prompt)
    return match.group("text") if match else prompt


class SentimentChatModel(LocalChatModel):
    """An `Upstream`: chat/completions answered by the local TF-IDF sentiment classifier."""

    def __init__(self, classifier: LocalSentimentClassifier | None = None) -> None:
        self._classifier = classifier or LocalSentimentClassifier()
        self._ready = False
        super().__init__(MODEL_NAME, self._answer)

    def _answer(self, prompt: str) -> str:
        scores = self._classifier.predict_sync([sentence_of(prompt)]).scores
        return LABELS[int(scores[0].argmax())]

    async def _load(self) -> None:
        if not self._ready:  # training on first use takes seconds: keep it off the event loop
            await asyncio.to_thread(self._classifier.model)
            self._ready = True

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        await self._load()
        return await super().complete(call)

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        await self._load()
        return await super().stream(call)


def sentiment_model() -> SentimentChatModel:
    """Factory for the gateway's local model table."""
    return SentimentChatModel()
