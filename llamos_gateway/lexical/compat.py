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

import unicodedata

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.lines import Lines
from llamos_gateway.lexical.marks import GENERIC
from llamos_gateway.lexical.rewrites import Change

_FULLWIDTH = "\uff01-\uff20\uff3b-\uff40\uff5b-\uff5e"
_ALWAYS = "\U0001d7ce-\U0001d7ff\ufb00-\ufb06"
_CANDIDATE = scripts.compile(
    f"(?P<compat>[{_FULLWIDTH}{_ALWAYS}]+)|[\\p{{Latin}}\\p{{Greek}}\\p{{Cyrillic}}][{GENERIC}]+")


def fold(text: str) -> list[Change]:
    changes: list[Change] = []
    lines: Lines | None = None
    for match in _CANDIDATE.finditer(text):
        piece = match.group()
        compat = match.group("compat") is not None
        if compat and "\uff01" <= piece[0] <= "\uff5e":
            lines = lines or Lines(text, scripts.EAST_ASIAN)
            if lines.has(match.start()):
                continue
        folded = unicodedata.normalize("NFKC" if compat else "NFC", piece)
        if folded != piece:
            changes.append(Change(match.start(), match.end(), folded, "nfkc"))
    return changes
