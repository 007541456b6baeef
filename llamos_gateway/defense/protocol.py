"""The defense seam: the `Purifier` protocol, the types it speaks, and the defense vocabulary.

Every defense backend (passthrough, lexical, the LLAMOS agent, tiered) implements
`Purifier.purify`. Decorators (`PurifierDecorator`: caching, segmenting, memo) wrap another
purifier through the same protocol, the way httpx transports compose.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal, Protocol, runtime_checkable

FailPolicy = Literal["open", "closed"]


class DefenseMode(StrEnum):
    ENFORCE = "enforce"
    SHADOW = "shadow"
    OFF = "off"


class Task(StrEnum):
    """The task hints the agent has guidance for (`prompts/llamos/tasks/<task>.md`)."""

    SENTIMENT = "sentiment"
    NLI = "nli"
    PARAPHRASE = "paraphrase"
    QA = "qa"
    CHAT = "chat"


@dataclass(frozen=True, slots=True)
class Edit:
    """One change the purifier made: `text[start:end]` of the input was `before`, is now `after`."""

    start: int
    end: int
    before: str
    after: str
    rule: str

    def as_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "before": self.before,
                "after": self.after, "rule": self.rule}


def output_spans(edits: Sequence[Edit]) -> list[tuple[int, int]]:
    """Where each edit sits in the purified text: `edits` are in the input's coordinates,
    sorted and disjoint, as a `PurifyResult` holds them."""
    spans: list[tuple[int, int]] = []
    shift = 0
    for edit in edits:
        start = edit.start + shift
        spans.append((start, start + len(edit.after)))
        shift += len(edit.after) - (edit.end - edit.start)
    return spans


@dataclass(frozen=True, slots=True)
class ProtectedSpan:
    """A part of the input that word rules left alone: `code`, `markup`, `url`, `email`,
    `path`, `identifier`, `hashtag`, `handle`, `number`, or `script` (another writing system).
    Only character-level repair (invisible, bidi, deletions, marks, look-alikes mixed into
    Latin words) reaches inside it."""

    start: int
    end: int
    kind: str

    def as_dict(self) -> dict[str, object]:
        return {"start": self.start, "end": self.end, "kind": self.kind}


@dataclass(frozen=True, slots=True)
class PurifyRequest:
    """One text to purify, with the optional task hint (`sentiment`, `nli`, `qa`, ...)."""

    text: str
    task: str | None = None
    role: str = "user"


@dataclass(frozen=True, slots=True)
class PurifyResult:
    """What a purifier returns for one text.

    `reasons` holds machine-readable reason codes (`drift_edit_ratio`, `screen_clean`,
    `cache_hit`, ...). `fallback` is set when a guard rejected the backend's output and the
    input was kept. `suspicious`/`score` come from the screening pass where one ran.
    `defense/codec.py` is its one serialisation (cache, audit, API, CLI).
    """

    original: str
    purified: str
    backend: str
    edits: tuple[Edit, ...] = ()
    reasons: tuple[str, ...] = ()
    suspicious: bool = False
    score: float = 0.0
    purify_ms: float = 0.0
    prompt_version: str | None = None
    fallback: str | None = None
    cache_hit: bool = False
    agent_called: bool = False
    defense_tokens: int = 0
    protected: tuple[ProtectedSpan, ...] = ()
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.purified != self.original

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens the defense model read for this text (0 when it was not asked)."""
        value = self.extra.get("prompt_tokens", 0)
        return value if isinstance(value, int) else 0

    def with_timing(self, started: float) -> PurifyResult:
        return replace(self, purify_ms=(time.perf_counter() - started) * 1000.0)


@runtime_checkable
class Purifier(Protocol):
    """Turns possibly adversarial text into clean text. Must never raise for clean input.

    A backend that cannot do its job (defense model down, timed out, unparseable output
    after retries) raises `llamos_gateway.errors.DefenseUnavailable`; `Defense` applies the
    fail-open / fail-closed policy, not the purifier.

    `cache_identity` names everything besides the text and the task that decides the result
    (backend, model, prompt version, guard limits): cache keys are built from it, so two
    purifiers with the same identity must give the same result for the same request.
    """

    name: str

    @property
    def cache_identity(self) -> str: ...

    async def purify(self, request: PurifyRequest) -> PurifyResult: ...


class PassthroughPurifier:
    """Returns every text unchanged. The seam's reference implementation and a benchmark
    baseline."""

    name = "passthrough"
    cache_identity = "passthrough"

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        return PurifyResult(original=request.text, purified=request.text, backend=self.name)
