"""Word tokens of a (normalised) text, outside the spans that must never be edited.

The protected spans (code, markup, URLs, e-mails, paths, identifiers, hashtags, handles,
numbers) come from `spans`; words inside them are not tokens, so no word rule can touch
them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from llamos_gateway.lexical.spans import Span, protected

# Letters and digits, with inner apostrophes/hyphens and leet symbols between them.
_WORD = re.compile(r"[^\W_](?:[^\W_]|['’-](?=[^\W_])|[@$!|+](?=[^\W_]))*")


_APOSTROPHES = ("'", "’")


class Token(NamedTuple):
    start: int
    end: int
    text: str
    after_apostrophe: bool  # `'s`, `'ve`, `n't` pieces of SST-style contractions


def protected_spans(text: str) -> list[tuple[int, int]]:
    return [(s.start, s.end) for s in protected(text)]


def tokenize(text: str, spans: list[Span] | None = None) -> list[Token]:
    spans = protected(text) if spans is None else spans
    tokens: list[Token] = []
    cut = 0
    for span in [*spans, Span(len(text), len(text), "")]:
        if cut < span.start:
            tokens.extend([Token(m.start(), m.end(), m.group(), text[m.start() - 1:m.start()] in _APOSTROPHES)
                           for m in _WORD.finditer(text, cut, span.start)])
        cut = max(cut, span.end)
    return tokens


def adjacent(text: str, left: Token, right: Token) -> bool:
    """Only spaces between two tokens (a bigram context), no punctuation."""
    return text[left.end:right.start].isspace()
