"""`Defense`, the one pipeline: its concurrency bound, batch and per-text failure handling."""

from __future__ import annotations

import asyncio
import time

import pytest

from llamos_gateway.defense import Defense, DefenseMode, PurifyRequest, PurifyResult
from llamos_gateway.defense.service import LOOP_SLICE_S, Turns
from llamos_gateway.errors import DefenseUnavailable, InvalidRequest
from llamos_gateway.testing import MarkPurifier


class Counting:
    """Records the peak number of texts in flight; fails (without a partial result) on texts
    that contain `fail`, offers a partial result for texts that contain `partial`."""

    name = "counting"
    cache_identity = "counting"

    def __init__(self) -> None:
        self.active = 0
        self.peak = 0

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(0.01)
        finally:
            self.active -= 1
        text = request.text
        if "partial" in text:
            raise DefenseUnavailable("agent down", reason="defense_timeout",
                                     partial=PurifyResult(text, text.upper(), self.name))
        if "fail" in text:
            raise DefenseUnavailable("agent down", reason="defense_unparseable")
        return PurifyResult(text, text.replace("bad", "good"), self.name)


async def test_concurrency_bounds_each_call_not_the_process() -> None:
    inner = Counting()
    defense = Defense(inner, concurrency=3)
    await defense.purify([f"text {i}" for i in range(12)])
    assert inner.peak == 3
    inner.peak = 0
    await asyncio.gather(defense.purify([f"a {i}" for i in range(12)]),
                         defense.purify([f"b {i}" for i in range(12)]))
    assert inner.peak == 6  # two requests, each with its own bound
    inner.peak = 0
    await defense.purify_each([f"c {i}" for i in range(12)])
    assert inner.peak == 3


async def test_a_batch_fails_as_one_unit_under_fail_open() -> None:
    defense = Defense(Counting())
    outcome = await defense.purify(["a bad one", "fail here"])
    assert outcome.failed and outcome.fail_open == "defense_unparseable"
    assert outcome.results == ()
    stand_ins = outcome.per_text(["a bad one", "fail here"])
    assert [r.purified for r in stand_ins] == ["a bad one", "fail here"]
    assert all(r.reasons == ("defense_unparseable",) and r.fallback == "fail_open"
               for r in stand_ins)
    with pytest.raises(DefenseUnavailable):
        await Defense(Counting(), fail_policy="closed").purify(["fail"])


async def test_each_text_on_its_own_never_stops_the_others() -> None:
    texts = ["a bad one", "fail here", "partial pass", "bad again"]
    outcomes = await Defense(Counting()).purify_each(texts)
    assert [o.forwarded([t])[0] for o, t in zip(outcomes, texts, strict=True)] == [
        "a good one", "fail here", "PARTIAL PASS", "good again"]
    assert [o.failure for o in outcomes] == [None, "defense_unparseable", "defense_timeout",
                                             None]
    closed = await Defense(Counting(), fail_policy="closed").purify_each(texts)
    assert [o.fail_closed for o in closed] == [None, "defense_unparseable",
                                               "defense_timeout", None]
    assert closed[0].forwarded(["a bad one"]) == ["a good one"]
    # shadow mode fails open even under fail-closed, and forwards the originals
    shadow = await Defense(Counting(), fail_policy="closed").purify_each(
        texts, mode=DefenseMode.SHADOW)
    assert [o.fail_open for o in shadow] == [None, "defense_unparseable", "defense_timeout",
                                             None]
    assert shadow[0].forwarded(["a bad one"]) == ["a bad one"]


async def test_backends_by_name() -> None:
    mark, counting = MarkPurifier(), Counting()
    defense = Defense({"mark": mark, "counting": counting})
    assert defense.backend == "mark" and defense.purifier is mark
    assert defense.choose("counting") is counting and defense.choose(None) is mark
    outcome = await defense.purify(["bad"], backend="counting")
    assert outcome.backend == "counting" and outcome.results[0].purified == "good"
    with pytest.raises(InvalidRequest, match="backend 'magic' is not enabled"):
        defense.choose("magic")


async def test_a_backend_defect_follows_the_failure_policy() -> None:
    class Broken:
        name = "broken"
        cache_identity = "broken"

        async def purify(self, request: PurifyRequest) -> PurifyResult:
            raise KeyError("bug")

    outcome = await Defense(Broken()).purify(["x"])
    assert outcome.fail_open == "defense_internal_error"
    with pytest.raises(DefenseUnavailable):
        await Defense(Broken(), fail_policy="closed").purify(["x"])


class BusyPurifier:
    """Purifies without ever waiting, spending `cost_s` of wall time per text (like the
    lexical backend on a short text, or a cache hit)."""

    name = "busy"
    cache_identity = "busy"

    def __init__(self, cost_s: float) -> None:
        self.cost_s = cost_s

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        until = time.perf_counter() + self.cost_s
        while time.perf_counter() < until:
            pass
        return PurifyResult(request.text, request.text.upper(), self.name)


async def test_many_small_texts_give_the_loop_turns() -> None:
    """400 texts of 0.5 ms each (200 ms in all): other tasks must run in between, every
    LOOP_SLICE_S or so, not once at the end."""
    defense = Defense(BusyPurifier(0.0005), concurrency=8)
    turns = 0
    done = False

    async def other_task() -> None:
        nonlocal turns
        while not done:
            await asyncio.sleep(0)
            turns += 1

    ticker = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    outcome = await defense.purify([f"text {i}" for i in range(400)])
    done = True
    await ticker
    assert [r.purified for r in outcome.results] == [f"TEXT {i}" for i in range(400)]
    assert turns >= 0.2 / LOOP_SLICE_S / 4  # one turn per slice, with a wide margin


async def test_turns_yield_once_per_slice_for_all_their_tasks() -> None:
    turns = Turns(0.001)
    order: list[str] = []

    async def work(name: str) -> None:
        until = time.perf_counter() + 0.002
        while time.perf_counter() < until:
            pass
        await turns.pause()
        order.append(name)

    async def other() -> None:
        order.append("other")

    await asyncio.gather(work("a"), work("b"), other())
    assert order[0] == "other"  # the slice was over: the loop had its turn first
    assert sorted(order[1:]) == ["a", "b"]
