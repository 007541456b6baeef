"""`TieredPurifier`: the lexical pass always, the expensive agent only when it is needed.

The screen (the lexical backend) cleans every text and scores how attacked it looks. Only
a text it flags (or every text, with `always=True`) goes on to the agent, which sees the
screen's output. `stats` tells how many texts skipped the agent.

Edit positions: the screen's edits refer to the caller's text; when the agent ran, its
edits refer to the screen's output (kept in `extra["screened"]`).

When the agent fails, the `DefenseUnavailable` carries the screen's result as `partial`, so a
fail-open gateway forwards the lexically purified text instead of the original.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult
from llamos_gateway.errors import DefenseUnavailable

SCREEN_CLEAN = "screen_skip"
SCREEN_FLAGGED = "screen_flagged"
SCREEN_ALWAYS = "screen_always"
AGENT_UNAVAILABLE = "agent_unavailable"


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

    def __init__(self, screen: Purifier, agent: Purifier, always: bool = False) -> None:
        self.screen = screen
        self.agent = agent
        self.always = always
        self.name = "tiered"
        self._screened = 0
        self._agent_calls = 0

    @property
    def cache_identity(self) -> str:
        """Screen, agent (model, prompt version, guards) and policy: a change in any of them must
        not be answered from entries the old configuration cached."""
        return (f"tiered|always={self.always}|{self.screen.cache_identity}"
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
