"""Purifiers for tests: they implement the protocol and record what they saw."""

from __future__ import annotations

import asyncio

from llamos_gateway.defense.protocol import Edit, PurifyRequest, PurifyResult
from llamos_gateway.errors import DefenseUnavailable


class MarkPurifier:
    """Visibly changes text (`bad` -> `good`, and a `[clean] ` prefix) so a test can see, at the
    upstream, that the purified text was forwarded."""

    name = "mark"
    cache_identity = "mark"

    def __init__(self) -> None:
        self.history: list[PurifyRequest] = []

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        self.history.append(request)
        text = request.text
        purified = text if text.startswith("[clean] ") else "[clean] " + text.replace("bad", "good")
        edits = () if purified == text else (Edit(0, len(text), text, purified, "mark"),)
        return PurifyResult(original=text, purified=purified, backend=self.name, edits=edits,
                            prompt_version="test0000")


class FailingPurifier:
    """Always unavailable, like a defense model that is down."""

    name = "failing"
    cache_identity = "failing"

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        raise DefenseUnavailable("defense model unreachable", reason="defense_timeout")


class SlowPurifier(MarkPurifier):
    name = "slow"
    cache_identity = "slow"

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        await asyncio.sleep(self.delay_s)
        return await super().purify(request)
