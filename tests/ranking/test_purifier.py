from __future__ import annotations

import pytest

from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.localllm import LocalModel
from llamos_gateway.ranking.calibration import CALIBRATED
from llamos_gateway.ranking.candidates import Candidate
from llamos_gateway.ranking.decision import RULE_KNOWN, Margins, choose
from llamos_gateway.ranking.ngram import NgramModel
from llamos_gateway.ranking.purifier import Policy, RankedPurifier
from llamos_gateway.ranking.scorer import LocalScorer, NgramScorer
from llamos_gateway.ranking.setup import LM_PREFILTER
from tests.ranking.cases import MUST_STAY


@pytest.fixture(scope="module")
def ranked(lexical: LexicalPurifier, ngram: NgramModel) -> RankedPurifier:
    return RankedPurifier(lexical, NgramScorer(lambda: ngram, "test"), lambda: ngram,
                          Policy(CALIBRATED["ngram"]))


def test_the_margin_decides() -> None:
    margins = Margins(known=5.0, unknown=1.0, per_distance=2.0)
    good, far = Candidate("good", 1, "edit1"), Candidate("goad", 2, "edit2")
    assert choose(-20.0, [(good, -16.0)], known=True, margins=margins) is None  # 4 < 5
    chosen = choose(-20.0, [(good, -14.0)], known=True, margins=margins)
    assert chosen is not None and chosen.rule == RULE_KNOWN and chosen.margin == 5.0
    assert choose(-20.0, [(far, -17.5)], known=False, margins=margins) is None  # 2.5 < 3
    # the best by how far it clears its own margin: 4.5 - 3 beats 1.5 - 1
    best = choose(-20.0, [(good, -18.5), (far, -15.5)], known=False, margins=margins)
    assert best is not None and best.candidate is far
    assert best.gain == pytest.approx(4.5)


@pytest.mark.parametrize("text", [
    "a god movie",
    "this is a god movie",
])
async def test_a_real_word_slip_is_repaired_with_its_rule_and_margin(
        ranked: RankedPurifier, text: str) -> None:
    result = await ranked.purify(PurifyRequest(text))
    assert result.purified == text.replace("god", "good")
    (edit,) = result.edits
    assert (edit.before, edit.after, edit.rule) == ("god", "good", RULE_KNOWN)
    details = result.extra["ranked"]
    assert isinstance(details, list) and len(details) == 1
    assert details[0]["gain"] > details[0]["margin"] == CALIBRATED["ngram"].known


@pytest.mark.parametrize("text", MUST_STAY)
async def test_the_original_wins_where_it_must(ranked: RankedPurifier, text: str) -> None:
    result = await ranked.purify(PurifyRequest(text))
    assert result.purified == text, result.extra.get("ranked")


async def test_the_local_model_ranks_the_same_slip(lexical: LexicalPurifier, ngram: NgramModel,
                                                   local_model: LocalModel) -> None:
    """The mechanism with the causal LM: a margin low enough for this slip (the calibrated one
    is higher: see docs/ranked.md), names still left alone."""
    ranked = RankedPurifier(lexical, LocalScorer(lambda: local_model), lambda: ngram,
                            Policy(Margins(known=4.0, unknown=1.0), prefilter=LM_PREFILTER))
    attacked = await ranked.purify(PurifyRequest("this is a god movie"))
    assert attacked.purified == "this is a good movie"
    calibrated = RankedPurifier(lexical, LocalScorer(lambda: local_model), lambda: ngram,
                                Policy(CALIBRATED["local"], prefilter=LM_PREFILTER))
    clean = await calibrated.purify(PurifyRequest("stanley kubrick and maud adams star in it"))
    assert not clean.changed


async def test_a_stretched_word_is_left_to_the_lexical_pass(ranked: RankedPurifier) -> None:
    # `whyyy` is one run of letters away from `why`: whether it is an attack or chat is the
    # lexical pass's call (its `repeats` rule, here: chat, kept as written)
    for text in ("lol whyyy did i watch this", "sooo good omg"):
        first = await ranked.lexical.purify(PurifyRequest(text))
        assert first.purified == text
        assert not ranked.targets(first)
        assert (await ranked.purify(PurifyRequest(text))).purified == text


async def test_edits_are_in_the_callers_coordinates(ranked: RankedPurifier) -> None:
    text = "Ths film , a god movie"  # the lexical pass repairs `Ths` first
    result = await ranked.purify(PurifyRequest(text))
    assert result.purified.endswith("a good movie")
    for edit in result.edits:
        assert text[edit.start:edit.end] == edit.before
