"""Word transformations for the offline attacker, taken from TextAttack (imported lazily).

Each transformation maps one word to candidate replacements; an empty string deletes the
word. TextAttack's character swaps, insertions, deletions and QWERTY substitutions, its
invisible-character swap and its word deletion are used as they are. Its homoglyph swap
cannot be built from the textattack 0.3.11 wheel (the wheel lacks
`shared/intentional_homoglyphs.txt`); a small Latin -> Cyrillic/Greek map stands in then.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from llamos_gateway.errors import InvalidRequest

NAMES = ("swap", "insert", "delete_char", "qwerty", "homoglyph", "invisible", "delete_word")
DEFAULT = NAMES

# Visually identical (or nearly) letters: the stand-in when TextAttack's table is missing.
HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "i": "і", "j": "ј", "o": "о", "p": "р",
              "s": "ѕ", "x": "х", "y": "у", "d": "ԁ", "h": "һ", "l": "ӏ", "g": "ɡ"}


class WordTransform(Protocol):
    name: str

    def candidates(self, word: str, seed: int) -> list[str]: ...


class TextAttackSwap:
    """A TextAttack `WordSwap`, asked for every replacement of one word (seeded: some are
    random)."""

    def __init__(self, name: str, swap: Any) -> None:
        self.name = name
        self._swap = swap

    def candidates(self, word: str, seed: int) -> list[str]:
        # TextAttack draws from the global `random` and `numpy.random`: seed them for this call
        # only, and give the caller's streams back.
        saved, saved_np = random.getstate(), np.random.get_state()
        random.seed(seed)
        np.random.seed(seed % 2**32)
        try:
            found = self._swap._get_replacement_words(word)
        finally:
            random.setstate(saved)
            np.random.set_state(saved_np)
        return [w for w in dict.fromkeys(found) if w != word]


class WordDeletionTransform:
    name = "delete_word"

    def candidates(self, word: str, seed: int) -> list[str]:
        return [""]


class HomoglyphMap:
    name = "homoglyph"

    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    def candidates(self, word: str, seed: int) -> list[str]:
        return [word[:i] + self._table[ch] + word[i + 1:] for i, ch in enumerate(word)
                if ch in self._table]


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in NAMES]
    if unknown or not names:
        raise InvalidRequest(f"unknown transformation(s) {', '.join(unknown) or '(none)'} "
                             f"(known: {', '.join(NAMES)})", param="transformations")
    return tuple(names)


def textattack_transforms(names: Sequence[str] = DEFAULT) -> dict[str, WordTransform]:
    """Build the named transformations. Imports TextAttack (seconds, once per process)."""
    from llamos_gateway.evaluation.nltk_data import prepare_offline

    prepare_offline()
    from textattack.transformations import (
        WordSwapHomoglyphSwap,
        WordSwapInvisibleCharacters,
        WordSwapNeighboringCharacterSwap,
        WordSwapQWERTY,
        WordSwapRandomCharacterDeletion,
        WordSwapRandomCharacterInsertion,
    )

    inner = {"skip_first_char": True, "skip_last_char": True, "random_one": False}
    out: dict[str, WordTransform] = {}
    for name in check_names(names):
        if name == "swap":
            out[name] = TextAttackSwap(name, WordSwapNeighboringCharacterSwap(**inner))
        elif name == "insert":
            out[name] = TextAttackSwap(name, WordSwapRandomCharacterInsertion(**inner))
        elif name == "delete_char":
            out[name] = TextAttackSwap(name, WordSwapRandomCharacterDeletion(**inner))
        elif name == "qwerty":
            out[name] = TextAttackSwap(name, WordSwapQWERTY(**inner))
        elif name == "invisible":
            out[name] = TextAttackSwap(name, WordSwapInvisibleCharacters(random_one=False))
        elif name == "homoglyph":
            try:
                out[name] = TextAttackSwap(name, WordSwapHomoglyphSwap(random_one=False))
            except FileNotFoundError:
                out[name] = HomoglyphMap(HOMOGLYPHS)
        else:
            out[name] = WordDeletionTransform()
    return out
