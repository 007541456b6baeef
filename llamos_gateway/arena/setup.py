"""The arena's composition: settings + `ArenaConfig` -> target, defender, attacker, judge, run.

An entry point like `llamos serve`: the evaluation session opens the components once (the
target, the router, the process's `Defense`), and the defender's backend is built from its
`backends` entry by the composition root's `BackendBuilder`, so the arena runs the code the
API runs; the agent backends get a prompt set the arena can grow (`ExampleLearningDefender`).
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from llamos_gateway import __version__, backends
from llamos_gateway.agent.prompts import PromptSet
from llamos_gateway.arena.attacker_prompts import load_attacker_prompts
from llamos_gateway.arena.config import NO_DEFENSE, ArenaConfig
from llamos_gateway.arena.defenders import (
    ExampleLearningDefender,
    MissedEditsDefender,
    StaticDefender,
)
from llamos_gateway.arena.engine import Arena, RoundPlan
from llamos_gateway.arena.judge import ClassificationJudge
from llamos_gateway.arena.live import LiveTable
from llamos_gateway.arena.llm_attacker import LLMAttacker
from llamos_gateway.arena.offline_attacker import OfflineAttacker
from llamos_gateway.arena.report import write_report
from llamos_gateway.arena.roles import Attacker, Defender, RoundRecord
from llamos_gateway.arena.store import RunStore
from llamos_gateway.arena.transformations import textattack_transforms
from llamos_gateway.defense import PassthroughPurifier, Purifier
from llamos_gateway.errors import ConfigError, InvalidRequest
from llamos_gateway.evaluation.datasets import load_dataset
from llamos_gateway.evaluation.fidelity import FidelityFilter, fidelity_text
from llamos_gateway.evaluation.rewrite import ANSWER_WORDS
from llamos_gateway.evaluation.session import TargetSpec, open_session
from llamos_gateway.evaluation.similarity import open_similarity
from llamos_gateway.settings import PROMPTS_DIR, Settings
from llamos_gateway.upstream.router import ModelRouter
from llamos_gateway.wiring import BackendBuilder, agent_prompts


@dataclass(frozen=True, slots=True)
class ArenaResult:
    rounds: list[RoundRecord]
    meta: dict[str, Any]


def build_defender(config: ArenaConfig, settings: Settings, builder: BackendBuilder,
                   task: str | None) -> tuple[Defender, str | None]:
    """The defender and the version of the prompts it reads (None for prompt-free backends).
    Backends with a defense model learn in-context examples (their agent is rebuilt with the
    grown prompt set, the lexical screen shared); the others report the edits they missed."""
    name = PassthroughPurifier.name if config.defense == NO_DEFENSE else config.defense
    backend = backends.get(name)
    if name == PassthroughPurifier.name:  # no defense: nothing to learn
        return StaticDefender(builder.build(name)), None
    if not backend.needs_model:
        return MissedEditsDefender(builder.build(name), cap=max(config.defender_pool, 64)), None
    if not builder.has_model:
        raise ConfigError(f"--defense {config.defense} needs a defense model: set defense.model "
                          "in the config (or LLAMOS_DEFENSE__MODEL) to a model alias or litellm "
                          "model")

    def build(prompts: PromptSet) -> Purifier:
        return builder.build(name, prompts=prompts)

    prompts = agent_prompts(settings)
    return ExampleLearningDefender(build, prompts, task=task, cap=config.defender_pool), \
        prompts.version


async def build_attacker(config: ArenaConfig, router: ModelRouter) -> tuple[Attacker, str | None]:
    if config.attacker == "llm":
        assert config.attacker_model is not None
        route = router.resolve(config.attacker_model)
        prompts = load_attacker_prompts(PROMPTS_DIR / "attacker")
        return LLMAttacker(upstream=route.upstream, model=route.upstream_model, prompts=prompts,
                           pool_cap=config.attacker_pool), prompts.version
    transforms = await asyncio.to_thread(textattack_transforms, config.transformations)
    return OfflineAttacker(transforms, query_budget=config.query_budget,
                           max_word_ratio=config.max_word_ratio,
                           pool_cap=config.attacker_pool), None


async def run_arena(settings: Settings, config: ArenaConfig, *, live: bool = True,
                    console: Console | None = None, command: str | None = None,
                    on_round: Callable[[RoundRecord], None] | None = None) -> ArenaResult:
    config.validate()
    started = time.perf_counter()
    dataset = load_dataset(config.dataset)
    if len(dataset.task.columns) != 1:
        raise InvalidRequest(f"the arena attacks single-text tasks; {config.dataset} has "
                             f"{len(dataset.task.columns)} input columns", param="dataset")
    selected = dataset.select(config.limit, config.seed)
    store = RunStore(config.output_dir, config.run_key(), fresh=config.fresh)
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            open_session(settings, TargetSpec(config.target), dataset.task, ()))
        components = session.components
        purify_task = dataset.task.purify_task
        defender, defense_version = build_defender(config, settings, components.builder,
                                                   purify_task)
        attacker, attacker_version = await build_attacker(config, components.router)
        similarity, unavailable = stack.enter_context(open_similarity(config.similarity))
        judge = ClassificationJudge(FidelityFilter(
            max_word_modification_ratio=config.max_word_ratio, similarity=similarity,
            min_similarity=config.min_similarity, unavailable=unavailable,
            answers=ANSWER_WORDS | set(dataset.task.labels)))
        meta: dict[str, Any] = {
            "command": command or "llamos " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
            "config": config.as_dict(),
            "versions": {"llamos_gateway": __version__, "attacker_prompts": attacker_version,
                         "defense_prompts": defense_version, "target": session.target.name},
            "fidelity": judge.filter.describe(),
            "examples": len(selected),
        }
        arena = Arena(examples=selected.examples, labels=dataset.task.labels,
                      target=session.target, defense=session.defense, defender=defender,
                      attacker=attacker, judge=judge,
                      plan=RoundPlan(rounds=config.rounds, attempts=config.attempts,
                                     patience=config.patience, tolerance=config.tolerance,
                                     seed=config.seed, concurrency=config.workers,
                                     task=purify_task),
                      store=store)

        def finished(record: RoundRecord) -> None:
            meta.update(attacker=attacker.snapshot(), defender=defender.snapshot(),
                        wall_s=round(time.perf_counter() - started, 3))
            write_report(config.output_dir, meta, store.records)
            if table is not None:
                table.round_done(record)
            if on_round is not None:
                on_round(record)

        title = (f"arena: {config.attacker} attacker vs {config.defense} defense on "
                 f"{config.target} ({len(selected)} {config.dataset} examples); judge: "
                 f"{fidelity_text(judge.filter.describe())}")
        table = LiveTable(title, console) if live else None
        with table if table is not None else _Null():
            records = await arena.run(finished, table.progress if table is not None else None)
        meta.update(stopped=store.stopped, attacker=attacker.snapshot(),
                    defender=defender.snapshot(), wall_s=round(time.perf_counter() - started, 3))
    write_report(config.output_dir, meta, records)
    return ArenaResult(records, meta)


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
