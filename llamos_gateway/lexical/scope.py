"""`UnknownWordScope`: the word replacements a tiered purifier keeps from its agent.

The screen (the lexical pass) knows which words are English: a word it knows is not the
agent's to change, since a weak defense model "corrects" real words, names and slang as
readily as typos. What is left to the agent is what the screen could not read: a word the
lexicon does not know, outside code, markup, URLs and other protected spans, replaced by a
word the lexicon knows, within `max_distance` character edits (optimal string alignment:
insertions, deletions, substitutions, adjacent transpositions), with its case kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import OSA

from llamos_gateway.defense.tiered import WordChange, touches
from llamos_gateway.lexical.lexicon import Lexicon
from llamos_gateway.lexical.spans import protected

SCOPE_VERSION = 1


class UnknownWordScope:
    """Implements `defense.tiered.AgentScope`."""

    def __init__(self, lexicon: Lexicon, max_distance: int = 2) -> None:
        self._lexicon = lexicon
        self._max_distance = max_distance

    @property
    def identity(self) -> str:
        return f"unknown-words-v{SCOPE_VERSION}|d={self._max_distance}"

    def allowed(self, text: str, changes: Sequence[WordChange]) -> list[bool]:
        spans = [(s.start, s.end) for s in protected(text)]
        return [not touches(spans, c.start, c.end) and self.allows(c) for c in changes]

    def allows(self, change: WordChange) -> bool:
        before, after = change.before, change.after
        if not (before.isalpha() and after.isalpha()) or _case(before) != _case(after):
            return False
        old, new = before.lower(), after.lower()
        lexicon = self._lexicon
        if lexicon.is_known(old) or lexicon.is_name(old) or not lexicon.is_known(new):
            return False
        return OSA.distance(old, new, score_cutoff=self._max_distance) <= self._max_distance


def _case(word: str) -> str:
    """lower, Title, UPPER or mixed: a replacement keeps its word's."""
    if word.islower():
        return "lower"
    if word.isupper():
        return "upper" if len(word) > 1 else "title"
    if word[0].isupper() and word[1:].islower():
        return "title"
    return "mixed"
