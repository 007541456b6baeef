"""PromptAttack's fidelity filter: an adversarial text must stay close to its clean original.

Character (C1-C3) and word (W1-W3) level perturbations may change at most 15% of the words
(word modification ratio, PromptAttack's tau_1). PromptAttack also asks for BERTScore >= 0.92
(tau_2); that check runs only when a `Similarity` model is supplied, else it is reported as
skipped. Sentence-level (S1-S3) perturbations only face the similarity floor.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Protocol


class Similarity(Protocol):
    """Semantic similarity in [0, 1] (e.g. BERTScore F1)."""

    def __call__(self, original: str, candidate: str) -> float: ...


@dataclass(frozen=True, slots=True)
class FidelityVerdict:
    passed: bool
    word_modification_ratio: float
    similarity: float | None
    reason: str  # "ok" | "word_modification_ratio" | "similarity" | "unchanged"


def changed_words(original: str, candidate: str) -> int:
    """How many words of `original` a word-level diff replaces or deletes (insertions count once)."""
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
    min_similarity: float = 0.92
    similarity: Similarity | None = None

    @property
    def similarity_checked(self) -> bool:
        return self.similarity is not None

    def check(self, original: str, candidate: str, level: str = "C") -> FidelityVerdict:
        """`level` is the perturbation level: C (character), W (word) or S (sentence)."""
        if " ".join(candidate.split()) == " ".join(original.split()):
            return FidelityVerdict(False, 0.0, None, "unchanged")
        ratio = word_modification_ratio(original, candidate)
        if level[:1].upper() in ("C", "W") and ratio > self.max_word_modification_ratio:
            return FidelityVerdict(False, ratio, None, "word_modification_ratio")
        score = self.similarity(original, candidate) if self.similarity is not None else None
        if score is not None and score < self.min_similarity:
            return FidelityVerdict(False, ratio, score, "similarity")
        return FidelityVerdict(True, ratio, score, "ok")
