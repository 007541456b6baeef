"""Character-level normalisation: invisible and bidi controls out, then Unicode NFKC.

The result keeps, for every output character, the span of input characters it came
from, so word-level edits made later can be reported against the caller's text.
Plain ASCII input takes a fast path and is returned as is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from llamos_gateway.defense.protocol import Edit

# Always removed: zero-width space, word joiner, invisible operators, BOM/ZWNBSP, soft
# hyphen, combining grapheme joiner, Mongolian vowel separator, Hangul fillers, bidi
# embeddings/overrides/isolates, tag characters, variation selectors supplement.
_ALWAYS = frozenset(
    [0x200B, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF, 0x00AD, 0x034F, 0x180E,
     0x115F, 0x1160, 0x3164, 0xFFA0]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
    + list(range(0xE0000, 0xE0080))
    + list(range(0xE0100, 0xE01F0))
)
# Joiners are part of emoji sequences and of Arabic/Indic spelling: removed only between
# Latin letters, digits, spaces or text ends. Directional marks belong to right-to-left
# text: removed only when no right-to-left letter is next to them.
_JOINERS = frozenset([0x200C, 0x200D])
_MARKS = frozenset([0x200E, 0x200F, 0x061C])
_SELECTORS = frozenset(range(0xFE00, 0xFE10))


@dataclass(frozen=True, slots=True)
class Normalised:
    """`text` plus, per character, the input span `[starts[i], ends[i])` it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    edits: tuple[Edit, ...]
    invisible: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The input span behind `text[start:end]` (an empty span maps to a point)."""
        if start >= end:
            point = self.starts[start] if start < len(self.starts) else self.source_len
            return point, point
        return self.starts[start], self.ends[end - 1]

    @property
    def source_len(self) -> int:
        return self.ends[-1] if self.ends else 0


def normalise(text: str) -> Normalised:
    if text.isascii():
        positions = tuple(range(len(text)))
        return Normalised(text, positions, tuple(range(1, len(text) + 1)), (), 0)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    edits: list[Edit] = []
    invisible = 0
    for start, end in _clusters(text):
        cluster = text[start:end]
        if end - start == 1 and _invisible(text, start):
            edits.append(Edit(start, end, cluster, "", "invisible"))
            invisible += 1
            continue
        folded = unicodedata.normalize("NFKC", cluster)
        if folded != cluster:
            edits.append(Edit(start, end, cluster, folded, "nfkc"))
        out.append(folded)
        starts.extend([start] * len(folded))
        ends.extend([end] * len(folded))
    return Normalised("".join(out), tuple(starts), tuple(ends), tuple(_merge(edits)), invisible)


def _clusters(text: str) -> list[tuple[int, int]]:
    """A base character with the combining marks that follow it (NFKC composes within)."""
    spans: list[tuple[int, int]] = []
    for i, char in enumerate(text):
        if spans and unicodedata.combining(char) and not _invisible(text, i):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def _invisible(text: str, i: int) -> bool:
    code = ord(text[i])
    if code in _ALWAYS:
        return True
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if code in _JOINERS:
        return _plain(before) and _plain(after)
    if code in _MARKS:
        return not (_rtl(before) or _rtl(after))
    if code in _SELECTORS:
        return before.isascii() and before.isalnum()
    return False


def _plain(char: str) -> bool:
    return char.isspace() or (char.isascii() and char.isalnum()) or _latin_letter(char)


def _latin_letter(char: str) -> bool:
    return char.isalpha() and "LATIN" in unicodedata.name(char, "")


def _rtl(char: str) -> bool:
    return unicodedata.bidirectional(char) in ("R", "AL")


def _merge(edits: list[Edit]) -> list[Edit]:
    """Join edits of one rule that touch each other into one edit."""
    merged: list[Edit] = []
    for edit in edits:
        last = merged[-1] if merged else None
        if last is not None and last.rule == edit.rule and last.end == edit.start:
            merged[-1] = Edit(last.start, edit.end, last.before + edit.before,
                              last.after + edit.after, edit.rule)
        else:
            merged.append(edit)
    return merged
