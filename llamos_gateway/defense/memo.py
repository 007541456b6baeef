"""`MemoPurifier`: each distinct (task, text) purified once while the memo lives.

The arena keeps one per round (its defender only changes between rounds): the attacker
proposes the same texts again and again, and the defense is asked once for each.
Concurrent requests for the same text share the one call.
"""

from __future__ import annotations

import asyncio

from llamos_gateway.defense.decorator import PurifierDecorator
from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult


class MemoPurifier(PurifierDecorator):
    """Counts the calls it made to the inner purifier in `calls`."""

    def __init__(self, inner: Purifier) -> None:
        super().__init__(inner)
        self._seen: dict[str, asyncio.Future[PurifyResult]] = {}
        self.calls = 0

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        key = f"{request.task}\0{request.text}"
        if key not in self._seen:
            self.calls += 1
            self._seen[key] = asyncio.ensure_future(self.inner.purify(request))
        return await asyncio.shield(self._seen[key])
