"""Context-ranked repair of out-of-vocabulary words (a small noisy-channel model).

Each candidate `c` for an unknown word `w` between `left` and `right` is scored
`log P(c | left) + log P(right | c) + log P(w | c)`: bigram counts with a stupid-backoff
to unigram counts, and an edit cost that is lower for the common slips (doubled or
dropped letters, swapped neighbours, keyboard neighbours, vowel confusions). The word is
kept as it is, an unseen word with its own small probability, unless the best
candidate beats keeping it and every other candidate by a clear margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from llamos_gateway.lexical.lexicon import Lexicon

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = frozenset("aeiouy")


def _keyboard() -> dict[str, frozenset[str]]:
    where = {c: (r, i) for r, row in enumerate(_ROWS) for i, c in enumerate(row)}
    near: dict[str, set[str]] = {c: set() for c in where}
    for a, (ra, ia) in where.items():
        for b, (rb, ib) in where.items():
            if a != b and abs(ra - rb) <= 1 and abs((ia + 0.5 * ra) - (ib + 0.5 * rb)) <= 1:
                near[a].add(b)
    return {c: frozenset(s) for c, s in near.items()}


@dataclass(frozen=True, slots=True)
class SpellingModel:
    """Tuning knobs (natural-log units)."""

    edit_cost: float = 5.0
    cheap_edit_cost: float = 3.5
    backoff: float = 0.4
    unseen_count: float = 2e5
    margin: float = 2.0
    ambiguity: float = 1.0
    min_length: int = 3


@dataclass(frozen=True, slots=True)
class Correction:
    word: str
    score: float
    keep_score: float
    distance: int


class Speller:
    def __init__(self, lexicon: Lexicon, model: SpellingModel | None = None) -> None:
        self._lexicon = lexicon
        self._model = model or SpellingModel()
        self._total = float(sum(lexicon.words.values()))
        self._near = _keyboard()

    def candidates(self, word: str, left: str | None, right: str | None) -> list[Correction]:
        """Scored candidates, best first (empty when the word is too short or has none)."""
        if len(word) < self._model.min_length:
            return []
        keep = self._keep_score(left, right)
        scored = [Correction(c, self._score(word, c, d, left, right), keep, d)
                  for c, d in self._lexicon.near(word)]
        scored.sort(key=lambda item: (-item.score, item.word))
        return scored

    def correct(self, word: str, left: str | None, right: str | None) -> Correction | None:
        ranked = self.candidates(word, left, right)
        if not ranked:
            return None
        best = ranked[0]
        if best.score - best.keep_score < self._model.margin:
            return None
        if len(ranked) > 1 and best.score - ranked[1].score < self._model.ambiguity:
            return None
        return best

    def near_miss(self, word: str) -> bool:
        """True when a frequent word lies one edit away (a likely typo left unrepaired)."""
        return len(word) >= self._model.min_length and any(
            d == 1 and self._lexicon.count(c) > 100 * self._model.unseen_count
            for c, d in self._lexicon.near(word))

    def _score(self, word: str, cand: str, distance: int, left: str | None,
               right: str | None) -> float:
        lex = self._lexicon
        count = lex.count(cand)
        score = self._given_left(cand, count, left)
        if right is not None and lex.count(right) > 0:
            pair = lex.pair(cand, right)
            score += math.log(pair / count if pair else self._model.backoff *
                              lex.count(right) / self._total)
        return score - self._edit_cost(word, cand, distance)

    def _given_left(self, cand: str, count: int, left: str | None) -> float:
        lex = self._lexicon
        if left is not None and lex.count(left) > 0:
            pair = lex.pair(left, cand)
            if pair:
                return math.log(pair / lex.count(left))
            return math.log(self._model.backoff * count / self._total)
        return math.log(count / self._total)

    def _keep_score(self, left: str | None, right: str | None) -> float:
        lex = self._lexicon
        score = math.log(self._model.unseen_count / self._total)
        if left is not None and lex.count(left) > 0:
            score += math.log(self._model.backoff)
        if right is not None and lex.count(right) > 0:
            score += math.log(self._model.backoff * lex.count(right) / self._total)
        return score

    def _edit_cost(self, word: str, cand: str, distance: int) -> float:
        model = self._model
        if distance != 1:
            return model.edit_cost * distance
        return model.cheap_edit_cost if self._cheap(word, cand) else model.edit_cost

    def _cheap(self, word: str, cand: str) -> bool:
        if Levenshtein.distance(word, cand) == 2:
            return True  # swapped neighbours
        if len(word) != len(cand):
            longer, shorter = (word, cand) if len(word) > len(cand) else (cand, word)
            i = next((k for k in range(len(shorter)) if longer[k] != shorter[k]), len(shorter))
            extra = longer[i]
            return (i > 0 and longer[i - 1] == extra) or (i + 1 < len(longer)
                                                         and longer[i + 1] == extra)
        i = next(k for k in range(len(word)) if word[k] != cand[k])
        a, b = word[i], cand[i]
        return b in self._near.get(a, frozenset()) or (a in _VOWELS and b in _VOWELS)
