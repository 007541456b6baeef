"""One lexical purifier and one n-gram model for the session (both load from the on-disk
cache; the n-gram model is trained there on first use, about half a minute)."""

from __future__ import annotations

import pytest

from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.ranking import training
from llamos_gateway.ranking.ngram import NgramModel


@pytest.fixture(scope="session")
def lexical() -> LexicalPurifier:
    return LexicalPurifier()


@pytest.fixture(scope="session")
def ngram() -> NgramModel:
    return training.load_or_train()
