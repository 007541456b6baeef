"""The judge: an attack succeeds when the defended target was right on the clean input, is
wrong on the candidate, and the candidate passed the fidelity filter.

The filter is the evaluation's (`llamos_gateway.evaluation.fidelity.FidelityFilter`), applied
at every level: the candidate must be a rewrite (not text about the task, an answer, a
refusal, an empty string or of a far other length), keep half of the original's content
words, change at most 15% of the words at character and word level, and reach the semantic
floor of the similarity in use (reported as skipped when there is none). `flipped` records
the label flip whether or not the candidate passed: the ASR without the floor.
"""

from __future__ import annotations

from llamos_gateway.arena.roles import Fidelity, Verdict
from llamos_gateway.evaluation.fidelity import FidelityFilter

WORD_LEVEL = frozenset({"delete_word", "W1", "W2", "W3"})


def level(instruction: str) -> str:
    """C, W or S: PromptAttack's perturbation level for an instruction or offline edit set."""
    if instruction[:1] in ("C", "W", "S") and instruction[1:].isdigit():
        return instruction[:1]
    return "W" if any(n in WORD_LEVEL for n in instruction.split("+")) else "C"


class ClassificationJudge:
    def __init__(self, fidelity: FidelityFilter | None = None) -> None:
        self.filter = fidelity or FidelityFilter()

    @property
    def similarity(self) -> str:
        return str(self.filter.describe()["similarity"])

    def judge(self, *, original: str, adversarial: str, label: int, clean_prediction: int,
              adversarial_prediction: int, instruction: str) -> Verdict:
        """Blocking (the similarity runs a model): call it from a worker thread."""
        checked = self.filter.check(original, adversarial, level(instruction))
        fidelity = Fidelity(checked.passed, checked.word_modification_ratio, checked.reason,
                            checked.similarity, checked.content_overlap)
        if clean_prediction != label:
            return Verdict(False, "clean_wrong", fidelity)
        if checked.reason == "unchanged":
            return Verdict(False, "unchanged", fidelity)
        flipped = adversarial_prediction != label
        if not flipped:
            return Verdict(False, "label_kept", fidelity)
        if not checked.passed:
            return Verdict(False, "fidelity_failed", fidelity, flipped=True)
        return Verdict(True, "success", fidelity, flipped=True)


def unparsed(reply: str) -> Verdict:
    """The attacker's reply held no sentence to judge: a failed attempt, never a success."""
    return Verdict(False, "fidelity_failed", Fidelity(False, 0.0, "unparsed"))
