"""The judge's fidelity filter: non-rewrites never pass, the similarity seam, and the labelled
pairs at the calibrated floor of the bundled model."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from llamos_gateway.evaluation.fidelity import FidelityFilter
from llamos_gateway.evaluation.rewrite import content_overlap, rewrite_problem
from llamos_gateway.evaluation.similarity import (
    LOCAL_FLOOR,
    BertScoreSimilarity,
    HiddenStateSimilarity,
    SimilarityScore,
    SimilarityUnavailable,
    greedy_f1,
    idf_weights,
    open_similarity,
    reference_sentences,
)
from llamos_gateway.localllm import LocalModel, bundled_model_path

LABELLED = Path(str(resources.files("llamos_gateway") / "data" / "judge" / "labelled.jsonl"))
ORIGINAL = "paid in full is so stale , in fact , that its most vibrant scene is one that uses clips"


class FixedSimilarity:
    name = "fixed"
    floor = 0.5

    def __init__(self, f1: float) -> None:
        self.f1 = f1
        self.calls = 0

    def score(self, original: str, candidate: str) -> SimilarityScore:
        self.calls += 1
        return SimilarityScore(self.f1, self.f1, self.f1)


@pytest.mark.parametrize(("candidate", "reason"), [
    ("", "empty"),
    ("  \n", "empty"),
    ("The original sentence can be reorganized to improve its clarity and grammar:", "meta"),
    ("Here is the new sentence: paid in full is so stale", "meta"),
    ("I'm sorry, but I cannot help with that request.", "refusal"),
    ("negative", "answer"),
    ("Answer: positive", "answer"),
    ("paid in full is stale", "length"),
    (ORIGINAL + " " + " ".join(["and it goes on"] * 8), "length"),
    ("the band played a lively set at the county fair last night , under bright lights and "
     "cheers", "content"),
])
@pytest.mark.parametrize("level", ["C1", "W2", "S2"])
def test_non_rewrites_never_pass_at_any_level(candidate: str, reason: str, level: str) -> None:
    fidelity = FidelityFilter(similarity=FixedSimilarity(1.0))  # even a perfect similarity
    verdict = fidelity.check(ORIGINAL, candidate, level)
    assert (verdict.passed, verdict.reason) == (False, reason)


def test_rewrite_checks_leave_reviews_that_say_such_things_alone() -> None:
    review = "here is a sentence i never expected to write : the sentiment is earned ."
    assert rewrite_problem(review, review.replace("earned", "earnd")) is None
    assert rewrite_problem("positive", "postive") is None
    assert content_overlap(ORIGINAL,
                           ORIGINAL.replace("stale", "stael").replace("vibrant", "vibrnt")) == 1.0
    assert content_overlap("it is .", "it was .") is None


def test_floor_applies_at_sentence_level_too() -> None:
    low, high = FixedSimilarity(0.3), FixedSimilarity(0.9)
    paraphrase = "paid in full is so stale that its most vibrant scene , in fact , uses clips"
    assert FidelityFilter(similarity=low).check(ORIGINAL, paraphrase, "S2").reason == "similarity"
    assert FidelityFilter(similarity=high).check(ORIGINAL, paraphrase, "S2").passed
    assert FidelityFilter(similarity=high, min_similarity=0.95).check(
        ORIGINAL, paraphrase, "S2").reason == "similarity"
    unfloored = FidelityFilter()
    assert unfloored.check(ORIGINAL, paraphrase, "S2").passed
    described = unfloored.describe()
    assert described["similarity"] == "skipped: no similarity model"
    assert described["similarity_floor"] is None and described["paper"]["bertscore_floor"] == 0.92
    assert FidelityFilter(similarity=high).describe()["similarity_floor"] == 0.5


def test_greedy_f1_matches_tokens_and_weights_them() -> None:
    a = np.array([[1, 0], [0, 1]], dtype=np.float32)
    assert greedy_f1(a, a).f1 == pytest.approx(1.0)
    b = np.array([[1, 0]], dtype=np.float32)  # matches only the first token of `a`
    score = greedy_f1(a, b)
    assert (score.precision, score.recall) == pytest.approx((1.0, 0.5))
    weighted = greedy_f1(a, b, original_weights=[3.0, 1.0])
    assert weighted.recall == pytest.approx(0.75)
    assert greedy_f1(a, np.zeros((0, 2), dtype=np.float32)).f1 == 0.0
    idf = idf_weights([[1, 2], [1, 3], [1]])
    assert idf[1] < idf[2] == idf[3] < idf[-1]


class FakeEmbedder:
    """One-hot-ish rows per word; counts calls to show the cache at work."""

    def __init__(self) -> None:
        self.calls = 0

    def tokenize(self, text: str) -> list[int]:
        return [zlib.crc32(w.encode()) % 997 for w in text.split()]

    def token_embeddings(self, text: str) -> np.ndarray:
        self.calls += 1
        rows = [np.random.default_rng(t).normal(size=8) for t in self.tokenize(text)]
        return np.asarray(rows, dtype=np.float32)


def test_hidden_state_similarity_caches_and_weights() -> None:
    embedder = FakeEmbedder()
    sim = HiddenStateSimilarity(embedder, ["one two three", "four five"])
    same = sim.score("a b c", "a b c")
    assert same.f1 == pytest.approx(1.0)
    assert sim.score("a b c", "x y z").f1 < 0.9
    assert embedder.calls == 2 + 2  # the references, then "a b c" and "x y z" once each
    idf = idf_weights([embedder.tokenize("a b"), embedder.tokenize("a c")])
    weighted = HiddenStateSimilarity(embedder, ["one"], idf=idf)
    assert weighted.name.endswith("+idf")
    assert weighted.score("a b", "a x").recall < sim.score("a b", "a x").recall  # rare b weighs


def test_bert_score_is_unavailable_without_a_model_on_disk(tmp_path: Path) -> None:
    with pytest.raises(SimilarityUnavailable, match="nothing is downloaded"):
        BertScoreSimilarity(tmp_path, num_layers=2)


def test_open_similarity_none_says_so() -> None:
    with open_similarity("none") as (similarity, why):
        assert similarity is None and "switched off" in why


@pytest.mark.slow
def test_bert_score_with_a_tiny_local_bert(tmp_path: Path) -> None:
    """The real bert-score path on a BERT built here (random weights: no download)."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("bert_score")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"the film is good bad dull a".split()]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    transformers.BertTokenizer(str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    config = transformers.BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=32)
    transformers.BertModel(config).save_pretrained(tmp_path)
    with open_similarity(f"bert-score:{tmp_path}") as (similarity, _):
        assert similarity is not None and similarity.name == f"bert-score:{tmp_path.name}"
        assert similarity.score("the film is good",
                                "the film is good").f1 == pytest.approx(1.0, abs=1e-4)
        assert similarity.score("the film is good", "a dull bad").f1 < 0.999


@pytest.fixture(scope="module")
def one_thread_model() -> Iterator[LocalModel]:
    """The bundled model on one thread, as `open_similarity` runs it: the session fixture's
    threads spin against each other on a busy 2-core machine (seconds per sentence)."""
    model = LocalModel(bundled_model_path(), n_threads=1)
    yield model
    model.close()


@pytest.mark.slow
def test_labelled_pairs_at_the_calibrated_floor(one_thread_model: LocalModel) -> None:
    local_model = one_thread_model
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines()]
    assert {r["kind"] for r in rows} == {"typo", "extra_chars", "paraphrase", "meta", "unrelated"}
    fidelity = FidelityFilter(similarity=HiddenStateSimilarity(local_model, reference_sentences()))
    assert fidelity.floor == LOCAL_FLOOR
    wrong = []
    for row in rows:
        level = "S2" if row["kind"] == "paraphrase" else "C1"
        verdict = fidelity.check(row["original"], row["candidate"], level)
        similarity = fidelity.similarity.score(row["original"], row["candidate"]).f1  # type: ignore[union-attr]
        must_pass = row["expect"] == "pass"
        # the floor alone separates the pairs; the whole filter rejects every `fail` pair and
        # lets every `pass` pair through except where PromptAttack's own word-ratio bound
        # (0.15) forbids two edits in a short sentence
        filter_right = verdict.passed == must_pass or (
            must_pass and verdict.reason == "word_modification_ratio")
        if (similarity >= LOCAL_FLOOR) != must_pass or not filter_right:
            wrong.append((row["kind"], round(similarity, 3), verdict.reason, row["candidate"]))
    assert wrong == []
