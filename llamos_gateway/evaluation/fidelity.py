"""The fidelity filter: an adversarial text must be a rewrite of its clean original, and a
close one.

Every level (C1-C3 character, W1-W3 word, S1-S3 sentence, and the arena's offline edits)
faces, in this order:

1. a rewrite at all (`rewrite.rewrite_problem`): not empty, not a refusal, not an answer to
   the task, not text about the task, not of a length far from the original's;
2. at least `min_content_overlap` of the original's content words kept (typos count as kept);
3. for C and W levels, at most `max_word_modification_ratio` of the words changed
   (PromptAttack's tau_1 = 0.15);
4. the semantic floor: a `Similarity` F1 at or above its calibrated floor (PromptAttack's
   tau_2 is BERTScore >= 0.92 with RoBERTa-large; the local model's hidden states have their
   own scale, hence their own floor). Without a similarity the floor is reported as skipped.

`reason` names the first check that failed ("ok" when all passed).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from llamos_gateway.evaluation.rewrite import ANSWER_WORDS, content_overlap, rewrite_problem
from llamos_gateway.evaluation.similarity import Similarity

PAPER = {"max_word_modification_ratio": 0.15, "bertscore_floor": 0.92}
REASONS = ("ok", "unchanged", "empty", "refusal", "answer", "meta", "length", "content",
           "word_modification_ratio", "similarity", "unparsed")


@dataclass(frozen=True, slots=True)
class FidelityVerdict:
    passed: bool
    word_modification_ratio: float
    similarity: float | None
    reason: str  # one of REASONS
    content_overlap: float | None = None


def changed_words(original: str, candidate: str) -> int:
    """How many words of `original` a word-level diff replaces or deletes (insertions count
    once)."""
    a, b = original.split(), candidate.split()
    changed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op != "equal":
            changed += max(i2 - i1, j2 - j1)
    return changed


def word_modification_ratio(original: str, candidate: str) -> float:
    return changed_words(original, candidate) / max(1, len(original.split()))


@dataclass(frozen=True, slots=True)
class FidelityFilter:
    max_word_modification_ratio: float = 0.15
    similarity: Similarity | None = None
    min_similarity: float | None = None  # None: the similarity's own calibrated floor
    min_content_overlap: float = 0.5
    max_length_ratio: float = 2.0
    answers: Collection[str] = ANSWER_WORDS
    unavailable: str = "no similarity model"  # why `similarity` is None, for the reports

    @property
    def similarity_checked(self) -> bool:
        return self.similarity is not None

    @property
    def floor(self) -> float | None:
        if self.similarity is None:
            return None
        return self.similarity.floor if self.min_similarity is None else self.min_similarity

    def describe(self) -> dict[str, Any]:
        """What every report says about the filter it applied."""
        return {
            "max_word_modification_ratio": self.max_word_modification_ratio,
            "min_content_overlap": self.min_content_overlap,
            "max_length_ratio": self.max_length_ratio,
            "similarity": (self.similarity.name if self.similarity is not None
                           else f"skipped: {self.unavailable}"),
            "similarity_floor": self.floor,
            "paper": PAPER,
        }

    def check(self, original: str, candidate: str, level: str = "C") -> FidelityVerdict:
        """`level` is the perturbation level: C (character), W (word) or S (sentence)."""
        if " ".join(candidate.split()) == " ".join(original.split()):
            return FidelityVerdict(False, 0.0, None, "unchanged")
        ratio = word_modification_ratio(original, candidate)
        problem = rewrite_problem(original, candidate, answers=self.answers,
                                  max_length_ratio=self.max_length_ratio)
        if problem is not None:
            return FidelityVerdict(False, ratio, None, problem)
        overlap = content_overlap(original, candidate)
        if overlap is not None and overlap < self.min_content_overlap:
            return FidelityVerdict(False, ratio, None, "content", overlap)
        if level[:1].upper() in ("C", "W") and ratio > self.max_word_modification_ratio:
            return FidelityVerdict(False, ratio, None, "word_modification_ratio", overlap)
        if self.similarity is None:
            return FidelityVerdict(True, ratio, None, "ok", overlap)
        score = self.similarity.score(original, candidate).f1
        floor = self.floor
        if floor is not None and score < floor:
            return FidelityVerdict(False, ratio, score, "similarity", overlap)
        return FidelityVerdict(True, ratio, score, "ok", overlap)


def fidelity_text(fidelity: Mapping[str, Any]) -> str:
    """One line on the filter a report applied: the floor and the similarity behind it."""
    floor = fidelity.get("similarity_floor")
    return (f"similarity {fidelity.get('similarity')}"
            + (f" >= {floor:.3f}" if isinstance(floor, float) else "")
            + f"; content words kept >= {fidelity.get('min_content_overlap')}"
            + f"; word modification ratio (C, W) <= {fidelity.get('max_word_modification_ratio')}"
            + "; meta text, answers, refusals, empty and far-off lengths rejected")
