"""Word tokens of a (normalised) text, with the spans that must never be edited.

Protected: code spans and fenced blocks, URLs, e-mail addresses, paths and anything with a
slash or backslash, hashtags, @mentions, identifiers (`snake_case`, `dotted.names`,
`e.g.`). Words inside them are not tokens, so no rule can touch them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_PROTECTED = re.compile(
    r"```[\s\S]*?```"  # fenced code
    r"|(`+)(?=\S)[^\n]*?(?<=\S)\1(?!`)"  # inline code (SST's `` quote '' has a space)
    r"|\b(?:https?|ftp|file)://\S+|\bwww\.\S+"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|(?<!\S)(?=[^\s/\\]*\w|\S*[/\\]\S*\w)\S*[/\\]\S*"  # paths, fractions, and/or
    r"|(?<!\w)[#@]\w+"  # hashtags, mentions
    r"|\w+(?:[._]\w+)+\.?"  # identifiers, dotted abbreviations
    r"|\w*_\w*"
)
# Letters and digits, with inner apostrophes/hyphens and leet symbols between them.
_WORD = re.compile(r"[^\W_](?:[^\W_]|['’-](?=[^\W_])|[@$!|+](?=[^\W_]))*")


class Token(NamedTuple):
    start: int
    end: int
    text: str
    after_apostrophe: bool  # `'s`, `'ve`, `n't` pieces of SST-style contractions


# Cheap test for "may hold a protected span": most sentences hold none.
_MAYBE = re.compile(r"[`/\\@#_]|\w[.:]\w|www\.")


def protected_spans(text: str) -> list[tuple[int, int]]:
    if _MAYBE.search(text) is None:
        return []
    return [m.span() for m in _PROTECTED.finditer(text)]


def tokenize(text: str) -> list[Token]:
    spans = protected_spans(text)
    tokens: list[Token] = []
    cut = 0
    for start, end in [*spans, (len(text), len(text))]:
        for match in _WORD.finditer(text, cut, start):
            s = match.start()
            tokens.append(Token(s, match.end(), match.group(), s > 0 and text[s - 1] in "'’"))
        cut = end
    return tokens


def adjacent(text: str, left: Token, right: Token) -> bool:
    """Only spaces between two tokens (a bigram context), no punctuation."""
    return text[left.end:right.start].isspace()
