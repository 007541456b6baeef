"""Long input: a purifier decorator that splits texts over `max_chars` on sentence
boundaries and purifies the pieces with bounded concurrency, or skips them with a reason.

Pieces are purified independently and joined back with their original separators, so
edits keep their offsets into the whole text.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from typing import Literal

from llamos_gateway.defense.decorator import PurifierDecorator
from llamos_gateway.defense.protocol import Edit, Purifier, PurifyRequest, PurifyResult

LONG_TEXT_SKIPPED = "long_text_skipped"
LONG_TEXT_SPLIT = "long_text_split"

# A sentence ends at . ! ? (optionally closed by quotes/brackets) followed by whitespace,
# or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def split_sentences(text: str, max_chars: int) -> list[str]:
    """Pieces of `text`, each at most `max_chars` long, whose concatenation is `text`.

    Sentences are packed greedily; a sentence longer than `max_chars` is cut at whitespace,
    or hard-cut when it has none.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        sentences.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        sentences.append(text[start:])
    pieces: list[str] = []
    current = ""
    for sentence in sentences:
        for part in _cut(sentence, max_chars):
            if current and len(current) + len(part) > max_chars:
                pieces.append(current)
                current = ""
            current += part
    if current:
        pieces.append(current)
    return pieces


def _cut(sentence: str, max_chars: int) -> list[str]:
    parts = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars) + 1 or max_chars
        parts.append(sentence[:cut])
        sentence = sentence[cut:]
    parts.append(sentence)
    return parts


class SegmentingPurifier(PurifierDecorator):
    """Wraps a purifier; texts longer than `max_chars` are split (`mode="split"`) or passed
    through unchanged with the reason `long_text_skipped` (`mode="skip"`)."""

    def __init__(self, inner: Purifier, *, max_chars: int = 4000,
                 mode: Literal["split", "skip"] = "split", concurrency: int = 8) -> None:
        super().__init__(inner)
        self._max_chars = max_chars
        self._mode = mode
        self._concurrency = concurrency

    @property
    def cache_identity(self) -> str:
        return f"{self.inner.cache_identity}|long_text={self._mode}:{self._max_chars}"

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        if len(request.text) <= self._max_chars:
            return await self.inner.purify(request)
        if self._mode == "skip":
            return PurifyResult(original=request.text, purified=request.text, backend=self.name,
                                reasons=(LONG_TEXT_SKIPPED,))
        started = time.perf_counter()
        pieces = split_sentences(request.text, self._max_chars)
        gate = asyncio.Semaphore(self._concurrency)

        async def one(piece: str) -> PurifyResult:
            if not piece.strip():
                return PurifyResult(original=piece, purified=piece, backend=self.name)
            async with gate:
                return await self.inner.purify(replace(request, text=piece))

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(piece)) for piece in pieces]
        except ExceptionGroup as failed:
            # Callers expect the piece's own error (DefenseUnavailable), not a group.
            raise failed.exceptions[0] from None
        return _join(request.text, [t.result() for t in tasks], self.name).with_timing(started)


def _join(original: str, results: list[PurifyResult], backend: str) -> PurifyResult:
    edits: list[Edit] = []
    reasons: list[str] = [LONG_TEXT_SPLIT]
    offset = 0
    for result in results:
        edits.extend(replace(e, start=e.start + offset, end=e.end + offset) for e in result.edits)
        reasons.extend(r for r in result.reasons if r not in reasons)
        offset += len(result.original)
    fallbacks = [r.fallback for r in results if r.fallback]
    versions = {r.prompt_version for r in results if r.prompt_version}
    return PurifyResult(
        original=original, purified="".join(r.purified for r in results), backend=backend,
        edits=tuple(edits), reasons=tuple(reasons),
        suspicious=any(r.suspicious for r in results),
        score=max((r.score for r in results), default=0.0),
        prompt_version=versions.pop() if len(versions) == 1 else None,
        fallback=fallbacks[0] if fallbacks else None,
        agent_called=any(r.agent_called for r in results),
        defense_tokens=sum(r.defense_tokens for r in results),
        extra={"pieces": len(results),
               "prompt_tokens": sum(r.prompt_tokens for r in results)},
    )
