"""The seams of the evaluation: what a target is and what it returns.

A target is anything that maps a batch of inputs to label scores: the local TF-IDF model,
an LLM reached through the gateway, or either of them behind a purifier. Attacks, the
PromptAttack replay and the arena only ever see this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

# One classifier input: a sentence, or the fields of a pair task (premise, hypothesis).
TextInput = str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LabelScores:
    """Scores for a batch: `scores[i, j]` is the score of `labels[j]` for input i.

    Rows sum to 1 for a valid answer. A row of zeros means the target gave no usable
    answer (unparseable, ambiguous): `predicted` is -1 there, which counts as wrong.
    """

    labels: tuple[str, ...]
    scores: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def predicted(self) -> npt.NDArray[np.int64]:
        best: npt.NDArray[np.int64] = np.argmax(self.scores, axis=1).astype(np.int64)
        best[self.scores.sum(axis=1) <= 0.0] = -1
        return best

    @classmethod
    def one_hot(cls, labels: tuple[str, ...], choices: Sequence[int]) -> LabelScores:
        """One-hot scores from chosen label indices (-1 = no valid answer)."""
        scores = np.zeros((len(choices), len(labels)), dtype=np.float64)
        for row, choice in enumerate(choices):
            if choice >= 0:
                scores[row, choice] = 1.0
        return cls(labels=labels, scores=scores)


@runtime_checkable
class Classifier(Protocol):
    """Maps inputs to label scores. `labels` are the label words, index-aligned with scores."""

    name: str
    labels: tuple[str, ...]

    async def predict(self, inputs: Sequence[TextInput]) -> LabelScores: ...


def as_text(value: TextInput) -> str:
    """A single string for an input (pair fields joined by a space)."""
    return value if isinstance(value, str) else " ".join(value)
