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
_WORD = re.compile(r"[^\W_]+(?:['’@$!|+-][^\W_]+)*")


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
    apostrophes = "'" in text or "’" in text
    for span in [*spans, Span(len(text), len(text), "")]:
        if cut < span.start:
            if apostrophes:
                tokens.extend([Token(*m.span(), m.group(),
                                     text[m.start() - 1:m.start()] in _APOSTROPHES)
                               for m in _WORD.finditer(text, cut, span.start)])
            else:
                tokens.extend([Token(*m.span(), m.group(), False)
                               for m in _WORD.finditer(text, cut, span.start)])
        cut = max(cut, span.end)
    return tokens


def gaps(text: str, spans: list[Span]) -> list[tuple[int, int]]:
    """The stretches of `text` between the protected spans."""
    found: list[tuple[int, int]] = []
    cut = 0
    for span in [*spans, Span(len(text), len(text), "")]:
        if cut < span.start:
            found.append((cut, span.start))
        cut = max(cut, span.end)
    return found


def tokens_of(text: str, spans: list[Span]) -> list[str]:
    """The texts of `tokenize(text, spans)`, without positions (one C-level scan per gap)."""
    if not spans:
        return _WORD.findall(text)
    return [word for a, b in gaps(text, spans) for word in _WORD.findall(text, a, b)]


def words_of(text: str, spans: list[Span]) -> list[re.Match[str]]:
    """The matches behind `tokenize(text, spans)`."""
    if not spans:
        return list(_WORD.finditer(text))
    return [m for a, b in gaps(text, spans) for m in _WORD.finditer(text, a, b)]


def adjacent(text: str, left: Token, right: Token) -> bool:
    """Only spaces between two tokens (a bigram context), no punctuation."""
    return text[left.end:right.start].isspace()
