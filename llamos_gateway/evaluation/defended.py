"""A defended target: a purifier in front of a classifier, with bounded concurrency.

`DefendedClassifier(target, purifier)` is itself a `Classifier`, so an attack can query it
directly (adaptive mode) or adversarial examples found against the bare target can be
replayed through it (transfer mode). It counts defense calls and time spent purifying.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from llamos_gateway.evaluation.protocols import Classifier, LabelScores, TextInput
from llamos_gateway.purifier import Purifier, PurifyRequest


@dataclass(frozen=True, slots=True)
class DefenseStats:
    calls: int
    changed: int
    total_ms: float

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


class DefendedClassifier:
    """Purifies every input field, then asks the target. Raises what the purifier raises."""

    def __init__(self, target: Classifier, purifier: Purifier, *, task: str | None = None,
                 concurrency: int = 8) -> None:
        self.target = target
        self.purifier = purifier
        self.name = f"{purifier.name}+{target.name}"
        self.labels = target.labels
        self._task = task
        self._slots = asyncio.Semaphore(concurrency)
        self._calls = 0
        self._changed = 0
        self._total_ms = 0.0

    @property
    def stats(self) -> DefenseStats:
        return DefenseStats(self._calls, self._changed, self._total_ms)

    async def purify_text(self, text: str) -> str:
        async with self._slots:
            started = time.perf_counter()
            result = await self.purifier.purify(PurifyRequest(text=text, task=self._task))
            self._total_ms += (time.perf_counter() - started) * 1000.0
        self._calls += 1
        self._changed += result.changed
        return result.purified

    async def purify(self, value: TextInput) -> TextInput:
        if isinstance(value, str):
            return await self.purify_text(value)
        return tuple(await asyncio.gather(*(self.purify_text(v) for v in value)))

    async def purify_many(self, inputs: Sequence[TextInput]) -> list[TextInput]:
        return list(await asyncio.gather(*(self.purify(v) for v in inputs)))

    async def predict(self, inputs: Sequence[TextInput]) -> LabelScores:
        return await self.target.predict(await self.purify_many(inputs))
