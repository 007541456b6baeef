"""A defended target: the process's `Defense` in front of a classifier.

`DefendedClassifier(target, defense, purifier=...)` is itself a `Classifier`, so an attack
can query it directly (adaptive mode) or adversarial examples found against the bare target
can be replayed through it (transfer mode). Every input field goes through
`Defense.purify_each` with the configured failure policy: a defender error, timeout or
unusable reply never stops a run. Under fail-open the text goes on as the defense could
still make it (the input, or tiered's lexical pass); under fail-closed it is refused and the
target gives no answer for it (a row of zeros, which counts as wrong). Either way the
failure is counted by reason (`stats.failures`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from llamos_gateway.defense import Defense, Purifier
from llamos_gateway.evaluation.protocols import Classifier, LabelScores, TextInput


@dataclass(frozen=True, slots=True)
class DefenseStats:
    calls: int
    changed: int
    total_ms: float
    failures: Mapping[str, int] = field(default_factory=dict)  # reason -> texts
    agent_calls: int = 0    # texts a defense model read
    prompt_tokens: int = 0  # the prompt tokens it read for them

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0

    @property
    def prompt_tokens_per_call(self) -> float:
        return self.prompt_tokens / self.agent_calls if self.agent_calls else 0.0

    def since(self, before: DefenseStats) -> DefenseStats:
        """What happened between `before` and this snapshot."""
        failures = Counter(self.failures)
        failures.subtract(before.failures)
        return DefenseStats(self.calls - before.calls, self.changed - before.changed,
                            self.total_ms - before.total_ms, failure_counts(failures),
                            self.agent_calls - before.agent_calls,
                            self.prompt_tokens - before.prompt_tokens)


def failure_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Non-zero counts, sorted by reason (the form reports show)."""
    return {reason: n for reason, n in sorted(counts.items()) if n}


class DefendedClassifier:
    """Purifies every input field, then asks the target. Never raises for a defense failure.
    `purifier` stands in for the defense's configured one (another backend it built, or the
    arena's learning defender)."""

    def __init__(self, target: Classifier, defense: Defense, *,
                 purifier: Purifier | None = None, task: str | None = None) -> None:
        self.target = target
        self.defense = defense
        self.purifier = purifier or defense.purifier
        self.name = f"{self.purifier.name}+{target.name}"
        self.labels = target.labels
        self._task = task
        self._calls = 0
        self._changed = 0
        self._total_ms = 0.0
        self._failures: Counter[str] = Counter()
        self._agent_calls = 0
        self._prompt_tokens = 0

    @property
    def stats(self) -> DefenseStats:
        return DefenseStats(self._calls, self._changed, self._total_ms,
                            failure_counts(self._failures), self._agent_calls,
                            self._prompt_tokens)

    async def purify_texts(self, texts: Sequence[str]) -> list[str | None]:
        """Each text as the defense forwards it; None where it was refused (fail-closed)."""
        outcomes = await self.defense.purify_each(texts, task=self._task,
                                                  purifier=self.purifier)
        out: list[str | None] = []
        for text, outcome in zip(texts, outcomes, strict=True):
            self._calls += 1
            self._changed += outcome.changed
            self._total_ms += outcome.purify_ms
            if outcome.failure:
                self._failures[outcome.failure] += 1
            for result in outcome.results:
                if result.agent_called and result.prompt_tokens:
                    self._agent_calls += 1
                    self._prompt_tokens += result.prompt_tokens
            out.append(None if outcome.fail_closed else outcome.forwarded([text])[0])
        return out

    async def purify_text(self, text: str) -> str | None:
        return (await self.purify_texts([text]))[0]

    async def purify_many(self, inputs: Sequence[TextInput]) -> list[TextInput | None]:
        """Every field of every input purified (one batch); None for an input with a field
        the defense refused."""
        fields = [[value] if isinstance(value, str) else list(value) for value in inputs]
        flat = await self.purify_texts([text for group in fields for text in group])
        out: list[TextInput | None] = []
        at = 0
        for value, group in zip(inputs, fields, strict=True):
            done = flat[at:at + len(group)]
            at += len(group)
            if any(text is None for text in done):
                out.append(None)
            elif isinstance(value, str):
                out.append(done[0])
            else:
                out.append(tuple(text for text in done if text is not None))
        return out

    async def classify(self, purified: Sequence[TextInput | None]) -> LabelScores:
        """The target's scores for purified inputs; a refused input (None) gets no answer."""
        kept = [i for i, value in enumerate(purified) if value is not None]
        scores = np.zeros((len(purified), len(self.labels)), dtype=np.float64)
        if kept:
            answered = await self.target.predict([v for v in purified if v is not None])
            scores[kept] = answered.scores
        return LabelScores(labels=self.labels, scores=scores)

    async def predict(self, inputs: Sequence[TextInput]) -> LabelScores:
        return await self.classify(await self.purify_many(inputs))
