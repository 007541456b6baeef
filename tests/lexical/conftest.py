"""One lexicon for the whole session: it loads from the on-disk cache (built on first use)."""

from __future__ import annotations

import pytest

from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.lexicon import Lexicon


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return Lexicon()


@pytest.fixture(scope="session")
def purifier(lexicon: Lexicon) -> LexicalPurifier:
    return LexicalPurifier(lexicon=lexicon)
