"""Leetspeak folded inside words (`g00d` -> `good`), only when the result is a word.

Numbers, ordinals, decades and units (`1990s`, `2nd`, `3d`, `5am`) and codes (`B19`, `c46e`)
are never touched; a
token with a single letter only becomes a very common word (`7h3` -> `the`).
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
    r"^\d*(?:1st|2nd|3rd|\dth)$"
    r"|^\d+(?:s|d|k|m|b|x|p|am|pm|mm|cm|km|kg|g|gb|mb|hz|fps|mph|yo)?$",
    re.IGNORECASE,
)
# Codes, not words: a capital and digits (`B19`, `A380`, `37N`), or hexadecimal of eight
# characters or more with two digits or more (`d09d6d6e`).
_CODE = re.compile(r"^(?:[A-Z]\d+|\d+[A-Z]|(?=(?:[a-f]*\d){2})[0-9a-f]{8,}"
                   r"|(?=(?:[A-F]*\d){2})[0-9A-F]{8,})$")
_MAX_VARIANTS = 32
_MAX_LENGTH = 30
# With fewer than two letters left (`7h3`, `h45`) the token says little: only a very
# common word is taken (`the`, `has`), so `mi5` or `b12` stay what they are.
_COMMON = 5e7


def candidates(token: str) -> list[str]:
    """Every letter spelling of `token` (lowercased), or [] when it is no leet word."""
    if not 3 <= len(token) <= _MAX_LENGTH or _NUMBERISH.match(token) or _CODE.match(token):
        return []
    if not any(char.isalpha() for char in token) or not any(c in LEET for c in token):
        return []
    if not all(char.isalpha() or char in LEET for char in token):
        return []
    options = [LEET.get(char, char.lower()) if not char.isalpha() else char.lower()
               for char in token]
    variants = itertools.islice(itertools.product(*options), _MAX_VARIANTS)
    return ["".join(v) for v in variants]


def unleet(token: str, count: Callable[[str], int], is_word: Callable[[str], bool]) -> str | None:
    """The most frequent word spelled by `token`, keeping an all-caps token in caps."""
    letters = sum(char.isalpha() for char in token)
    found = [word for word in candidates(token)
             if is_word(word) and count(word) >= (_COMMON if letters < 2 else 1)]
    if not found:
        return None
    best = max(found, key=lambda word: (count(word), word))
    upper = [char.isupper() for char in token if char.isalpha()]
    return best.upper() if all(upper) and len(upper) > 1 else best
