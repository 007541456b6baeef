"""Reading order of text reordered with bidi controls (UAX #9, through `python-bidi`).

Override, embedding and isolate controls make a renderer show characters in another order
than they are stored: `\\u202eevom\\u202c` is read as "move". Stripping the controls alone
would expose the stored order; instead each paragraph holding such controls is laid out
with a real implementation of the Unicode Bidirectional Algorithm and the visual order is
taken as the text the reader saw. Text whose controls change nothing on screen (marks
around a right-to-left quotation, say) keeps its order; the controls themselves are left
for `invisible` to remove. The one module that imports `bidi`.
"""

from __future__ import annotations

import re

from bidi import get_display

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.rewrites import Change

CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = re.compile(f"[{CONTROLS}]")
_STRIP = str.maketrans("", "", CONTROLS)
# Controls that can put characters at an odd (right-to-left) level.
_RTL_CONTROL = re.compile("[\u202b\u202e\u2067\u2068]")
_LINE = re.compile(r"[^\n\r\u2029]+")


def reading_order(text: str) -> list[Change]:
    if _CONTROL.search(text) is None:
        return []
    changes: list[Change] = []
    for line in _LINE.finditer(text):
        if _CONTROL.search(line.group()) is None:
            continue
        shown = _visual(line.group())
        if shown is not None:
            changes.append(_change(line.start(), line.group(), shown))
    return changes


def shown(text: str) -> str:
    """`text` in the order a reader sees it, without the controls (for tests and generators)."""
    return "\n".join(str(get_display(line)).translate(_STRIP) for line in text.split("\n"))


def _visual(line: str) -> str | None:
    """The line in the order a reader sees it, or None when the controls move nothing."""
    plain = line.translate(_STRIP)
    rtl_text = scripts.RIGHT_TO_LEFT.search(plain) is not None
    if not rtl_text and _RTL_CONTROL.search(line) is None:
        return None  # every level even: nothing is reversed
    shown = str(get_display(line)).translate(_STRIP)
    if not rtl_text:
        return None if shown == plain else shown
    if str(get_display(plain)) == shown:
        return None
    # right-to-left letters keep their stored order; find a stored order that shows as `shown`
    stored = str(get_display(shown))
    return stored if str(get_display(stored)) == shown else None


def _change(offset: int, line: str, shown: str) -> Change:
    """One change for the part of the line that differs (the common ends stay)."""
    head = _common_prefix(line, shown)
    tail = _common_prefix(line[head:][::-1], shown[head:][::-1])
    return Change(offset + head, offset + len(line) - tail, shown[head:len(shown) - tail], "bidi")


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix, by bisection on slice comparisons (linear, in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid - 1
    return low
