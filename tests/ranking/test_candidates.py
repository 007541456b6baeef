from __future__ import annotations

from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.ranking.candidates import (
    KEYBOARD,
    Bounds,
    Neighbours,
    inflection,
    keyboard_edits1,
)
from llamos_gateway.ranking.decision import Margins
from llamos_gateway.ranking.ngram import NgramModel
from llamos_gateway.ranking.purifier import Policy, RankedPurifier
from llamos_gateway.ranking.scorer import NgramScorer


def _neighbours(lexical: LexicalPurifier) -> Neighbours:
    lexicon = lexical.lexicon
    return Neighbours(lexicon.targets, lexicon.count, lexicon.within, lexicon.is_name)


def test_keyboard_substitutions_only_by_neighbouring_keys() -> None:
    assert "fod" in keyboard_edits1("god")      # g -> f: neighbours
    assert "sod" not in keyboard_edits1("god")  # g -> s: far apart
    assert {"gd", "ogd", "good", "gods"} <= keyboard_edits1("god")
    assert "g" in KEYBOARD["h"] and "p" not in KEYBOARD["a"]


def test_a_real_word_gets_distance_one_only_an_unknown_word_distance_two(
        lexical: LexicalPurifier) -> None:
    near = _neighbours(lexical)
    known = near.of("god", known=True, bounds=Bounds())
    assert "good" in {c.word for c in known}
    assert {c.distance for c in known} == {1}
    unknown = near.of("movei", known=False, bounds=Bounds(pool=200))
    assert {c.distance for c in unknown} == {1, 2}
    assert "movie" in {c.word for c in unknown}


def test_the_pool_is_bounded_and_most_common_first(lexical: LexicalPurifier) -> None:
    near = _neighbours(lexical)
    found = near.of("bat", known=True, bounds=Bounds(pool=5))
    assert len(found) == 5
    counts = [lexical.lexicon.count(c.word) for c in found]
    assert counts == sorted(counts, reverse=True)


def test_inflections_and_names_are_no_candidates(lexical: LexicalPurifier) -> None:
    assert inflection("films", "film") and inflection("close", "closer")
    assert not inflection("god", "good")
    words = {c.word for c in _neighbours(lexical).of("films", known=True, bounds=Bounds())}
    assert "film" not in words
    assert not any(lexical.lexicon.is_name(w) for w in words)


def test_an_unknown_word_gets_no_other_form_of_itself(lexical: LexicalPurifier) -> None:
    near = _neighbours(lexical)
    for word, form in [("heartstring", "heartstrings"), ("debuter", "debut")]:
        assert not lexical.lexicon.is_known(word) and lexical.lexicon.is_known(form)
        assert form not in {c.word for c in near.of(word, known=False, bounds=Bounds(pool=200))}


def test_with_a_language_model_deciding_the_nearest_candidates_reach_it(
        lexical: LexicalPurifier, ngram: NgramModel) -> None:
    # the n-gram's gain ranks `none` and `month` (distance 2) above `song` here: a causal LM
    # scorer gets the distance-1 candidates first, the n-gram keeps its own ranking
    first = lexical.purify_text("it blends music , dance , sonh , and high drama")
    scorer = NgramScorer(lambda: ngram, "t")
    for prefilter, wanted in [(0.0, True), (None, False)]:
        ranked = RankedPurifier(lexical, scorer, lambda: ngram, Policy(
            Margins(known=0.0, unknown=0.0), bounds=Bounds(per_word=4), prefilter=prefilter))
        (target,) = [t for t in ranked.targets(first) if t.word == "sonh"]
        words = {c.word for c, _ in target.candidates}
        assert ("song" in words) is wanted
        if wanted:
            assert {c.distance for c, _ in target.candidates} == {1}


def test_the_lexical_repair_is_a_candidate(lexical: LexicalPurifier) -> None:
    found = _neighbours(lexical).of("tset", known=False, bounds=Bounds(), lexical="test")
    assert found[0].word == "test" and found[0].source == "lexical"


def test_words_and_candidates_per_text_are_bounded(lexical: LexicalPurifier,
                                                   ngram: NgramModel) -> None:
    bounds = Bounds(per_word=2, words=3)
    ranked = RankedPurifier(lexical, NgramScorer(lambda: ngram, "t"), lambda: ngram,
                            Policy(Margins(known=0.0, unknown=0.0), bounds=bounds))
    first = lexical.purify_text("the god movie was glow and the cast was bed and the plat was "
                                "wold but the mosic was fin")
    targets = ranked.targets(first)
    assert len(targets) == 3
    assert all(1 <= len(t.candidates) <= 2 for t in targets)
    gains = [t.best for t in targets]
    assert gains == sorted(gains, reverse=True)
