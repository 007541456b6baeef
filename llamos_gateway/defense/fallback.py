"""`FallbackPurifier`: defense models tried in order (`defense.model` as a list).

Each candidate is a complete purifier (one LLAMOS agent per defense model, with its own
retries and timeout). When one raises `DefenseUnavailable` (error, timeout, unusable reply)
the next is asked; only when the last fails does the failure reach `Defense`, whose fail
policy then applies. Every attempt is counted (`attempts`, by model and outcome) and listed in
the result (`extra["defense_attempts"]`). A `defense_busy` failure is not retried elsewhere:
the in-flight bound is shared by all the models.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult
from llamos_gateway.errors import DefenseUnavailable

ATTEMPTS = "defense_attempts"
_BUSY = "defense_busy"


class FallbackPurifier:
    """`candidates`: (model name, purifier) pairs, first choice first."""

    def __init__(self, candidates: Sequence[tuple[str, Purifier]]) -> None:
        if not candidates:
            raise ValueError("FallbackPurifier needs at least one candidate")
        self.candidates = list(candidates)
        self.name = candidates[0][1].name
        self.attempts: Counter[tuple[str, str]] = Counter()

    @property
    def cache_identity(self) -> str:
        return "fallback(" + ";".join(p.cache_identity for _, p in self.candidates) + ")"

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        tried: list[dict[str, object]] = []
        failure: DefenseUnavailable | None = None
        for model, purifier in self.candidates:
            try:
                result = await purifier.purify(request)
            except DefenseUnavailable as exc:
                self._count(tried, model, exc.reason)
                failure = exc
                if exc.reason == _BUSY:
                    break
                continue
            self._count(tried, model, "ok")
            return replace(result, extra={**result.extra, ATTEMPTS: tried})
        assert failure is not None
        raise DefenseUnavailable(
            f"{failure.message} (after {len(tried)} defense model(s): "
            f"{', '.join(str(t['model']) for t in tried)})",
            reason=failure.reason, partial=failure.partial) from failure

    def _count(self, tried: list[dict[str, object]], model: str, outcome: str) -> None:
        self.attempts[(model, outcome)] += 1
        tried.append({"model": model, "outcome": outcome})
