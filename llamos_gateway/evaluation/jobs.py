"""One call per CLI command: load the data, open the target and defenses, run, write the report.

`llamos eval` and `llamos eval promptattack` are thin shells around `run_attack_job` and
`run_replay_job`; the arena and the benchmark can call the same functions. The report files
are rewritten after every finished run, so an interrupted evaluation keeps what it finished
(`complete: false` in report.json); with several worker processes only the end result is
written.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from llamos_gateway.defense import Defense
from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.datasets import Dataset, load_dataset
from llamos_gateway.evaluation.fidelity import FidelityFilter
from llamos_gateway.evaluation.parallel import evaluate_in_processes
from llamos_gateway.evaluation.promptattack import (
    INSTRUCTIONS,
    STRATEGIES,
    ReplayOptions,
    load_promptattack,
    normalize_strategy,
    replay,
)
from llamos_gateway.evaluation.protocols import Classifier
from llamos_gateway.evaluation.report import write_report
from llamos_gateway.evaluation.results import Evaluation
from llamos_gateway.evaluation.runner import MODES, EvalOptions, OnRun, ProgressSink, evaluate
from llamos_gateway.evaluation.session import TargetSpec, open_session
from llamos_gateway.settings import Settings


@dataclass(frozen=True, slots=True)
class DataSpec:
    name: str = "sst2"
    text_columns: tuple[str, ...] | None = None
    label_column: str = "label"
    labels: tuple[str, ...] | None = None
    description: str | None = None
    limit: int | None = None
    seed: int = 0

    def load(self) -> Dataset:
        dataset = load_dataset(self.name, text_columns=self.text_columns,
                               label_column=self.label_column, labels=self.labels,
                               description=self.description)
        return dataset.select(self.limit, self.seed)


@dataclass(frozen=True, slots=True)
class AttackJob:
    data: DataSpec
    target: TargetSpec
    recipes: tuple[str, ...]
    defenses: tuple[str, ...]
    output_dir: Path
    command: str
    modes: tuple[str, ...] = MODES
    query_budget: int | None = None
    workers: int = 1


@dataclass(frozen=True, slots=True)
class ReplayJob:
    file: Path
    data: DataSpec
    target: TargetSpec
    defenses: tuple[str, ...]
    output_dir: Path
    command: str
    instructions: tuple[str, ...] = INSTRUCTIONS
    strategies: tuple[str, ...] = STRATEGIES
    fidelity: FidelityFilter = field(default_factory=FidelityFilter)


def split_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _check_modes(modes: tuple[str, ...]) -> None:
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise InvalidRequest(f"--mode takes {', '.join(MODES)}, "
                             f"not {', '.join(unknown) or '(empty)'}", param="mode")


@asynccontextmanager
async def attack_setup(settings: Settings, job: AttackJob) -> AsyncIterator[
        tuple[Dataset, Classifier, Defense, Sequence[str]]]:
    """The dataset, target, defense and backends of a job (picklable with `partial`: worker
    processes)."""
    dataset = job.data.load()
    async with open_session(settings, job.target, dataset.task, job.defenses) as session:
        yield dataset, session.target, session.defense, session.names


def _rewrite(output_dir: Path, command: str) -> OnRun:
    """After each finished run: the report so far (an interruption keeps it)."""

    def rewrite(evaluation: Evaluation) -> None:
        write_report(evaluation, output_dir, command, complete=False)

    return rewrite


async def run_attack_job(settings: Settings, job: AttackJob,
                         progress: ProgressSink | None = None) -> tuple[Evaluation, list[Path]]:
    from llamos_gateway.evaluation.textattack_adapter import check_recipe

    if not job.recipes:
        raise InvalidRequest("--recipe needs at least one recipe", param="recipe")
    for recipe in job.recipes:
        check_recipe(recipe)  # fail before loading anything heavy
    _check_modes(job.modes)
    options = EvalOptions(recipes=job.recipes, modes=job.modes, seed=job.data.seed,
                          query_budget=job.query_budget)
    workers = min(job.workers, job.data.limit or job.workers)
    if workers > 1:
        setup = partial(attack_setup, settings, job)
        evaluation = await asyncio.to_thread(evaluate_in_processes, setup, options, workers)
    else:
        async with attack_setup(settings, job) as (dataset, target, defense, names):
            evaluation = await evaluate(dataset, target, defense, names, options, progress,
                                        on_run=_rewrite(job.output_dir, job.command))
    return evaluation, write_report(evaluation, job.output_dir, job.command)


async def run_replay_job(settings: Settings, job: ReplayJob) -> tuple[Evaluation, list[Path]]:
    attack_set = load_promptattack(job.file)
    strategies = tuple(normalize_strategy(s) for s in job.strategies)
    bad = [i for i in job.instructions if i not in INSTRUCTIONS]
    bad += [s for s in strategies if s not in STRATEGIES]
    if bad:
        raise InvalidRequest(f"unknown instruction or strategy: {', '.join(bad)}",
                             param="instructions")
    dataset = job.data.load()
    async with open_session(settings, job.target, dataset.task, job.defenses) as session:
        options = ReplayOptions(job.instructions, strategies, job.fidelity)
        evaluation = await replay(attack_set, dataset, session.target, session.defense,
                                  session.names, options, _rewrite(job.output_dir, job.command))
    return evaluation, write_report(evaluation, job.output_dir, job.command)
