"""Compatibility forms folded where they disguise Latin text, and nowhere else.

- Full-width digits and punctuation (`１２３`, `！`) on a line without East Asian
  characters; in Chinese, Japanese or Korean text they are the ordinary ones.
- Mathematical digits (`𝟏𝟐`) and Latin ligatures (`ﬁ`), always.
- A Latin, Greek or Cyrillic letter followed by combining accents is composed (NFC), so that
  `cafe\\u0301` is spelt as `café` is.

Full-width and mathematical letters are look-alikes: `homoglyphs` folds them inside Latin
words, where the word around them tells `l` from `I`.

Everything else NFKC would change stays: no-break and narrow spaces, superscripts (`m²`),
fractions, `…`, `™`, `µ`, `℃`, half-width katakana.
"""

from __future__ import annotations

import re
import unicodedata

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.lines import Lines
from llamos_gateway.lexical.marks import GENERIC
from llamos_gateway.lexical.rewrites import Change

_FULLWIDTH = "\uff01-\uff20\uff3b-\uff40\uff5b-\uff5e"
_ALWAYS = "\U0001d7ce-\U0001d7ff\ufb00-\ufb06"
_COMPAT = re.compile(f"[{_FULLWIDTH}{_ALWAYS}]+")
_MARK = re.compile(f"[{GENERIC}]")
_ACCENTED = scripts.compile(f"[\\p{{Latin}}\\p{{Greek}}\\p{{Cyrillic}}][{GENERIC}]+")


def fold(text: str) -> list[Change]:
    changes: list[Change] = []
    lines: Lines | None = None
    seen: dict[str, str] = {}  # each distinct piece normalised once
    for match in _COMPAT.finditer(text):
        piece = match.group()
        if "\uff01" <= piece[0] <= "\uff5e":
            lines = lines or Lines(text, scripts.EAST_ASIAN)
            if lines.has(match.start()):
                continue
        folded = seen.get(piece)
        if folded is None:
            folded = seen[piece] = unicodedata.normalize("NFKC", piece)
        if folded != piece:
            changes.append(Change(*match.span(), folded, "nfkc"))
    if _MARK.search(text) is not None:
        for match in _ACCENTED.finditer(text):
            composed = unicodedata.normalize("NFC", match.group())
            if composed != match.group():
                changes.append(Change(match.start(), match.end(), composed, "nfkc"))
        changes.sort(key=lambda c: c.start)
    return changes
