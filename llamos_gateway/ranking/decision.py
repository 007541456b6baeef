"""The decision rules. `margin`: a candidate replaces a word only when its sentence scores
better than the sentence with the word as it stands by more than a margin. `learned`
(`Learned`): a logistic model over the gain and what else is known about the pair
(`features`) decides, past a threshold set on clean text.

Two margins, because the two kinds of word are not equally likely to be slips: a word the
lexicon does not know (or one the lexical pass already repaired) needs `unknown`; a real
word (`god` for `good`) needs `known`, set on clean text so that the clean-change budget
holds (`bench/ranked_calibrate.py`, recorded in docs/ranked.md). A distance-2 candidate needs
`per_distance` more.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from llamos_gateway.ranking.candidates import Candidate
from llamos_gateway.ranking.features import NAMES, Pair, vector

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
    score: float | None = None  # the learned decision's logit (None: the margin rule)

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


@dataclass(frozen=True, slots=True)
class Learned:
    """A logistic model over `features.NAMES`: a candidate wins when its logit exceeds
    `threshold` (`threshold_unknown` for a word the lexicon does not know or the lexical pass
    repaired; both set on clean text, like the margins). Candidates that gain less than
    `floor` (`floor_unknown`) nats are not weighed at all (the pre-ranking skips them)."""

    weights: tuple[float, ...]
    threshold: float
    threshold_unknown: float
    floor: float
    floor_unknown: float  # the same for a word the lexicon does not know
    version: str  # a hash of the coefficients and threshold

    @classmethod
    def load(cls, path: Path | None = None, *, threshold: float | None = None,
             threshold_unknown: float | None = None) -> Learned:
        """The bundled coefficients (`data/ranking/decision.json`), or those at `path`."""
        raw = (path.read_bytes() if path is not None else
               resources.files("llamos_gateway").joinpath("data", "ranking",
                                                          "decision.json").read_bytes())
        data = json.loads(raw)
        weights = tuple(float(data["weights"][name]) for name in NAMES)
        return cls(weights, float(data["threshold"] if threshold is None else threshold),
                   float(data["threshold_unknown"] if threshold_unknown is None
                         else threshold_unknown),
                   float(data["floor"]), float(data["floor_unknown"]),
                   hashlib.sha256(raw).hexdigest()[:12])

    def logit(self, pair: Pair) -> float:
        return sum(w * x for w, x in zip(self.weights, vector(pair), strict=True))

    def identity(self) -> str:
        return (f"learned={self.version}/{self.threshold}/{self.threshold_unknown}/{self.floor}"
                f"/{self.floor_unknown}")

    def needed(self, pair: Pair) -> float:
        return self.threshold if pair.known else self.threshold_unknown


def choose_learned(pairs: list[tuple[Candidate, Pair]], *, learned: Learned) -> Choice | None:
    """The candidate with the highest logit, if it clears its threshold."""
    best: Choice | None = None
    for candidate, pair in pairs:
        if pair.gain < (learned.floor if pair.known else learned.floor_unknown):
            continue
        logit = learned.logit(pair)
        needed = learned.needed(pair)
        if logit > needed and (best is None or best.score is None or logit > best.score):
            best = Choice(candidate, pair.gain, needed, pair.known, logit)
    return best


def probability(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
