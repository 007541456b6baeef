"""Hyphenated compounds that a character edit broke (`fisho-ut-of-water`, `hDlf-hearted`).

A compound with an unknown part is repaired as a whole when the repaired compound is a
known one (`cookie-cuttr`); else a
hyphen moved by one letter is put back when that makes every part a word
(`halfh-earted` -> `half-hearted`); else its one unknown part is repaired as a word, in
the context of the parts beside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

COMPOUND = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)+")
_MIN_PART = 2


class Part(NamedTuple):
    """The one unknown part of a compound, with its neighbouring parts for context."""

    at: int
    left: str | None
    right: str | None


def broken(form: str, known: Callable[[str], bool]) -> bool:
    """A hyphenated word unknown as a whole, with an unknown part (a compound of known
    words, `multi-dimensional`, is taken as it is: most unknown compounds are such)."""
    return (COMPOUND.fullmatch(form) is not None and not known(form.lower())
            and not all(map(known, form.lower().split("-"))))


def shifted(form: str, known: Callable[[str], bool]) -> str | None:
    """`fisho-ut-of-water` -> `fish-out-of-water`: one hyphen moved back by one letter
    (only when a part is unknown: `fly-on-the-wall` is no `fl-yon-the-wall`)."""
    for i, char in enumerate(form):
        if char != "-":
            continue
        for j in (i - 1, i + 1):
            chars = list(form)
            chars[i], chars[j] = chars[j], chars[i]
            moved = "".join(chars)
            parts = moved.lower().split("-")
            if all(len(p) >= _MIN_PART and known(p) for p in parts):
                return moved
    return None


def unknown_part(form: str, known: Callable[[str], bool]) -> Part | None:
    parts = form.split("-")
    missing = [k for k, p in enumerate(parts) if not known(p.lower())]
    if len(missing) != 1:
        return None
    k = missing[0]
    return Part(k, parts[k - 1].lower() if k else None,
                parts[k + 1].lower() if k + 1 < len(parts) else None)


def replace_part(form: str, at: int, new: str) -> str:
    parts = form.split("-")
    parts[at] = new
    return "-".join(parts)
