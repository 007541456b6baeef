"""Real TextAttack attacks on a handful of SST-2 sentences against the local target."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.nltk_data import ENGLISH_STOPWORDS, nltk_data_dir
from llamos_gateway.evaluation.textattack_adapter import (
    AttackRunner,
    RecipeUnavailable,
    attack_many,
    check_recipe,
)
from tests.evaluation.conftest import right_answers

pytestmark = pytest.mark.slow


async def _run(recipe: str, classifier: LocalSentimentClassifier, data: Dataset) -> list:  # type: ignore[type-arg]
    loop = asyncio.get_running_loop()
    runner = await asyncio.to_thread(AttackRunner, recipe, classifier, loop)
    return await asyncio.to_thread(attack_many, runner, data.examples, 0)


@pytest.mark.parametrize("recipe", ["deepwordbug", "homoglyph", "invisible"])
async def test_recipe_flips_the_local_target(recipe: str, classifier: LocalSentimentClassifier,
                                             sst2: Dataset) -> None:
    data = right_answers(classifier, sst2, 4)
    records = await _run(recipe, classifier, data)
    won = [r for r in records if r.status == "succeeded"]
    assert won, [r.status for r in records]
    for record in won:
        assert record.adversarial != record.original
        assert record.perturbed_words >= 1
        # the adversarial text really flips the target, checked outside TextAttack
        assert (await classifier.predict([record.adversarial])).predicted[0] != record.label
        assert record.adversarial_prediction != record.label


async def test_pruthi_runs_and_reports_queries(classifier: LocalSentimentClassifier,
                                               sst2: Dataset) -> None:
    records = await _run("pruthi", classifier, right_answers(classifier, sst2, 2, skip=4))
    assert all(r.status in {"succeeded", "failed"} for r in records)
    assert all(r.queries > 1 for r in records)


def test_same_seed_same_adversarial_examples(classifier: LocalSentimentClassifier,
                                             sst2: Dataset) -> None:
    data = sst2.select(3, seed=5)
    first = asyncio.run(_run("deepwordbug", classifier, data))
    second = asyncio.run(_run("deepwordbug", classifier, data))
    assert [r.adversarial for r in first] == [r.adversarial for r in second]


def test_unknown_recipe_names_the_known_ones() -> None:
    with pytest.raises(InvalidRequest, match="unknown recipe 'nosuch'.*deepwordbug"):
        check_recipe("nosuch")


def test_recipe_without_resources_names_what_is_missing() -> None:
    with pytest.raises(RecipeUnavailable, match="textfooler.*needs .*embeddings"):
        check_recipe("textfooler")


def test_stopwords_are_written_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMOS_CACHE_DIR", str(tmp_path))
    root = nltk_data_dir()
    words = (root / "corpora" / "stopwords" / "english").read_text("utf-8").split()
    assert words == ENGLISH_STOPWORDS and "the" in words
    assert str(root).startswith(str(tmp_path)) and os.path.isdir(root)


def test_fast_word_splitter_matches_textattack(sst2: Dataset) -> None:
    from llamos_gateway.evaluation.nltk_data import prepare_offline
    from llamos_gateway.evaluation.textattack_adapter import HOMOGLYPHS, _words_from_text

    prepare_offline()
    from textattack.shared.utils.strings import words_from_text

    texts = [str(e.input) for e in sst2.examples[:300]]
    texts += ["".join(HOMOGLYPHS.get(c, c) for c in t) for t in texts[:100]]
    texts += ["goo\u200bd `quoted' *x* @me -- don't", "a\u00d7b \u02d7c 'CCC' hello-world _u_"]
    assert [list(_words_from_text(t)) for t in texts] == [words_from_text(t) for t in texts]
