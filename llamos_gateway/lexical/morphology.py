"""Derived forms of known words (`involvingly`, `strafings`, `cowrote`, `commodified`).

A word list cannot hold every inflection and derivation, and such a word is no typo:
spelling repair must leave it alone. Only regular English affixes are tried.
"""

from __future__ import annotations

from collections.abc import Callable

# (suffix, replacements for the stem end): `ably` -> `able`, `ied` -> `y`, ...
_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ically", ("ic", "ical")), ("ably", ("able",)), ("ibly", ("ible",)), ("ily", ("y",)),
    ("ies", ("y",)), ("ied", ("y",)), ("ier", ("y",)), ("iest", ("y",)),
    ("ings", ("ing", "", "e")), ("ing", ("", "e")), ("ers", ("er", "", "e")),
    ("est", ("", "e")), ("ed", ("", "e")), ("er", ("", "e")), ("es", ("",)),
    ("ly", ("",)), ("ness", ("",)), ("less", ("",)), ("ful", ("",)), ("ish", ("", "e")),
    ("ism", ("", "e")), ("ist", ("", "e")), ("like", ("",)), ("s", ("",)),
)
_DOUBLING = frozenset(["ed", "er", "est", "ing", "ings", "ers"])
PREFIXES = ("un", "re", "co", "non", "pre", "anti", "over", "under", "mis", "dis", "out",
             "super", "semi", "mid", "counter", "inter", "multi", "post", "sub", "hyper")
_MIN_STEM = 3


def derived(word: str, is_known: Callable[[str], bool]) -> bool:
    """True when `word` is a known word plus a regular suffix and/or prefix, or a compound."""
    return _suffixed(word, is_known) or _compound(word, is_known) or any(
        word.startswith(p) and len(word) - len(p) >= 4
        and (is_known(word[len(p):]) or _suffixed(word[len(p):], is_known))
        for p in PREFIXES)


def _compound(word: str, is_known: Callable[[str], bool]) -> bool:
    """Two known words of three letters or more written as one (`hamfisted`, `gutterball`)."""
    return any(is_known(word[:i]) and is_known(word[i:])
               for i in range(_MIN_STEM, len(word) - _MIN_STEM + 1))


def _suffixed(word: str, is_known: Callable[[str], bool]) -> bool:
    for suffix, ends in _SUFFIXES:
        if not word.endswith(suffix):
            continue
        stem = word[: -len(suffix)]
        if len(stem) < _MIN_STEM - 1:
            continue
        if suffix == "s" and stem.endswith("s"):
            continue
        for end in ends:
            if len(stem + end) >= _MIN_STEM and is_known(stem + end):
                return True
        if (suffix in _DOUBLING and len(stem) >= _MIN_STEM + 1 and stem[-1] == stem[-2]
                and is_known(stem[:-1])):
            return True  # doubled consonant: `biggest`, `clipped`
    return False
