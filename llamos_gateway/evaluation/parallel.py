"""Run an evaluation's recipes in several processes (TextAttack is CPU-bound and single-threaded).

`evaluate_in_processes(setup, options, workers)` splits the recipes over `workers` spawned
processes; each enters `setup()` (a picklable, module-level async context manager factory
yielding the dataset, target and defenses), runs its recipes with `evaluate`, and the results
are merged in recipe order. Same seed, same examples, same numbers as one process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.protocols import Classifier
from llamos_gateway.evaluation.results import Evaluation
from llamos_gateway.evaluation.runner import EvalOptions, evaluate
from llamos_gateway.purifier import Purifier

Setup = Callable[[], AbstractAsyncContextManager[tuple[Dataset, Classifier, Mapping[str, Purifier]]]]

# Relative cost of a recipe against a fast target, to balance the workers.
COST = {"pruthi": 4.0, "invisible": 2.0, "homoglyph": 1.5, "deepwordbug": 1.0}


def split(recipes: tuple[str, ...], workers: int) -> list[tuple[str, ...]]:
    """Greedy longest-first assignment of recipes to at most `workers` groups."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(workers, len(recipes))))]
    loads = [0.0] * len(groups)
    for recipe in sorted(recipes, key=lambda r: -COST.get(r, 2.0)):
        lightest = loads.index(min(loads))
        groups[lightest].append(recipe)
        loads[lightest] += COST.get(recipe, 2.0)
    return [tuple(g) for g in groups if g]


async def _evaluate(setup: Setup, options: EvalOptions) -> Evaluation:
    async with setup() as (dataset, target, defenses):
        return await evaluate(dataset, target, defenses, options)


def _work(setup: Setup, options: EvalOptions) -> Evaluation:
    return asyncio.run(_evaluate(setup, options))


def evaluate_in_processes(setup: Setup, options: EvalOptions, workers: int) -> Evaluation:
    started = time.perf_counter()
    groups = split(options.recipes, workers)
    if len(groups) == 1:
        return _work(setup, options)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(groups), mp_context=context) as pool:
        futures = [pool.submit(_work, setup, replace(options, recipes=g)) for g in groups]
        parts = [f.result() for f in futures]
    order = {recipe: i for i, recipe in enumerate(options.recipes)}
    runs = sorted((run for part in parts for run in part.runs), key=lambda r: order[r.recipe])
    meta = dict(parts[0].meta)
    meta["workers"] = len(groups)
    meta["defense_stats"] = {name: sum(p.meta["defense_stats"][name] for p in parts)
                             for name in parts[0].meta["defense_stats"]}
    return replace(parts[0], runs=tuple(runs), wall_s=time.perf_counter() - started, meta=meta)
