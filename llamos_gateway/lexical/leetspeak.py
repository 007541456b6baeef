"""Leetspeak folded inside words (`g00d` -> `good`), only when the result is a word.

Numbers, ordinals, decades and model numbers (`1990s`, `2nd`, `3d`, `mp3`, `b12`) are
never touched: a token needs two letters and a leet character between or before letters.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

LEET: dict[str, str] = {
    "0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
    "9": "g", "@": "a", "$": "s", "!": "i", "|": "l", "+": "t",
}
_NUMBERISH = re.compile(
    r"^\d+(?:st|nd|rd|th|s|d|k|m|b|x|p|am|pm|mm|cm|km|kg|g|gb|mb|hz|fps|mph|yo)?$"
    r"|^[a-z]{1,3}\d+$",
    re.IGNORECASE,
)
_MAX_VARIANTS = 32


def candidates(token: str) -> list[str]:
    """Every letter spelling of `token` (lowercased), or [] when it is no leet word."""
    if len(token) < 3 or _NUMBERISH.match(token):
        return []
    if sum(char.isalpha() for char in token) < 2 or not any(c in LEET for c in token):
        return []
    if not all(char.isalpha() or char in LEET for char in token):
        return []
    options = [LEET.get(char, char.lower()) if not char.isalpha() else char.lower()
               for char in token]
    variants = itertools.islice(itertools.product(*options), _MAX_VARIANTS)
    return ["".join(v) for v in variants]


def unleet(token: str, count: Callable[[str], int], is_word: Callable[[str], bool]) -> str | None:
    """The most frequent word spelled by `token`, keeping an all-caps token in caps."""
    found = [word for word in candidates(token) if is_word(word)]
    if not found:
        return None
    best = max(found, key=lambda word: (count(word), word))
    letters = [char for char in token if char.isalpha()]
    return best.upper() if all(char.isupper() for char in letters) else best
