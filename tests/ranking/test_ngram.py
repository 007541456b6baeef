from __future__ import annotations

import itertools
import math
from pathlib import Path

from llamos_gateway.ranking import training
from llamos_gateway.ranking.ngram import NgramModel, words


def _small() -> NgramModel:
    sentences = list(itertools.islice(training.sst2_train(), 3000))
    return NgramModel.train(sentences, [("good", "movie", 5)],
                            itertools.islice(training.general_words(), 5000))


def test_training_is_deterministic() -> None:
    assert _small().dumps() == _small().dumps()


def test_save_and_load_give_the_same_model(tmp_path: Path) -> None:
    model = _small()
    model.save(tmp_path / "m.marshal")
    again = NgramModel.load(tmp_path / "m.marshal")
    assert again.dumps() == model.dumps()
    assert again.logprob(words("a good movie")) == model.logprob(words("a good movie"))


def test_probabilities_of_one_context_sum_to_one() -> None:
    model = _small()
    vocabulary = [w for w in model._p1]
    total = sum(math.exp(model.word_logprob("a", "good", w)) for w in vocabulary)
    assert abs(total - 1.0) < 1e-6


def test_the_bundled_model_prefers_the_clean_sentence(ngram: NgramModel) -> None:
    for clean, attacked in [("a good movie", "a god movie"), ("a wild ride", "a wold ride"),
                            ("a bad movie", "a bed movie")]:
        assert ngram.logprob(words(clean)) > ngram.logprob(words(attacked))


def test_tokens() -> None:
    assert words("It's 42 films, isn't it?") == ["it's", "<num>", "films", ",", "isn't", "it", "?"]
