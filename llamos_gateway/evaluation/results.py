"""What one evaluation produces: per run (recipe x defense x mode) counts, and per example records.

The metric names are the report's contract (report.json); the arena reads the same fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from llamos_gateway.evaluation.protocols import TextInput


@dataclass(frozen=True, slots=True)
class ExampleOutcome:
    """One attacked example under one run. Predictions are label indices (-1 = no answer)."""

    idx: int
    label: int
    original: TextInput
    adversarial: TextInput
    purified: TextInput | None  # None: no defense, or the defense refused it (fail-closed)
    status: str  # "succeeded" | "failed" | "skipped"
    original_prediction: int
    adversarial_prediction: int
    queries: int
    perturbed_words: int
    fidelity: str | None = None  # replay: the fidelity filter's reason ("ok" when it passed)


@dataclass(frozen=True, slots=True)
class RunResult:
    """One recipe under one defense and mode. ASR counts only examples the run got right clean.
    `defense_failures` counts the texts the defense failed on (error, timeout, unusable reply),
    by reason: they went on under the failure policy, and the run went on."""

    recipe: str
    defense: str  # "none" or a backend name
    mode: str  # "adaptive" | "transfer"
    n: int
    succeeded: int
    failed: int
    skipped: int
    avg_queries: float
    avg_perturbed_words: float
    clean_accuracy_purified: float | None = None
    defense_calls: int = 0
    defense_latency_ms: float = 0.0
    wall_s: float = 0.0
    queries: int = 0
    fidelity_pass_rate: float | None = None
    defense_failures: dict[str, int] = field(default_factory=dict)  # reason -> texts
    # PromptAttack replay: label flips whatever the fidelity filter said, the attacked examples
    # whose candidate passed it, and the candidates it rejected by reason
    unfiltered_succeeded: int | None = None
    passed_attacked: int | None = None
    fidelity_rejections: dict[str, int] = field(default_factory=dict)
    defense_prompt_tokens: float = 0.0  # per text the defense model read (mean)
    examples: tuple[ExampleOutcome, ...] = field(default=(), repr=False)

    @property
    def clean_accuracy(self) -> float:
        return (self.n - self.skipped) / self.n if self.n else 0.0

    @property
    def attacked_accuracy(self) -> float:
        return self.failed / self.n if self.n else 0.0

    @property
    def attack_success_rate(self) -> float:
        attacked = self.succeeded + self.failed
        return self.succeeded / attacked if attacked else 0.0

    @property
    def unfiltered_attack_success_rate(self) -> float | None:
        """ASR over all candidates: every label flip counts, fidelity or not."""
        attacked = self.succeeded + self.failed
        if self.unfiltered_succeeded is None:
            return None
        return self.unfiltered_succeeded / attacked if attacked else 0.0

    @property
    def passed_attack_success_rate(self) -> float | None:
        """ASR over the candidates that passed the fidelity filter."""
        if self.passed_attacked is None:
            return None
        return self.succeeded / self.passed_attacked if self.passed_attacked else 0.0

    @property
    def queries_per_s(self) -> float:
        return self.queries / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "examples"}
        data.update(clean_accuracy=self.clean_accuracy, attacked_accuracy=self.attacked_accuracy,
                    attack_success_rate=self.attack_success_rate, queries_per_s=self.queries_per_s,
                    unfiltered_attack_success_rate=self.unfiltered_attack_success_rate,
                    passed_attack_success_rate=self.passed_attack_success_rate)
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()}


def summarize(outcomes: Sequence[ExampleOutcome], **fields: Any) -> RunResult:
    """Counts and averages from example outcomes; `fields` fill the rest of the `RunResult`."""
    attacked = [o for o in outcomes if o.status != "skipped"]
    succeeded = [o for o in attacked if o.status == "succeeded"]
    return RunResult(
        n=len(outcomes), succeeded=len(succeeded), failed=len(attacked) - len(succeeded),
        skipped=len(outcomes) - len(attacked),
        avg_queries=sum(o.queries for o in attacked) / len(attacked) if attacked else 0.0,
        avg_perturbed_words=(sum(o.perturbed_words for o in succeeded) / len(succeeded)
                             if succeeded else 0.0),
        examples=tuple(outcomes), **fields)


def relative_reduction(before: float, after: float) -> float | None:
    """(before - after) / before: 0.6 = the defense removed 60% of attack success."""
    return (before - after) / before if before > 0 else None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything one `llamos eval` produced."""

    dataset: str
    target: str
    labels: tuple[str, ...]
    n: int
    seed: int
    clean_accuracy: float
    runs: tuple[RunResult, ...]
    wall_s: float
    meta: dict[str, Any] = field(default_factory=dict)

    def baseline(self, recipe: str) -> RunResult | None:
        return next((r for r in self.runs if r.recipe == recipe and r.defense == "none"), None)
