from __future__ import annotations

from pathlib import Path

import numpy as np

from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.local_model import (
    LocalSentimentClassifier,
    TrainingParams,
    load_sentiment_model,
)


async def test_accuracy_on_sst2_validation(classifier: LocalSentimentClassifier,
                                           sst2: Dataset) -> None:
    scores = await classifier.predict([e.input for e in sst2.examples])
    accuracy = float((scores.predicted == [e.label for e in sst2.examples]).mean())
    assert 0.80 <= accuracy <= 0.85
    assert np.allclose(scores.scores.sum(axis=1), 1.0)


def test_trains_once_then_loads_from_cache(tmp_path: Path) -> None:
    params = TrainingParams(ngram_max=1, max_rows=3000)
    first = load_sentiment_model(params, directory=tmp_path)
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert len(cached) == 1 and cached[0].endswith(".pkl")  # no temp file left behind
    second = load_sentiment_model(params, directory=tmp_path)
    texts = ["a gorgeous , moving film", "tedious and dull"]
    assert np.allclose(first.scores(texts), second.scores(texts))
    load_sentiment_model(TrainingParams(ngram_max=1, max_rows=2000), directory=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2  # other parameters, other cache key
