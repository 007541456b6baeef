"""Invisible and formatting characters: removed where they carry nothing the reader sees.

Always removed: zero-width space, word joiner, invisible operators, BOM/ZWNBSP, soft
hyphen, combining grapheme joiner, Mongolian vowel separator, Hangul fillers, deprecated
format characters, interlinear annotation marks, musical format controls, the bidi
controls the `bidi` stage left (they moved nothing) and the Arabic tatweel (a stretched
joining stroke, no letter). Kept where they belong, removed elsewhere:

- ZWJ / ZWNJ inside emoji sequences (ZWJ only) and between two letters of joining
  scripts (Arabic, Persian, Syriac, Mongolian, the Brahmic scripts); so never next to
  punctuation, spaces or Latin letters;
- LRM / RLM / ALM on a line with right-to-left letters;
- variation selectors right after an emoji or symbol (U+FE0E/FE0F, keycaps), a CJK
  ideograph (ideographic variation sequences) or a Mongolian letter; one per character;
- tag characters only inside an emoji tag sequence (the England, Scotland, Wales flags).

Runs are found with one regular expression, so clean text costs one scan.
"""

from __future__ import annotations

import re
import unicodedata

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.bidi import CONTROLS
from llamos_gateway.lexical.lines import Lines
from llamos_gateway.lexical.rewrites import Change

TATWEEL = "\u0640"
_ALWAYS = (
    "\u00ad\u034f\u115f\u1160\u180e\u200b\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0"
    "\ufff9-\ufffb\U0001d173-\U0001d17a" + CONTROLS
)
_JOINERS = "\u200c\u200d"
_MARKS = "\u200e\u200f\u061c"
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u180f"
_TAGS = "\U000e0000-\U000e007f"
_CANDIDATE = re.compile(f"[{_ALWAYS}{TATWEEL}{_JOINERS}{_MARKS}{_SELECTORS}{_TAGS}]+")
_ALWAYS_RUN = re.compile(f"[{_ALWAYS}]+")
_FLAG = "\U0001f3f4"
_TAG_END = "\U000e007f"


def invisible(text: str) -> tuple[list[Change], int]:
    """Changes removing what the reader cannot see, and how many characters went."""
    changes: list[Change] = []
    removed = 0
    rtl_lines: Lines | None = None
    for match in _CANDIDATE.finditer(text):
        start, end = match.span()
        if _ALWAYS_RUN.fullmatch(text, start, end) is not None:
            changes.append(Change(start, end, "", "invisible"))
            removed += end - start
            continue
        rtl_lines = rtl_lines or Lines(text, scripts.RIGHT_TO_LEFT)
        kept = [text[i] for i in range(start, end) if _keep(text, i, start, rtl_lines)]
        after = "".join(kept)
        if after != match.group():
            rule = "tatweel" if set(match.group()) == {TATWEEL} else "invisible"
            changes.append(Change(start, end, after, rule))
            removed += end - start - len(after)
    return changes, removed


def _keep(text: str, i: int, run_start: int, rtl_lines: Lines) -> bool:
    char = text[i]
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if char in _JOINERS:
        if char == "\u200d" and scripts.emoji_part(before) and (
                scripts.pictograph(after) or scripts.emoji_part(after)):
            return True
        return _joining_next_to(text, i)
    if char in _MARKS:
        return rtl_lines.has(i)
    if "\U000e0000" <= char <= _TAG_END:
        return _in_flag(text, i)
    if char == TATWEEL or i > run_start:
        return False  # a second selector on one character, or a stretch stroke
    return _selector_fits(before, char)


def _joining_next_to(text: str, i: int) -> bool:
    """Letters (with their marks) of a joining script on both sides of position `i`."""
    j = i - 1
    while j >= 0 and unicodedata.combining(text[j]):
        j -= 1
    k = i + 1
    while k < len(text) and unicodedata.combining(text[k]):
        k += 1
    return j >= 0 and k < len(text) and scripts.joining(text[j]) and scripts.joining(text[k])


def _in_flag(text: str, i: int) -> bool:
    """Inside `U+1F3F4 tag... U+E007F` (at most 32 tags back to the flag)."""
    j = i
    while j > 0 and "\U000e0000" <= text[j - 1] <= _TAG_END and i - j < 32:
        j -= 1
    if j == 0 or text[j - 1] != _FLAG:
        return False
    k = i
    while k < len(text) and "\U000e0000" <= text[k] < _TAG_END and k - i < 32:
        k += 1
    return k < len(text) and text[k] == _TAG_END


def _selector_fits(base: str, selector: str) -> bool:
    if "\u180b" <= selector <= "\u180f":
        return "\u1800" <= base <= "\u18af"
    if selector >= "\U000e0100":
        return unicodedata.category(base) == "Lo" and "CJK" in unicodedata.name(base, "")
    if base in "0123456789#*":
        return selector == "\ufe0f"
    category = unicodedata.category(base)
    return (scripts.emoji_part(base) or category in ("So", "Sm")
            or "CJK" in unicodedata.name(base, ""))
