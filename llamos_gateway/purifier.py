"""The defense seam: the `Purifier` protocol and the types it speaks.

Every defense backend (passthrough, lexical, the LLAMOS agent, tiered, cached)
implements `Purifier.purify`. Decorators wrap another purifier through the same
protocol, the way httpx transports compose.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Edit:
    """One change the purifier made: `text[start:end]` of the input was `before`, is now `after`."""

    start: int
    end: int
    before: str
    after: str
    rule: str

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "before": self.before,
            "after": self.after,
            "rule": self.rule,
        }


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
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.purified != self.original

    def with_timing(self, started: float) -> PurifyResult:
        return replace(self, purify_ms=(time.perf_counter() - started) * 1000.0)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.original,
            "purified": self.purified,
            "changed": self.changed,
            "suspicious": self.suspicious,
            "score": round(self.score, 4),
            "backend": self.backend,
            "edits": [e.as_dict() for e in self.edits],
            "reasons": list(self.reasons),
            "fallback": self.fallback,
            "cache_hit": self.cache_hit,
            "agent_called": self.agent_called,
            "prompt_version": self.prompt_version,
            "purify_ms": round(self.purify_ms, 3),
            "defense_tokens": self.defense_tokens,
        }


@runtime_checkable
class Purifier(Protocol):
    """Turns possibly adversarial text into clean text. Must never raise for clean input.

    A backend that cannot do its job (defense model down, timed out, unparseable output
    after retries) raises `llamos_gateway.errors.DefenseUnavailable`; the gateway applies
    the fail-open / fail-closed policy, not the purifier.
    """

    name: str

    async def purify(self, request: PurifyRequest) -> PurifyResult: ...


class PassthroughPurifier:
    """Returns every text unchanged. The seam's reference implementation and a benchmark baseline."""

    name = "passthrough"

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        return PurifyResult(original=request.text, purified=request.text, backend=self.name)
