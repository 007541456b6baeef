"""The lexical purifier of the session (its lexicon loads once), for the tiered tests."""

from __future__ import annotations

import pytest

from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.lexicon import Lexicon


@pytest.fixture(scope="session")
def purifier() -> LexicalPurifier:
    return LexicalPurifier(lexicon=Lexicon())
