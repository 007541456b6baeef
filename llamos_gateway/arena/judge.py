"""The judge: an attack succeeds when the defended target was right on the clean input, is
wrong on the candidate, and the candidate passed PromptAttack's fidelity filter.

The filter is the evaluation's (`llamos_gateway.evaluation.fidelity.FidelityFilter`): for
character- and word-level perturbations (C1-C3, W1-W3 and every offline transformation) at
most 15% of the words may change; its BERTScore floor runs only with a similarity model,
which this project does not bundle, so the arena reports it as skipped.
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
        return "checked" if self.filter.similarity_checked else "skipped (no similarity model)"

    def judge(self, *, original: str, adversarial: str, label: int, clean_prediction: int,
              adversarial_prediction: int, instruction: str) -> Verdict:
        checked = self.filter.check(original, adversarial, level(instruction))
        fidelity = Fidelity(checked.passed, checked.word_modification_ratio, checked.reason)
        if clean_prediction != label:
            return Verdict(False, "clean_wrong", fidelity)
        if checked.reason == "unchanged":
            return Verdict(False, "unchanged", fidelity)
        if adversarial_prediction == label:
            return Verdict(False, "label_kept", fidelity)
        if not checked.passed:
            return Verdict(False, "fidelity_failed", fidelity)
        return Verdict(True, "success", fidelity)
