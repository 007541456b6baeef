"""Excess combining marks ("Zalgo"): removed, while a letter's own accents stay.

Zalgo text stacks marks from the generic combining blocks (U+0300-036F and the like) on
letters, digits and spaces. Ordinary text almost never does: its accented Latin, Greek and
Cyrillic letters are precomposed code points (NFC), and a decomposed accent composes back
into one. So a text is taken for Zalgo when it holds one mark cluster that no language
writes: a mark no orthography uses, a generic mark on a character of another script or on
a digit or space, three marks or more, or an accent that does not compose with its letter
(Russian stress marks excepted). Then every generic mark is removed; precomposed letters
(`é`, `ệ`, `ñ`) are not marks and stay. Otherwise nothing is touched: a Russian stress mark,
a decomposed `e\\u0301` and a keycap `1\\ufe0f\\u20e3` are spelling. (A Yoruba `ẹ́` or a
Lithuanian `į̃`, whose accents do not compose, are taken for Zalgo: the price of catching a
single planted mark.)
"""

from __future__ import annotations

import re
import unicodedata

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.rewrites import Change

GENERIC = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_RUN = re.compile(f"[{GENERIC}]+")
# Accents that some orthography writes (Vietnamese, the Latin, Greek and Cyrillic
# alphabets): grave, acute, circumflex, tilde, macron, breve, dot above, diaeresis, hook
# above, ring, double acute, caron, double grave, inverted breve, horn, dot below,
# diaeresis below, ring below, comma below, cedilla, ogonek, circumflex below, breve below,
# tilde below, macron below. Any other generic mark is one no language writes.
_ORTHOGRAPHIC = frozenset("\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u0309\u030a"
                          "\u030b\u030c\u030f\u0311\u031b\u0323\u0324\u0325\u0326\u0327"
                          "\u0328\u032d\u032e\u0330\u0331")
_KEYCAP = "\u20e3"
_KEYCAP_BASES = frozenset("0123456789#*\ufe0f")
_STRESS = frozenset("\u0300\u0301")
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяАЕЁИОУЫЭЮЯ")
_OK, _ODD, _EXCESS = 0, 1, 2


def excess_marks(text: str) -> list[Change]:
    runs = list(_RUN.finditer(text))
    if not runs:
        return []
    odd = 0
    for run in runs:
        verdict = _judge(text[run.start() - 1] if run.start() else "", run.group())
        odd += verdict == _ODD
        if verdict == _EXCESS or odd >= 1:
            break
    else:
        return []
    changes = []
    for run in runs:
        base = text[run.start() - 1] if run.start() else ""
        keep = _KEYCAP if run.group() == _KEYCAP and base in _KEYCAP_BASES else ""
        if keep != run.group():
            changes.append(Change(run.start(), run.end(), keep, "zalgo"))
    return changes


def _judge(base: str, marks: str) -> int:
    if marks == _KEYCAP and base in _KEYCAP_BASES:
        return _OK
    if not base or not scripts.composing_base(base):
        return _EXCESS
    if len(marks) > 2 or not _ORTHOGRAPHIC.issuperset(marks):
        return _EXCESS
    if len(marks) == 1 and marks in _STRESS and base in _CYRILLIC_VOWELS:
        return _OK
    left = len(unicodedata.normalize("NFC", base + marks)) - 1
    if left == 0:
        return _OK
    return _ODD if left == 1 else _EXCESS
