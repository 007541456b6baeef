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

import functools
import re
import unicodedata

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.bidi import CONTROLS
from llamos_gateway.lexical.lines import Lines
from llamos_gateway.lexical.rewrites import Change

TATWEEL = "\u0640"
_ALWAYS_CHARS = "".join(
    [*"\u00ad\u034f\u115f\u1160\u180e\u200b\u3164\ufeff\uffa0", *CONTROLS]
    + [chr(c) for lo, hi in ((0x2060, 0x2064), (0x206A, 0x206F), (0xFFF9, 0xFFFB),
                             (0x1D173, 0x1D17A)) for c in range(lo, hi + 1)])
_ALWAYS = re.escape(_ALWAYS_CHARS)
_JOINERS = "\u200c\u200d"
_MARKS = "\u200e\u200f\u061c"
_SELECTORS = "\ufe00-\ufe0f\U000e0100-\U000e01ef\u180b-\u180d\u180f"
_TAGS = "\U000e0000-\U000e007f"
# Runs of always-removed characters and joiners, with short ASCII stretches between them:
# in Latin text (the attack) one match and one C-level deletion per stretch.
_INVISIBLE = _ALWAYS + _JOINERS
_STRETCH = re.compile(f"[{_INVISIBLE}](?:[\x00-\x7f]{{0,8}}[{_INVISIBLE}])*")
_INVISIBLE_SET = frozenset(_ALWAYS_CHARS + _JOINERS)
_DROP = str.maketrans("", "", _ALWAYS_CHARS + _JOINERS)
_TATWEELS = re.compile(TATWEEL + "+")
_FLAG = "\U0001f3f4"
_TAG_END = "\U000e007f"
# Kept in some places, decided one by one (they are rare): marks, selectors, tags.
_CANDIDATE = re.compile(f"[{_MARKS}{_SELECTORS}{_TAGS}]+")
_MAX_TAGS = 31
_TAG_RUN = re.compile("[\U000e0020-\U000e007e]+\U000e007f")


def invisible(text: str) -> tuple[list[Change], int]:
    """Changes removing what the reader cannot see, and how many characters went."""
    changes: list[Change] = []
    for match in _STRETCH.finditer(text):
        start, end = match.span()
        stretch = match.group()
        if stretch.count("\u200c") + stretch.count("\u200d") and not (
                _ascii_at(text, start - 1) and _ascii_at(text, end)):
            changes.extend(_one_by_one(text, start, end))
        else:
            changes.append(Change(start, end, stretch.translate(_DROP), "invisible"))
    changes.extend(Change(m.start(), m.end(), "", "tatweel") for m in _TATWEELS.finditer(text))
    rtl_lines: Lines | None = None
    for match in _CANDIDATE.finditer(text):
        start, end = match.span()
        char = text[start]
        if _flag_tags(text, start, end):
            continue
        if end - start == 1 and char not in _MARKS and not "\U000e0000" <= char <= _TAG_END:
            if _selector_fits(text[start - 1] if start else " ", char):  # one selector
                continue
            after = ""
        else:
            rtl_lines = rtl_lines or Lines(text, scripts.RIGHT_TO_LEFT)
            after = "".join(text[i] for i in range(start, end)
                            if _keep(text, i, start, rtl_lines))
        if after != match.group():
            changes.append(Change(start, end, after, "invisible"))
    changes.sort(key=lambda c: c.start)
    removed = sum(c.end - c.start - len(c.after) for c in changes)
    return changes, removed


def _ascii_at(text: str, i: int) -> bool:
    return not 0 <= i < len(text) or text[i] < "\x80"


def _one_by_one(text: str, start: int, end: int) -> list[Change]:
    """Each character of a stretch next to other scripts or emoji, decided on its own."""
    changes = []
    for i in range(start, end):
        char = text[i]
        if char in _JOINERS and _keep_joiner(text, i):
            continue
        if char in _INVISIBLE_SET:
            changes.append(Change(i, i + 1, "", "invisible"))
    return changes


def _keep(text: str, i: int, run_start: int, rtl_lines: Lines) -> bool:
    char = text[i]
    before = text[i - 1] if i > 0 else " "
    if char in _MARKS:
        return rtl_lines.has(i)
    if "\U000e0000" <= char <= _TAG_END:
        return _in_flag(text, i)
    if char == TATWEEL or i > run_start:
        return False  # a second selector on one character, or a stretch stroke
    return _selector_fits(before, char)


def _keep_joiner(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if not (unicodedata.combining(before) or unicodedata.combining(after)):
        return _joiner_fits(text[i], before, after, i > 0 and i + 1 < len(text))
    if text[i] == "\u200d" and scripts.emoji_part(before) and (
            scripts.pictograph(after) or scripts.emoji_part(after)):
        return True
    return _joining_next_to(text, i)


@functools.lru_cache(maxsize=4096)
def _joiner_fits(joiner: str, before: str, after: str, inside: bool) -> bool:
    """`_keep_joiner` for a joiner between two characters that are no combining marks."""
    if joiner == "\u200d" and scripts.emoji_part(before) and (
            scripts.pictograph(after) or scripts.emoji_part(after)):
        return True
    return inside and scripts.joining(before) and scripts.joining(after)


def _flag_tags(text: str, start: int, end: int) -> bool:
    """`text[start:end]` is the tag run of an emoji flag (England, Scotland, Wales)."""
    return (start > 0 and text[start - 1] == _FLAG and end - start <= _MAX_TAGS
            and text[end - 1] == _TAG_END and _TAG_RUN.fullmatch(text, start, end) is not None)


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


@functools.lru_cache(maxsize=4096)
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
