"""The learned decision: its features, its fitting, the bundled coefficients, and what it does
in the purifier (the original wins where it must, the repair where it should)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.ranking.calibration import CALIBRATED
from llamos_gateway.ranking.candidates import Bounds, Candidate
from llamos_gateway.ranking.decision import RULE_KNOWN, Learned, choose_learned, probability
from llamos_gateway.ranking.features import NAMES, Edit, Pair, edit_kind, vector
from llamos_gateway.ranking.logistic import MIN_THRESHOLD, fit, thresholds
from llamos_gateway.ranking.ngram import NgramModel
from llamos_gateway.ranking.purifier import Policy, RankedPurifier
from llamos_gateway.ranking.scorer import NgramScorer
from llamos_gateway.ranking.setup import policy_for
from llamos_gateway.settings import DefenseSettings
from tests.ranking.cases import MUST_STAY


@pytest.fixture(scope="module")
def learned_ranked(lexical: LexicalPurifier, ngram: NgramModel) -> RankedPurifier:
    return RankedPurifier(lexical, NgramScorer(lambda: ngram, "test"), lambda: ngram,
                          Policy(CALIBRATED["ngram"], learned=Learned.load()))


@pytest.mark.parametrize(("written", "candidate", "kind"), [
    ("goood", "good", Edit.INSERTION),
    ("god", "good", Edit.DELETION),
    ("fiml", "film", Edit.TRANSPOSITION),
    ("gpod", "good", Edit.KEYBOARD),
    ("gxod", "good", Edit.SUBSTITUTION),
    ("gxxd", "good", Edit.OTHER),
    ("go", "good", Edit.OTHER),
])
def test_the_edit_kind_is_what_the_writer_did(written: str, candidate: str, kind: str) -> None:
    assert edit_kind(written, candidate) == kind


def test_a_feature_vector_has_one_value_per_name() -> None:
    pair = Pair("god", "good", 13.1, True, False, 100, 10_000, 0, 0.0, gap=5.0, rivals=2)
    values = vector(pair)
    assert len(values) == len(NAMES)
    assert values[NAMES.index("deletion")] == 1.0 and values[NAMES.index("insertion")] == 0.0
    assert values[NAMES.index("gain")] == pytest.approx(13.1)


def _synthetic(seed: int) -> tuple[list[list[float]], list[int]]:
    rng = random.Random(seed)
    xs, ys = [], []
    for _ in range(400):
        a, b = rng.gauss(0, 1), rng.gauss(0, 1)
        xs.append([1.0, a, b])
        ys.append(int(2 * a - b + rng.gauss(0, 0.5) > 0))
    return xs, ys


def test_fitting_is_deterministic_and_finds_the_signs() -> None:
    xs, ys = _synthetic(5)
    first, second = fit(xs, ys, l2=1.0), fit(xs, ys, l2=1.0)
    assert first.tobytes() == second.tobytes()
    assert first[1] > 0 > first[2]


def test_thresholds_keep_every_set_within_budget() -> None:
    # (best real-word logit, best unknown-word logit) per clean text, two sets of 200
    rng = random.Random(3)
    logits = {name: [(rng.gauss(-2, 2), rng.gauss(-3, 2)) for _ in range(200)]
              for name in ("a", "b")}
    positives = np.array([3.0, 1.0, 5.0, 0.5])
    known = np.array([True, True, False, False])
    t_known, t_unknown = thresholds(logits, {"a": 0.005, "b": 0.0}, positives, known)
    assert t_known >= MIN_THRESHOLD and t_unknown >= MIN_THRESHOLD
    for name, allowed in (("a", 1), ("b", 0)):
        assert sum(k > t_known or u > t_unknown for k, u in logits[name]) <= allowed


def test_the_bundled_coefficients_name_every_feature() -> None:
    path = Path(__file__).resolve().parents[2] / "llamos_gateway" / "data" / "ranking"
    data = json.loads((path / "decision.json").read_text())
    assert set(data["weights"]) == set(NAMES)
    learned = Learned.load()
    assert learned.threshold == data["threshold"]
    assert learned.threshold_unknown == data["threshold_unknown"]
    assert learned.version in learned.identity()
    assert Learned.load(threshold=9.0).threshold == 9.0


def test_the_highest_logit_wins_past_its_threshold() -> None:
    learned = Learned(tuple(1.0 if n == "gain" else 0.0 for n in NAMES), threshold=5.0,
                      threshold_unknown=1.0, floor=2.0, floor_unknown=-1.0, version="t")
    good, goad = Candidate("good", 1, "edit1"), Candidate("goad", 1, "edit1")

    def pair(cand: str, gain: float, *, known: bool) -> Pair:
        return Pair("god", cand, gain, known, False, 0, 0, 0, 0.0)

    assert choose_learned([(good, pair("good", 4.0, known=True))], learned=learned) is None
    chosen = choose_learned([(good, pair("good", 6.0, known=True)),
                             (goad, pair("goad", 7.0, known=True))], learned=learned)
    assert chosen is not None and chosen.candidate is goad and chosen.rule == RULE_KNOWN
    assert chosen.score == pytest.approx(7.0) and chosen.margin == 5.0
    unknown = choose_learned([(good, pair("good", 1.5, known=False))], learned=learned)
    assert unknown is not None and unknown.margin == 1.0
    # under the floor, a candidate is not weighed at all
    assert choose_learned([(good, pair("good", 1.5, known=True))],
                          learned=Learned(learned.weights, -9.0, -9.0, 2.0, -1.0, "t")) is None
    assert probability(0.0) == 0.5


def test_the_setting_selects_the_rule_and_names_it_in_the_identity() -> None:
    margin = policy_for(DefenseSettings())
    learned = policy_for(DefenseSettings(ranked_decision="learned"))
    assert margin.learned is None and learned.learned is not None
    assert "learned=" in learned.identity() and "margin=" in margin.identity()
    # another scorer's units are not the n-gram's: the margins decide there
    assert policy_for(DefenseSettings(ranked_decision="learned",
                                      ranked_scorer="local")).learned is None


async def test_the_repair_wins_with_its_probability(learned_ranked: RankedPurifier) -> None:
    result = await learned_ranked.purify(PurifyRequest("this is a god movie"))
    assert result.purified == "this is a good movie"
    (detail,) = result.extra["ranked"]  # type: ignore[misc]
    assert detail["rule"] == RULE_KNOWN
    assert detail["score"] > detail["margin"] and 0.5 < detail["probability"] <= 1.0
    assert "learned=" in learned_ranked.cache_identity


@pytest.mark.parametrize("text", [
    *MUST_STAY,
    "an exercise in inanity",                           # rare, correct words
    "Quelle est la différence entre « tu » et « vous » ?",  # another language
    "the normalisation of relations took 3.5 years",    # British spelling, numbers
])
async def test_the_original_wins_where_it_must(learned_ranked: RankedPurifier,
                                               text: str) -> None:
    result = await learned_ranked.purify(PurifyRequest(text))
    assert result.purified == text, result.extra.get("ranked")


async def test_training_bounds_keep_every_candidate(lexical: LexicalPurifier,
                                                    ngram: NgramModel) -> None:
    """What the training script relies on: with wide bounds every candidate past the floor
    reaches `pairs`, each with its features."""
    zero = Learned(tuple(0.0 for _ in NAMES), 0.0, 0.0, 2.0, -2.0, "zero")
    wide = RankedPurifier(lexical, NgramScorer(lambda: ngram, "test"), lambda: ngram,
                          Policy(CALIBRATED["ngram"], Bounds(per_word=48, words=64),
                                 learned=zero))
    first = await lexical.purify(PurifyRequest("this is a god movie"))
    pairs = await wide.pairs(first, wide.targets(first))
    words = {c.word for target, scored in pairs if target.word == "god" for c, _ in scored}
    assert "good" in words
    for _, scored in pairs:
        for _, pair in scored:
            assert pair.gain >= (2.0 if pair.known else -2.0)
