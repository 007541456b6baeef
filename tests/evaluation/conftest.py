"""Fixtures for the evaluation tests: the real local target and small fake purifiers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llamos_gateway.defense.protocol import PurifyRequest, PurifyResult
from llamos_gateway.evaluation.datasets import Dataset, load_dataset
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier, load_sentiment_model
from llamos_gateway.evaluation.textattack_adapter import HOMOGLYPHS

_BACK = {v: k for k, v in HOMOGLYPHS.items()}
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d"))


class RestoringPurifier:
    """Undoes homoglyphs and zero-width characters; records every request."""

    name = "restore"
    cache_identity = "restore"

    def __init__(self) -> None:
        self.history: list[PurifyRequest] = []

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        self.history.append(request)
        text = "".join(_BACK.get(ch, ch) for ch in request.text).translate(_INVISIBLE)
        return PurifyResult(original=request.text, purified=text, backend=self.name)


@pytest.fixture(scope="session")
def sst2() -> Dataset:
    return load_dataset("sst2")


@pytest.fixture(scope="session")
def classifier() -> LocalSentimentClassifier:
    return LocalSentimentClassifier(load_sentiment_model())


def right_answers(classifier: LocalSentimentClassifier, data: Dataset, n: int,
                  skip: int = 0) -> Dataset:
    """The first `n` examples (after `skip`) that the target classifies correctly."""
    predicted = classifier.predict_sync([e.input for e in data.examples]).predicted
    right = [e for e, p in zip(data.examples, predicted, strict=True) if p == e.label]
    return replace(data, examples=tuple(right[skip:skip + n]))


@pytest.fixture
def restorer() -> RestoringPurifier:
    return RestoringPurifier()
