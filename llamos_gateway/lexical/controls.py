"""Deletion controls: a backspace (U+0008) or delete (U+007F) erases the character before it.

"Bad Characters" (Boucher et al., 2022) hides a character from the reader by following it
with an eraser (`X\\b`): the text renders as if `X` were not there, while a model reads both.
The reader's text is restored by removing each eraser together with the character it
erases. A run of `k` erasers erases up to `k` characters, never across a line break or into
what an earlier run erased.
"""

from __future__ import annotations

import re

from llamos_gateway.lexical.rewrites import Change

_ERASERS = re.compile(r"[\x08\x7f]+")
# The usual case, one character and one eraser, pairs close together: found in C, one
# change per stretch (the general walk below handles runs of erasers).
_PAIRS = re.compile(r"[^\n\x08\x7f][\x08\x7f](?:[^\x08\x7f\n]{0,8}[^\n\x08\x7f][\x08\x7f])*")
_PAIR = re.compile(r"[^\n\x08\x7f][\x08\x7f]")
_HARD = re.compile(r"[\x08\x7f]{2}|(?:^|\n)[\x08\x7f]")


def deletions(text: str) -> list[Change]:
    if "\x08" not in text and "\x7f" not in text:
        return []
    if _HARD.search(text) is None:
        return [Change(m.start(), m.end(), _PAIR.sub("", m.group()), "deletion")
                for m in _PAIRS.finditer(text)]
    changes: list[Change] = []
    floor = 0
    for match in _ERASERS.finditer(text):
        start = max(floor, match.start() - (match.end() - match.start()))
        newline = text.rfind("\n", start, match.start())
        if newline != -1:
            start = newline + 1
        changes.append(Change(start, match.end(), "", "deletion"))
        floor = match.end()
    return changes
