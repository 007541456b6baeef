"""The arena's roles, as small protocols, and the records they exchange (frozen dataclasses).

- `Attacker.propose(task)` -> `Proposal`: one perturbation of one example, given the feedback
  of this example's earlier attempts; `learn(outcomes)` after each round.
- `Defender`: any `Purifier` that can also `learn(lessons)` from the attacks that beat it.
- `Target`: the evaluation's `Classifier` (texts -> label scores).
- `Judge.judge(...)` -> `Verdict`: did the attack succeed (label correct -> wrong, and the
  candidate passed the fidelity filter)?
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from llamos_gateway.defense.protocol import PurifyRequest, PurifyResult
from llamos_gateway.evaluation.protocols import Classifier, LabelScores

Target = Classifier


class Oracle(Protocol):
    """What a score-guided attacker may query: the defended target. Counts as attack queries."""

    async def scores(self, texts: Sequence[str]) -> LabelScores: ...


@dataclass(frozen=True, slots=True)
class Feedback:
    """What one earlier attempt on the same example came to."""

    adversarial: str
    purified: str
    predicted: str
    fidelity_passed: bool
    reason: str
    instruction: str


@dataclass(frozen=True, slots=True)
class AttackTask:
    """One example to attack: the text, its true label, the label words, earlier feedback."""

    idx: int
    text: str
    label: int
    labels: tuple[str, ...]
    round: int
    attempt: int
    seed: int
    feedback: tuple[Feedback, ...] = ()

    @property
    def label_word(self) -> str:
        return self.labels[self.label]


@dataclass(frozen=True, slots=True)
class Proposal:
    """An attacker's candidate. `instruction` names the perturbation (C1..S3, or the offline
    transformations used); `queries` counts the target queries the attacker made for it."""

    text: str
    instruction: str
    queries: int = 0
    note: str = ""
    parsed: bool = True  # False: the reply held no sentence (`text` is the raw reply)


@dataclass(frozen=True, slots=True)
class Fidelity:
    passed: bool
    word_modification_ratio: float
    rule: str  # the fidelity filter's reason: "ok" or the first check that failed
    similarity: float | None = None
    content_overlap: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    success: bool
    reason: str  # "success" | "label_kept" | "fidelity_failed" | "unchanged" | "clean_wrong"
    fidelity: Fidelity
    flipped: bool = False  # the label flipped, whether or not the candidate passed the filter


@dataclass(frozen=True, slots=True)
class Outcome:
    """One judged attempt: everything the transcript, the attacker and the defender learn from."""

    round: int
    idx: int
    attempt: int
    original: str
    adversarial: str
    purified: str | None  # None: refused by the defense (fail-closed)
    label: int
    clean_prediction: int
    adversarial_prediction: int
    instruction: str
    queries: int
    verdict: Verdict

    def as_dict(self, labels: tuple[str, ...]) -> dict[str, Any]:
        def word(i: int) -> str | None:
            return labels[i] if 0 <= i < len(labels) else None

        return {
            "round": self.round, "idx": self.idx, "attempt": self.attempt,
            "original": self.original, "adversarial": self.adversarial,
            "purified": self.purified, "label": word(self.label),
            "clean_prediction": word(self.clean_prediction),
            "adversarial_prediction": word(self.adversarial_prediction),
            "instruction": self.instruction, "queries": self.queries,
            "verdict": self.verdict.reason, "success": self.verdict.success,
            "fidelity_passed": self.verdict.fidelity.passed,
            "fidelity_reason": self.verdict.fidelity.rule,
            "word_modification_ratio": round(self.verdict.fidelity.word_modification_ratio, 4),
            "similarity": _round(self.verdict.fidelity.similarity),
            "content_overlap": _round(self.verdict.fidelity.content_overlap),
            "flipped": self.verdict.flipped,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


class Attacker(Protocol):
    name: str

    async def propose(self, task: AttackTask, oracle: Oracle) -> Proposal: ...

    def learn(self, outcomes: Sequence[Outcome]) -> None: ...

    @property
    def pool_size(self) -> int: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class Lesson:
    """An attack that beat the defense: what the defender learns from."""

    original: str
    adversarial: str
    purified: str | None
    instruction: str


class Defender(Protocol):
    """A purifier backend that learns from its failures between rounds."""

    name: str

    @property
    def cache_identity(self) -> str: ...

    async def purify(self, request: PurifyRequest) -> PurifyResult: ...

    def learn(self, lessons: Sequence[Lesson]) -> None: ...

    @property
    def pool(self) -> tuple[str, ...]: ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any]) -> None: ...


class Judge(Protocol):
    def judge(self, *, original: str, adversarial: str, label: int, clean_prediction: int,
              adversarial_prediction: int, instruction: str) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class RoundRecord:
    """One row of `arena.json`'s `rounds` list."""

    round: int
    attack_success_rate: float
    robust_accuracy: float
    fidelity_pass_rate: float
    clean_changed_rate: float
    attacker_pool: int
    defender_pool: int
    defense_calls: int
    attack_queries: int
    examples: int = 0
    clean_correct: int = 0
    successes: int = 0
    attempts: int = 0
    seconds: float = 0.0
    defense_failures: dict[str, int] = field(default_factory=dict)  # reason -> texts
    unfiltered_attack_success_rate: float = 0.0  # any candidate flipped the label, floor or not
    passed_attack_success_rate: float = 0.0  # successes / examples with a candidate that passed
    candidates: dict[str, int] = field(default_factory=dict)  # instruction -> candidates judged
    rejections: dict[str, dict[str, int]] = field(default_factory=dict)  # instr. -> reason -> n
    rejected: list[dict[str, Any]] = field(default_factory=list)  # the rejected candidates
    defense_prompt_tokens: float = 0.0  # per text the defense model read (mean)
    extra: dict[str, Any] = field(default_factory=dict)
