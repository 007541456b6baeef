"""`local/sst2-sentiment`: TF-IDF + logistic regression trained on the bundled SST-2 train split.

Trained on first use (seconds) and cached on disk under a key hashed from the training data
and the parameters, so every process after the first loads it in well under a second.
`predict` is vectorised: TextAttack queries it thousands of times per sentence batch.
"""

from __future__ import annotations

import asyncio
import io
import json
import pickle
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from llamos_gateway.evaluation.datasets import DATA
from llamos_gateway.evaluation.protocols import LabelScores, TextInput, as_text
from llamos_gateway.files import atomic_write, cache_dir, content_hash

MODEL_NAME = "local/sst2-sentiment"
LABELS: tuple[str, ...] = ("negative", "positive")


@dataclass(frozen=True, slots=True)
class TrainingParams:
    ngram_max: int = 2
    min_df: int = 2
    sublinear_tf: bool = True
    c: float = 4.0
    max_iter: int = 2000
    max_rows: int | None = None  # train on the first N rows only (tests)


class SentimentModel:
    """The fitted pipeline; `scores(texts)` -> (n, 2) probabilities for (negative, positive)."""

    def __init__(self, pipeline: Any) -> None:
        self._pipeline = pipeline

    def scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        if not texts:
            return np.zeros((0, 2), dtype=np.float64)
        return np.asarray(self._pipeline.predict_proba(list(texts)), dtype=np.float64)


def _fit(rows: list[dict[str, Any]], params: TrainingParams) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    vectorizer = TfidfVectorizer(ngram_range=(1, params.ngram_max), min_df=params.min_df,
                                 sublinear_tf=params.sublinear_tf, lowercase=True)
    regression = LogisticRegression(C=params.c, max_iter=params.max_iter, solver="liblinear")
    pipeline = make_pipeline(vectorizer, regression)
    rows = rows[: params.max_rows] if params.max_rows else rows
    pipeline.fit([r["sentence"] for r in rows], [int(r["label"]) for r in rows])
    return pipeline


_LOCK = threading.Lock()


def load_sentiment_model(params: TrainingParams | None = None,
                         directory: Path | None = None) -> SentimentModel:
    """Load the cached model, training and caching it first if needed (blocking: call in a
    thread)."""
    import sklearn

    params = params or TrainingParams()
    train = (DATA / "glue" / "sst2_train.jsonl").read_bytes()
    key = content_hash(train, json.dumps(asdict(params), sort_keys=True).encode(),
                       sklearn.__version__.encode())
    path = (directory or cache_dir("models")) / f"sst2-sentiment-{key}.pkl"
    with _LOCK:
        if path.is_file():
            # Our own file in the user's cache dir, written atomically by the branch below.
            return SentimentModel(pickle.loads(path.read_bytes()))  # noqa: S301
        rows = [json.loads(line) for line in io.StringIO(train.decode("utf-8")) if line.strip()]
        pipeline = _fit(rows, params)
        atomic_write(path, pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL))
        return SentimentModel(pipeline)


class LocalSentimentClassifier:
    """The `Classifier` for `local/sst2-sentiment`. The model loads on the first `predict`."""

    name: str = MODEL_NAME
    labels: tuple[str, ...] = LABELS

    def __init__(self, model: SentimentModel | None = None) -> None:
        self._model = model
        self.queries = 0

    def model(self) -> SentimentModel:
        if self._model is None:
            self._model = load_sentiment_model()
        return self._model

    def predict_sync(self, inputs: Sequence[TextInput]) -> LabelScores:
        self.queries += len(inputs)
        return LabelScores(LABELS, self.model().scores([as_text(i) for i in inputs]))

    async def predict(self, inputs: Sequence[TextInput]) -> LabelScores:
        if self._model is None:
            await asyncio.to_thread(self.model)
        return self.predict_sync(inputs)
