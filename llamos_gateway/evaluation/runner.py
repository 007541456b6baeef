"""Runs recipes against a target with the defense off and on, on the same examples and seed.

Adaptive mode attacks the defended pipeline itself; transfer mode replays the adversarial
examples found against the bare target through the defense. The defense-off run is always
included: it is the baseline every defended run is compared with. Each defense is a backend
of the process's one `Defense` (its failure policy: see `DefendedClassifier`); `on_run` sees
the evaluation so far after every finished run, so an interrupted run keeps its work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from llamos_gateway.defense import Defense
from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.defended import DefendedClassifier
from llamos_gateway.evaluation.protocols import Classifier, TextInput
from llamos_gateway.evaluation.results import Evaluation, ExampleOutcome, RunResult, summarize

MODES = ("adaptive", "transfer")


class ProgressSink(Protocol):
    """Where progress goes (a rich bar in the CLI). `start` returns the advance callback."""

    def start(self, description: str, total: int) -> Callable[[], None]: ...


class _Silent:
    def start(self, description: str, total: int) -> Callable[[], None]:
        return lambda: None


@dataclass(frozen=True, slots=True)
class EvalOptions:
    recipes: tuple[str, ...]
    modes: tuple[str, ...] = MODES
    seed: int = 0
    query_budget: int | None = None


async def _attack(recipe: str, classifier: Classifier, dataset: Dataset, options: EvalOptions,
                  progress: ProgressSink, description: str) -> tuple[list[ExampleOutcome], float]:
    """Attack every example; returns the outcomes and the attack's wall time (no set-up)."""
    from llamos_gateway.evaluation.textattack_adapter import AttackRunner, attack_many

    loop = asyncio.get_running_loop()
    runner = await asyncio.to_thread(AttackRunner, recipe, classifier, loop,
                                     query_budget=options.query_budget)
    advance = progress.start(description, len(dataset))
    started = time.perf_counter()
    records = await asyncio.to_thread(attack_many, runner, dataset.examples, options.seed,
                                      lambda _record: advance())
    wall = time.perf_counter() - started
    return [ExampleOutcome(r.idx, r.label, r.original, r.adversarial, None, r.status,
                           r.original_prediction, r.adversarial_prediction, r.queries,
                           r.perturbed_words) for r in records], wall


async def _adaptive(recipe: str, name: str, defended: DefendedClassifier, dataset: Dataset,
                    options: EvalOptions, progress: ProgressSink,
                    clean_purified: float) -> RunResult:
    before = defended.stats
    outcomes, wall = await _attack(recipe, defended, dataset, options, progress,
                                   f"{recipe} · {name} · adaptive")
    spent = defended.stats.since(before)
    purified = await defended.purify_many([o.adversarial for o in outcomes])
    outcomes = [_with_purified(o, p) for o, p in zip(outcomes, purified, strict=True)]
    return summarize(outcomes, recipe=recipe, defense=name, mode="adaptive",
                     clean_accuracy_purified=clean_purified, defense_calls=spent.calls,
                     defense_latency_ms=spent.mean_ms, defense_failures=dict(spent.failures),
                     defense_prompt_tokens=spent.prompt_tokens_per_call,
                     wall_s=wall, queries=sum(o.queries for o in outcomes))


def _with_purified(outcome: ExampleOutcome, purified: TextInput | None) -> ExampleOutcome:
    return replace(outcome, purified=purified)


async def _transfer(recipe: str, name: str, defended: DefendedClassifier,
                    baseline: Sequence[ExampleOutcome], clean_predictions: Sequence[int],
                    clean_purified: float) -> RunResult:
    before = defended.stats
    started = time.perf_counter()
    adversarial = [o.adversarial for o in baseline]
    purified = await defended.purify_many(adversarial)
    predicted = (await defended.classify(purified)).predicted
    wall = time.perf_counter() - started
    spent = defended.stats.since(before)
    outcomes = []
    for o, p, clean, adv in zip(baseline, purified, clean_predictions, predicted, strict=True):
        status = ("skipped" if clean != o.label else
                  "succeeded" if int(adv) != o.label and o.status == "succeeded" else "failed")
        outcomes.append(ExampleOutcome(o.idx, o.label, o.original, o.adversarial, p, status,
                                       clean, int(adv), 1, o.perturbed_words))
    return summarize(outcomes, recipe=recipe, defense=name, mode="transfer",
                     clean_accuracy_purified=clean_purified, defense_calls=spent.calls,
                     defense_latency_ms=spent.mean_ms, defense_failures=dict(spent.failures),
                     defense_prompt_tokens=spent.prompt_tokens_per_call,
                     wall_s=wall, queries=len(outcomes))


OnRun = Callable[[Evaluation], None]


async def evaluate(dataset: Dataset, target: Classifier, defense: Defense | None,
                   names: Sequence[str], options: EvalOptions,
                   progress: ProgressSink | None = None, on_run: OnRun | None = None
                   ) -> Evaluation:
    """Every recipe with the defense off, then under each of the `defense` backends `names`
    in each mode."""
    progress = progress or _Silent()
    started = time.perf_counter()
    inputs = [e.input for e in dataset.examples]
    labels = [e.label for e in dataset.examples]
    clean = (await target.predict(inputs)).predicted
    defended = defended_targets(target, defense, names, dataset.task.purify_task)
    clean_defended = {name: (await d.predict(inputs)).predicted for name, d in defended.items()}
    accuracy = {name: float((p == labels).mean()) for name, p in clean_defended.items()}
    runs: list[RunResult] = []

    def so_far() -> Evaluation:
        return Evaluation(dataset=dataset.name, target=target.name, labels=target.labels,
                          n=len(dataset), seed=options.seed,
                          clean_accuracy=float((clean == labels).mean()), runs=tuple(runs),
                          wall_s=time.perf_counter() - started,
                          meta={"clean_accuracy_purified": accuracy,
                                "defense_stats": {n: d.stats.calls for n, d in defended.items()},
                                "defense_failures": {n: dict(d.stats.failures)
                                                     for n, d in defended.items()}})

    def finished(run: RunResult) -> None:
        runs.append(run)
        if on_run is not None:
            on_run(so_far())

    for recipe in options.recipes:
        base, wall = await _attack(recipe, target, dataset, options, progress,
                                   f"{recipe} · no defense")
        finished(summarize(base, recipe=recipe, defense="none", mode="adaptive", wall_s=wall,
                           queries=sum(o.queries for o in base)))
        for name, pipeline in defended.items():
            if "adaptive" in options.modes:
                finished(await _adaptive(recipe, name, pipeline, dataset, options, progress,
                                         accuracy[name]))
            if "transfer" in options.modes:
                finished(await _transfer(recipe, name, pipeline, base,
                                         [int(p) for p in clean_defended[name]],
                                         accuracy[name]))
    return so_far()


def defended_targets(target: Classifier, defense: Defense | None, names: Sequence[str],
                     task: str | None) -> dict[str, DefendedClassifier]:
    """The target behind each of the `defense` backends `names`."""
    if defense is None or not names:
        return {}
    return {name: DefendedClassifier(target, defense, purifier=defense.choose(name), task=task)
            for name in names}
