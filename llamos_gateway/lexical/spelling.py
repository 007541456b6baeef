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

from llamos_gateway.lexical import morphology
from llamos_gateway.lexical.lexicon import Lexicon

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = frozenset("aeiouy")


def _respaced(word: str, cand: str) -> bool:
    """`cand` only adds or drops hyphens or apostrophes (`hamfisted` -> `ham-fisted`,
    `foot-age` -> `footage`): both are spellings of the same word."""
    return cand.replace("-", "").replace("'", "") == word.replace("-", "").replace("'", "")


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
    """Tuning knobs (natural-log units); the defaults were tuned with `bench/lexical_bench.py`."""

    edit_cost: float = 5.0
    cheap_edit_cost: float = 3.5
    backoff: float = 0.4
    unseen_count: float = 4e5
    margin: float = 0.0
    ambiguity: float = 0.5
    min_length: int = 3
    max_length: int = 30  # longer "words" are no slips (and their edit sets would be huge)
    # Keeping an unknown word gets less likely with its length: a random long string is
    # seldom one edit away from a frequent word unless it is a slip of that word.
    length_penalty: float = 2.5
    long_from: int = 5
    long_cap: int = 3
    # extra cost of an edit to the first letter (names and prefixed words, seldom slips)
    first_letter_cost: float = 4.0
    # extra cost of a distance-2 candidate on top of two edits
    far_cost: float = 5.0
    # a regular derivation of a known word (`involvingly`) is more likely kept than a slip
    derived_bonus: float = 6.0
    # next to a proper name (`audrey tatou`, `breckin meyer`) an unknown word is likely one
    name_bonus: float = 4.0
    # an unrepaired word whose best candidate came this close to winning looks like a slip
    near_miss_gap: float = 8.0
    # keeping a word with a stray capital (`lNacks`) costs this much more: the capital
    # shows where it was edited, and the candidates are edits at that spot only
    stray_keep_cost: float = 3.0
    # a capitalised unknown word is a name more often than a slip: keeping it gains this
    capital_bonus: float = 6.0


@dataclass(frozen=True, slots=True)
class Correction:
    word: str
    score: float
    keep_score: float
    distance: int


@dataclass(frozen=True, slots=True)
class Assessment:
    """`gap`: how much better the best candidate scored than keeping the word."""

    fix: Correction | None
    near_miss: bool
    gap: float


class Speller:
    def __init__(self, lexicon: Lexicon, model: SpellingModel | None = None) -> None:
        self._lexicon = lexicon
        self._model = model or SpellingModel()
        self._total = float(sum(lexicon.words.values()))
        self._near = _keyboard()

    def candidates(self, word: str, left: str | None, right: str | None,
                   at: list[str] | None = None, capital: bool = False,
                   names: bool = True) -> list[Correction]:
        """Scored candidates, best first (empty when the word is too short or has none).

        `at`: the only candidates to weigh, edits at a spot known to be edited (one
        cheap edit each); by default every correction target within edit distance 2.
        `names`: a neighbour that is a name may make the word part of it (`robedt de niro`);
        False where the case shows it is not (a lowercase word beside a capitalised name)."""
        if not self._model.min_length <= len(word) <= self._model.max_length:
            return []
        model = self._model
        keep = self._keep_score(left, right) - model.length_penalty * min(
            model.long_cap, max(0, len(word) - model.long_from))
        if self._model.derived_bonus and morphology.derived(word, self._lexicon.in_dictionary):
            keep += self._model.derived_bonus
        if names and any(n is not None and self._lexicon.is_name(n) for n in (left, right)):
            keep += self._model.name_bonus
        if capital:
            keep += self._model.capital_bonus
        if at is None:
            near = self._lexicon.near(word, 1 if "-" in word else 2)
        else:
            keep -= model.stray_keep_cost
            near = tuple((c, 0) for c in at if c in self._lexicon.targets)
        scored = [Correction(c, self._score(word, c, d, left, right), keep, d or 1)
                  for c, d in near if not _respaced(word, c)]
        scored.sort(key=lambda item: (-item.score, item.word))
        return scored

    def assess(self, word: str, left: str | None, right: str | None,
               at: list[str] | None = None, capital: bool = False,
               names: bool = True) -> Assessment:
        """The repair of `word`, if one is clearly best, and whether it looks like a typo.
        `capital`: the word was written with a capital (`word` is its lowercase); `names`:
        see `candidates`."""
        ranked = self.candidates(word, left, right, at, capital, names)
        if not ranked:
            return Assessment(None, False, -math.inf)
        best = ranked[0]
        gap = best.score - best.keep_score
        near_miss = gap > -self._model.near_miss_gap
        if gap < self._model.margin:
            return Assessment(None, near_miss, gap)
        if len(ranked) > 1 and best.score - ranked[1].score < self._model.ambiguity:
            return Assessment(None, near_miss, gap)
        return Assessment(best, near_miss, gap)

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
        if distance == 0:  # an edit at a known spot
            return model.cheap_edit_cost
        first = model.first_letter_cost if word[:1] != cand[:1] else 0.0
        if distance != 1:
            return model.edit_cost * distance + model.far_cost + first
        return first + (model.cheap_edit_cost if self._cheap(word, cand) else model.edit_cost)

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
