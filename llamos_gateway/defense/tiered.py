"""`TieredPurifier`: the lexical pass always, the expensive agent only when it is needed.

The screen (the lexical backend) cleans every text and scores how attacked it looks. Only
a text it flags (or every text, with `always=True`) goes on to the agent, which sees the
screen's output. `stats` tells how many texts skipped the agent.

Edit positions: the screen's edits refer to the caller's text; when the agent ran, its
edits refer to the screen's output (kept in `extra["screened"]`).

When the agent fails, the `DefenseUnavailable` carries the screen's result as `partial`, so a
fail-open gateway forwards the lexically purified text instead of the original.

Scope: with an `AgentScope`, the agent's output is not taken whole. Its words are aligned with
the screened text's, and only one-for-one word replacements the scope allows are applied, never
to a word the screen itself repaired; everything else the agent changed (case, spacing,
punctuation, added or dropped words, rewrites) is vetoed and counted. A weak defense model can
then repair what the screen could not read, and do no other harm. Without a scope (`defense.
tiered_scope: text`) the agent's output is taken as it is, within its own drift guards.
"""

from __future__ import annotations

import asyncio
import bisect
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from rapidfuzz.distance import Levenshtein

from llamos_gateway.defense.protocol import (
    Edit,
    Purifier,
    PurifyRequest,
    PurifyResult,
    output_spans,
)
from llamos_gateway.errors import DefenseUnavailable

SCREEN_CLEAN = "screen_skip"
SCREEN_FLAGGED = "screen_flagged"
SCREEN_ALWAYS = "screen_always"
AGENT_UNAVAILABLE = "agent_unavailable"
AGENT_VETOED = "agent_edits_vetoed"
SCOPED_RULE = "agent_word"
_VETOES_SHOWN = 20
_INLINE_MAX_CHARS = 4000
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


@dataclass(frozen=True, slots=True)
class WordChange:
    """The agent replaced `text[start:end]` (`before`, one word of the screened text) by
    `after` (one word)."""

    start: int
    end: int
    before: str
    after: str


class AgentScope(Protocol):
    """Which of the agent's word replacements a tiered purifier keeps."""

    @property
    def identity(self) -> str:
        """Part of the tiered purifier's cache identity."""
        ...

    def allowed(self, text: str, changes: Sequence[WordChange]) -> list[bool]:
        """One answer per change of `text` (the screened text)."""
        ...


@dataclass(frozen=True, slots=True)
class TieredStats:
    screened: int
    agent_calls: int

    @property
    def skipped(self) -> int:
        return self.screened - self.agent_calls

    @property
    def skipped_share(self) -> float:
        return self.skipped / self.screened if self.screened else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"screened": self.screened, "agent_calls": self.agent_calls,
                "skipped": self.skipped, "skipped_share": round(self.skipped_share, 4)}


class TieredPurifier:
    """Implements `Purifier`; composes a screen (the lexical backend, whose results say
    whether a text looks `suspicious`) and any agent `Purifier`."""

    def __init__(self, screen: Purifier, agent: Purifier, always: bool = False,
                 scope: AgentScope | None = None) -> None:
        self.screen = screen
        self.agent = agent
        self.always = always
        self.scope = scope
        self.name = "tiered"
        self._screened = 0
        self._agent_calls = 0

    @property
    def cache_identity(self) -> str:
        """Screen, agent (model, prompt version, guards) and policy: a change in any of them must
        not be answered from entries the old configuration cached."""
        scope = self.scope.identity if self.scope is not None else "text"
        return (f"tiered|always={self.always}|scope={scope}|{self.screen.cache_identity}"
                f"|{self.agent.cache_identity}")

    @property
    def stats(self) -> TieredStats:
        return TieredStats(self._screened, self._agent_calls)

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        started = time.perf_counter()
        first = await self.screen.purify(request)
        self._screened += 1
        if not (self.always or first.suspicious):
            reasons = (*first.reasons, SCREEN_CLEAN)
            return replace(first, backend=self.name, reasons=reasons).with_timing(started)
        self._agent_calls += 1
        why = SCREEN_ALWAYS if self.always and not first.suspicious else SCREEN_FLAGGED
        try:
            second = await self.agent.purify(replace(request, text=first.purified))
        except DefenseUnavailable as exc:
            # Under fail-open the screen's output beats the original: offer it as the partial
            # result (the error still propagates, so the failure is reported and not cached).
            exc.partial = replace(first, backend=self.name, agent_called=True,
                                  reasons=(*first.reasons, why, AGENT_UNAVAILABLE),
                                  ).with_timing(started)
            raise
        if self.scope is not None and second.purified != first.purified:
            if len(first.purified) > _INLINE_MAX_CHARS:  # the alignment: off the event loop
                second = await asyncio.to_thread(_scoped, first, second, self.scope)
            else:
                second = _scoped(first, second, self.scope)
        return replace(
            second,
            original=request.text,
            backend=self.name,
            edits=first.edits + second.edits,
            reasons=(*first.reasons, why, *second.reasons),
            suspicious=first.suspicious,
            score=first.score,
            agent_called=True,
            protected=first.protected,
            extra={**second.extra, "screened": first.purified},
        ).with_timing(started)


def _scoped(first: PurifyResult, second: PurifyResult, scope: AgentScope) -> PurifyResult:
    """`second` (the agent's result on `first.purified`) cut down to the word replacements
    `scope` allows outside the words the screen repaired; its edits are rebuilt to match."""
    text = first.purified
    changes = _word_changes(text, second.purified)
    repaired = output_spans(first.edits)
    candidates = [c for c in changes if not touches(repaired, c.start, c.end)]
    verdicts = scope.allowed(text, candidates) if candidates else []
    kept = [c for c, ok in zip(candidates, verdicts, strict=True) if ok]
    pieces: list[str] = []
    cut = 0
    for change in kept:
        pieces += [text[cut:change.start], change.after]
        cut = change.end
    purified = "".join([*pieces, text[cut:]])
    if purified == second.purified:
        return second
    accepted = set(kept)
    vetoed = [{"before": c.before, "after": c.after}
              for c in changes if c not in accepted][:_VETOES_SHOWN]
    edits = tuple(Edit(c.start, c.end, c.before, c.after, SCOPED_RULE) for c in kept)
    return replace(second, purified=purified, edits=edits,
                   reasons=(*second.reasons, AGENT_VETOED),
                   extra={**second.extra, "vetoed": vetoed})


def touches(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    """Whether `[start, end)` overlaps one of `spans` (sorted, disjoint; an empty span inside
    it counts). Binary search: texts can hold many spans and many changes."""
    i = bisect.bisect_left(spans, (end, end))  # spans that start before `end`: spans[:i]
    return i > 0 and start < spans[i - 1][1]


def _word_changes(before: str, after: str) -> list[WordChange]:
    """The one-for-one replacements of a word by a word that turn `before` into `after`, by
    aligning their word and punctuation tokens (any other difference is not listed)."""
    old = list(_TOKEN.finditer(before))
    new = list(_TOKEN.finditer(after))
    # a token-level Levenshtein alignment (bit-parallel: ~40 ms for 20,000 tokens a side)
    opcodes = Levenshtein.opcodes([m.group() for m in old], [m.group() for m in new])
    out: list[WordChange] = []
    for op in opcodes:
        i1, i2, j1, j2 = op.src_start, op.src_end, op.dest_start, op.dest_end
        if op.tag != "replace" or i2 - i1 != j2 - j1:
            continue
        for a, b in zip(old[i1:i2], new[j1:j2], strict=True):
            if a.group()[0].isalnum() and b.group()[0].isalnum():
                out.append(WordChange(a.start(), a.end(), a.group(), b.group()))
    return out
