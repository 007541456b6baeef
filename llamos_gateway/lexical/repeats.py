"""Runs of three or more repeated letters (`baaaad`, `sooooo`) shortened to a word."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

_RUN = re.compile(r"([a-z])\1{2,}", re.IGNORECASE)
_MAX_RUNS = 4
_MAX_LENGTH = 64
# `ahhhh` and `sooo` are interjections as often as they are attacks: keep short results out.
_MIN_LENGTH = 3


def has_run(word: str) -> bool:
    return _RUN.search(word) is not None


def collapse(word: str, count: Callable[[str], int], is_word: Callable[[str], bool]) -> str | None:
    """The most frequent word obtained by cutting each run to one or two letters."""
    if len(word) > _MAX_LENGTH:
        return None
    runs = list(_RUN.finditer(word))
    if not runs or len(runs) > _MAX_RUNS:
        return None
    options = []
    for lengths in itertools.product((1, 2), repeat=len(runs)):
        pieces, last = [], 0
        for run, keep in zip(runs, lengths, strict=True):
            pieces.append(word[last:run.start()] + run.group(1) * keep)
            last = run.end()
        pieces.append(word[last:])
        options.append("".join(pieces))
    found = [w for w in options if len(w) >= _MIN_LENGTH and is_word(w.lower())]
    if not found:
        return None
    return max(found, key=lambda w: (count(w.lower()), -len(w), w))


_VOWEL_RUN = re.compile(r"([aeiouy])\1{2,}", re.IGNORECASE)
_FINAL_RUN = re.compile(r"([a-z])\1{2,}$", re.IGNORECASE)


def expressive(word: str) -> bool:
    """`yesss`, `pleeease`, `sooo`: a stretched last letter or vowel, as chat writes for
    emphasis (a planted run sits anywhere: `movvvie`, `fiiilm`)."""
    return _FINAL_RUN.search(word) is not None or _VOWEL_RUN.search(word) is not None


def stretched(word: str) -> bool:
    """`sooo`, `hmmm`, `whyyy`: the last letter held (emphasis, no slip)."""
    return _FINAL_RUN.search(word) is not None
