"""Candidate repairs of one word: lexicon words within edit distance 1 (deletions,
transpositions, insertions, substitutions: by a neighbouring key only for a real word) and,
for words the lexicon does not know, within distance 2; the lexical repair when there was
one. The original word is always the baseline a candidate must beat (see `decision`), so it
is not listed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from llamos_gateway.lexical.candidates import LETTERS, edits1

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _keyboard() -> dict[str, str]:
    where = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    return {a: "".join(sorted(b for b, (rb, ib) in where.items() if b != a and abs(ra - rb) <= 1
                              and abs((ia + 0.5 * ra) - (ib + 0.5 * rb)) <= 1))
            for a, (ra, ia) in where.items()}


KEYBOARD = _keyboard()


@dataclass(frozen=True, slots=True)
class Bounds:
    """How much is weighed: candidates per word, words per text, and how many neighbours of
    one word are looked at before the cheap pre-ranking keeps `per_word` of them."""

    per_word: int = 6
    words: int = 8
    pool: int = 48

    def identity(self) -> str:
        return f"cand={self.per_word}/{self.words}/{self.pool}"


@dataclass(frozen=True, slots=True)
class Candidate:
    word: str
    distance: int  # edit distance from the word as written (0: the lexical repair kept)
    source: str    # "lexical", "edit1", "edit2"


def keyboard_edits1(word: str) -> set[str]:
    """Deletions, adjacent transpositions, insertions of any letter, and substitutions by a
    neighbouring key."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    out.update(a + c + b[1:] for a, b in splits if b for c in KEYBOARD.get(b[0], ""))
    out.update(a + c + b for a, b in splits for c in LETTERS)
    out.discard(word)
    return out


_REMEMBERED = 50_000
_ENDINGS = ("s", "es", "d", "ed", "r", "er", "ly", "y")


def inflection(word: str, cand: str) -> bool:
    """`films`/`film`, `manage`/`manages`, `close`/`closer`: another form of the same word, a
    matter of grammar the score would decide on topic, not a slip an attacker planted."""
    short, long = sorted((word, cand), key=len)
    return long.startswith(short) and long[len(short):] in _ENDINGS


class Neighbours:
    """Candidate generation over a set of target words (`lexicon.targets`) and a distance-2
    search (`lexicon.near`), ordered by distance, then by how common a word is."""

    def __init__(self, targets: frozenset[str], count: Callable[[str], int],
                 near: Callable[[str, int], list[tuple[str, int]]],
                 is_name: Callable[[str], bool]) -> None:
        self._targets = targets
        self._count = count
        self._near = near
        self._is_name = is_name
        self._seen: dict[tuple[str, bool, str | None, int], list[Candidate]] = {}

    def of(self, word: str, *, known: bool, bounds: Bounds,
           lexical: str | None = None) -> list[Candidate]:
        """At most `bounds.pool` candidates for `word` (lowercase): distance 1 always,
        distance 2 only for a word the lexicon does not know. Remembered (the words of a
        language repeat), up to `_REMEMBERED` words."""
        key = (word, known, lexical, bounds.pool)
        seen = self._seen.get(key)
        if seen is None:
            if len(self._seen) >= _REMEMBERED:
                self._seen.clear()
            seen = self._seen[key] = self._find(word, known=known, bounds=bounds, lexical=lexical)
        return seen

    def _find(self, word: str, *, known: bool, bounds: Bounds,
              lexical: str | None) -> list[Candidate]:
        found: dict[str, Candidate] = {}
        if lexical is not None and lexical != word:
            found[lexical] = Candidate(lexical, 0, "lexical")
        near = keyboard_edits1(word) if known else edits1(word)
        # another form of the word (`heartstring`/`heartstrings`, `debuter`/`debut`) is left
        # as written, known or not: grammar, not a slip an attacker planted
        for cand in self._ranked(near & self._targets):
            if not inflection(word, cand):
                found.setdefault(cand, Candidate(cand, 1, "edit1"))
        if not known:
            far = [w for w, d in self._near(word, 2) if d == 2]
            for cand in self._ranked(far):
                if not inflection(word, cand):
                    found.setdefault(cand, Candidate(cand, 2, "edit2"))
        return list(found.values())[:bounds.pool]

    def _ranked(self, words: Iterable[str]) -> list[str]:
        """Most common first; names (`willis`) are no repair of a lowercase word."""
        return sorted((w for w in words if not self._is_name(w)),
                      key=lambda w: (-self._count(w), w))
