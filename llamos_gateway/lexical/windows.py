"""Cut points of a long text: the windows the word rules look at one by one.

A window ends at a line break or after a sentence (else at a space) past every `WINDOW`
characters, and never inside a protected span. Chat register and foreign language are
decided per window, and a window of plain known words costs one scan.
"""

from __future__ import annotations

import re

from llamos_gateway.lexical.spans import Span

# Long texts are looked at in windows of about this many characters.
WINDOW = 2000
_BREAK = re.compile(r"\n|(?<=[.!?])\s")
_SPACE = re.compile(r"\s")


def windows(text: str, spans: list[Span]) -> list[tuple[int, int]]:
    """Cut points of a long text: at a line break or after a sentence (else at a space),
    past every `WINDOW` characters, never inside a protected span."""
    if len(text) <= WINDOW:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0
    k = 0
    while start < len(text):
        cut = (_BREAK.search(text, start + WINDOW, start + 2 * WINDOW)
               or _SPACE.search(text, start + WINDOW))
        end = len(text) if cut is None else cut.end()
        while k < len(spans) and spans[k].end <= end:
            k += 1
        if k < len(spans) and spans[k].start < end:  # inside a span: cut after it
            end = spans[k].end
        out.append((start, end))
        start = end
    return out
