from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from llamos_gateway.defense.protocol import Edit, PurifyRequest, PurifyResult
from llamos_gateway.defense.segmenting import SegmentingPurifier, split_sentences
from llamos_gateway.errors import DefenseUnavailable

TEXT = "First sentense here. Second one is fine! Third, with a tpyo?\nA new line @xk2 ."


def test_split_keeps_every_character_and_respects_the_limit() -> None:
    pieces = split_sentences(TEXT, 25)
    assert "".join(pieces) == TEXT and all(len(p) <= 25 for p in pieces)
    assert pieces[0] == "First sentense here. "
    long_word = "x" * 30
    assert split_sentences(long_word, 10) == ["x" * 10] * 3
    assert "".join(split_sentences("a b c d e f g h i j k", 4)) == "a b c d e f g h i j k"


@dataclass
class Fixer:
    """Fixes typos per piece; records concurrency; fails on demand."""

    name: str = "fixer"
    cache_identity: str = "fixer"
    seen: list[str] = field(default_factory=list)
    active: int = 0
    peak: int = 0
    fail_on: str | None = None

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        self.seen.append(request.text)
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0)
        self.active -= 1
        if self.fail_on and self.fail_on in request.text:
            raise DefenseUnavailable("down", reason="defense_timeout")
        fixed = request.text.replace("sentense", "sentence").replace("tpyo", "typo")
        edits = tuple(Edit(i, i + 4, "tpyo", "typo", "t") for i in [request.text.find("tpyo")]
                      if i >= 0)
        return PurifyResult(original=request.text, purified=fixed, backend=self.name,
                            edits=edits, reasons=("r",), agent_called=True, defense_tokens=1,
                            prompt_version="v1")


async def test_short_text_goes_straight_through() -> None:
    inner = Fixer()
    result = await SegmentingPurifier(inner, max_chars=500).purify(PurifyRequest(TEXT))
    assert inner.seen == [TEXT] and "long_text_split" not in result.reasons


async def test_long_text_is_split_purified_and_joined() -> None:
    inner = Fixer()
    purifier = SegmentingPurifier(inner, max_chars=25, concurrency=2)
    result = await purifier.purify(PurifyRequest(TEXT, task="chat"))
    assert result.purified == TEXT.replace("sentense", "sentence").replace("tpyo", "typo")
    assert len(inner.seen) == result.extra["pieces"] > 2 and inner.peak <= 2
    assert result.reasons == ("long_text_split", "r")
    assert result.defense_tokens == len(inner.seen) and result.prompt_version == "v1"
    (edit,) = result.edits
    assert TEXT[edit.start:edit.end] == "tpyo"


async def test_skip_mode_passes_long_text_with_a_reason() -> None:
    inner = Fixer()
    result = await SegmentingPurifier(inner, max_chars=25, mode="skip").purify(
        PurifyRequest(TEXT))
    assert result.purified == TEXT and result.reasons == ("long_text_skipped",)
    assert inner.seen == []


async def test_a_failing_piece_raises_defense_unavailable_itself() -> None:
    purifier = SegmentingPurifier(Fixer(fail_on="Third"), max_chars=25)
    with pytest.raises(DefenseUnavailable) as failed:
        await purifier.purify(PurifyRequest(TEXT))
    assert failed.value.reason == "defense_timeout"


def test_cache_identity_wraps_the_inner_one() -> None:
    assert SegmentingPurifier(Fixer(), max_chars=100).cache_identity == "fixer|long_text=split:100"
