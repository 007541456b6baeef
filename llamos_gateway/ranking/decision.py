"""The decision rule: a candidate replaces a word only when its sentence scores better than
the sentence with the word as it stands by more than a margin.

Two margins, because the two kinds of word are not equally likely to be slips: a word the
lexicon does not know (or one the lexical pass already repaired) needs `unknown`; a real
word (`god` for `good`) needs `known`, set on clean text so that the clean-change budget
holds (`bench/ranked_calibrate.py`, recorded in docs/ranked.md). A distance-2 candidate needs
`per_distance` more.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamos_gateway.ranking.candidates import Candidate

RULE_KNOWN = "ranked_real_word"
RULE_UNKNOWN = "ranked_spelling"


@dataclass(frozen=True, slots=True)
class Margins:
    """Natural-log units of the scorer."""

    known: float
    unknown: float
    per_distance: float = 2.0

    def needed(self, *, known: bool, candidate: Candidate) -> float:
        base = self.known if known else self.unknown
        return base + self.per_distance * max(0, candidate.distance - 1)

    def identity(self) -> str:
        return f"margin={self.known}/{self.unknown}/{self.per_distance}"


@dataclass(frozen=True, slots=True)
class Choice:
    """A replacement the rule accepted: what it gained over the word as it stood, and the
    margin it had to clear."""

    candidate: Candidate
    gain: float
    margin: float
    known: bool  # the word replaced was a real word

    @property
    def rule(self) -> str:
        return RULE_KNOWN if self.known else RULE_UNKNOWN


def choose(baseline: float, scored: list[tuple[Candidate, float]], *, known: bool,
           margins: Margins) -> Choice | None:
    """The best candidate by score, if it clears its margin over `baseline`."""
    best: Choice | None = None
    for candidate, score in scored:
        gain = score - baseline
        needed = margins.needed(known=known, candidate=candidate)
        if gain > needed and (best is None or gain - needed > best.gain - best.margin):
            best = Choice(candidate, gain, needed, known)
    return best
