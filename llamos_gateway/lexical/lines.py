"""Per-line questions about a text, each line looked at once (linear on any input)."""

from __future__ import annotations

import bisect
import re

from llamos_gateway.lexical.scripts import Pattern

_NEWLINE = re.compile("\n")


class Lines:
    """Whether the line holding a position contains a match of `pattern`."""

    def __init__(self, text: str, pattern: Pattern) -> None:
        self._text = text
        self._pattern = pattern
        self._breaks = [m.start() for m in _NEWLINE.finditer(text)]
        self._seen: dict[int, bool] = {}

    def has(self, at: int) -> bool:
        k = bisect.bisect_left(self._breaks, at)
        if k not in self._seen:
            start = self._breaks[k - 1] + 1 if k else 0
            end = self._breaks[k] if k < len(self._breaks) else len(self._text)
            self._seen[k] = self._pattern.search(self._text, start, end) is not None
        return self._seen[k]
