"""Run an evaluation in several processes (TextAttack is CPU-bound and single-threaded).

`evaluate_in_processes(setup, options, workers)` deals the examples out to `workers` spawned
processes (example i goes to worker i mod workers, so every worker gets a similar mix);
each enters `setup()` (a picklable, module-level async context manager factory yielding the
dataset, target, the process's `Defense` and the backends to run), runs every recipe on its
share with `evaluate`, and the runs
are merged by concatenating their example outcomes. Attacks are seeded per example, so the
numbers are the same as in one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

from llamos_gateway.defense import Defense
from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.defended import failure_counts
from llamos_gateway.evaluation.protocols import Classifier
from llamos_gateway.evaluation.results import Evaluation, RunResult, summarize
from llamos_gateway.evaluation.runner import EvalOptions, evaluate

Setup = Callable[[], AbstractAsyncContextManager[
    tuple[Dataset, Classifier, Defense | None, Sequence[str]]]]


def shard(dataset: Dataset, index: int, count: int) -> Dataset:
    return replace(dataset, examples=dataset.examples[index::count])


async def _evaluate(setup: Setup, options: EvalOptions, index: int, count: int) -> Evaluation:
    async with setup() as (dataset, target, defense, names):
        return await evaluate(shard(dataset, index, count), target, defense, names, options)


def _work(setup: Setup, options: EvalOptions, index: int, count: int) -> Evaluation:
    return asyncio.run(_evaluate(setup, options, index, count))


def _weighted(parts: list[RunResult], value: Callable[[RunResult], float | None]) -> float | None:
    values = [(value(p), p.n) for p in parts]
    if any(v is None for v, _ in values):
        return None
    return sum(float(v or 0.0) * n for v, n in values) / max(1, sum(n for _, n in values))


def merge_runs(parts: list[RunResult]) -> RunResult:
    """One run from the same run over disjoint shards of the examples."""
    first = parts[0]
    calls = sum(p.defense_calls for p in parts)
    return summarize(
        [o for p in parts for o in p.examples], recipe=first.recipe, defense=first.defense,
        mode=first.mode,
        clean_accuracy_purified=_weighted(parts, lambda p: p.clean_accuracy_purified),
        defense_calls=calls,
        defense_latency_ms=(sum(p.defense_latency_ms * p.defense_calls for p in parts) / calls
                            if calls else 0.0),
        wall_s=max(p.wall_s for p in parts), queries=sum(p.queries for p in parts),
        fidelity_pass_rate=_weighted(parts, lambda p: p.fidelity_pass_rate),
        defense_failures=_summed([p.defense_failures for p in parts]),
        defense_prompt_tokens=_weighted_by_calls(parts))


def _weighted_by_calls(parts: list[RunResult]) -> float:
    calls = sum(p.defense_calls for p in parts)
    return sum(p.defense_prompt_tokens * p.defense_calls for p in parts) / calls if calls else 0.0


def _summed(counts: Sequence[Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for one in counts:
        total.update(one)
    return failure_counts(total)


def merge(parts: list[Evaluation], wall_s: float) -> Evaluation:
    n = sum(p.n for p in parts)
    runs = tuple(merge_runs([p.runs[i] for p in parts]) for i in range(len(parts[0].runs)))
    purified = {name: sum(p.meta["clean_accuracy_purified"][name] * p.n for p in parts) / n
                for name in parts[0].meta["clean_accuracy_purified"]}
    meta = {**parts[0].meta, "clean_accuracy_purified": purified, "workers": len(parts),
            "defense_stats": {name: sum(p.meta["defense_stats"][name] for p in parts)
                              for name in parts[0].meta["defense_stats"]},
            "defense_failures": {name: _summed([p.meta["defense_failures"][name] for p in parts])
                                 for name in parts[0].meta["defense_failures"]}}
    return replace(parts[0], n=n, runs=runs, wall_s=wall_s, meta=meta,
                   clean_accuracy=sum(p.clean_accuracy * p.n for p in parts) / n)


def evaluate_in_processes(setup: Setup, options: EvalOptions, workers: int) -> Evaluation:
    started = time.perf_counter()
    if workers <= 1:
        return _work(setup, options, 0, 1)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_work, setup, options, i, workers) for i in range(workers)]
        parts = [f.result() for f in futures]
    parts = [p for p in parts if p.n]
    return merge(parts, time.perf_counter() - started)
