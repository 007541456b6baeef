"""`llamos arena`: an attacker agent against the defender, round after round."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.settings import load_settings


def register(app: typer.Typer) -> None:
    app.command()(arena)


def arena(
    config: ConfigOption = None,
    dataset: Annotated[str, typer.Option(
        help="sst2 or a one-text-column .csv/.jsonl file")] = "sst2",
    target: Annotated[str, typer.Option(
        help="local/sst2-sentiment or a gateway model")] = "local/sst2-sentiment",
    attacker: Annotated[str, typer.Option(
        help="offline (TextAttack search) or llm (PromptAttack)")] = "offline",
    attacker_model: Annotated[str | None, typer.Option(
        help="--attacker llm: the attacker model alias")] = None,
    defense: Annotated[str, typer.Option(help="lexical, llamos, tiered or none")] = "lexical",
    rounds: Annotated[int, typer.Option(help="at most this many rounds")] = 5,
    limit: Annotated[int, typer.Option(help="examples in the pool (a seeded sample)")] = 100,
    output_dir: Annotated[Path, typer.Option(
        help="arena.json, transcript.jsonl, arena.md, arena.png, state")] = Path("runs/arena"),
    seed: Annotated[int, typer.Option(help="seed for the sample and the attacks")] = 0,
    attempts: Annotated[int, typer.Option(help="attacker attempts per example and round")] = 2,
    query_budget: Annotated[int, typer.Option(
        help="offline attacker: target queries per attempt")] = 80,
    patience: Annotated[int, typer.Option(
        help="stop when ASR moved less than --tolerance this many rounds (0: never)")] = 2,
    tolerance: Annotated[float, typer.Option(help="ASR change that counts as movement")] = 0.01,
    attacker_pool: Annotated[int, typer.Option(help="cap on the attacker's success pool")] = 16,
    defender_pool: Annotated[int, typer.Option(help="cap on the defender's learned examples")] = 16,
    concurrency: Annotated[int | None, typer.Option(
        help="examples attacked at once [offline 1, llm 8]")] = None,
    similarity: Annotated[str, typer.Option(
        help="the judge's semantic floor: local (bundled model), "
             "bert-score:<model dir> or none")] = "local",
    min_similarity: Annotated[float | None, typer.Option(
        help="override the similarity's calibrated floor")] = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="discard a previous run in --output-dir instead of resuming it")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="no live table")] = False,
) -> None:
    """Attacker agent vs defense agent, round after round; resumable from --output-dir."""
    from llamos_gateway.arena.config import ArenaConfig
    from llamos_gateway.arena.setup import run_arena

    chosen = ArenaConfig(dataset=dataset, target=target, attacker=attacker,
                         attacker_model=attacker_model, defense=defense, rounds=rounds,
                         limit=limit, output_dir=output_dir, seed=seed, attempts=attempts,
                         query_budget=query_budget, patience=patience, tolerance=tolerance,
                         attacker_pool=attacker_pool, defender_pool=defender_pool,
                         concurrency=concurrency, similarity=similarity,
                         min_similarity=min_similarity, fresh=fresh).validate()
    settings = load_settings(config)
    result = asyncio.run(run_arena(settings, chosen, live=not quiet))
    from llamos_gateway.evaluation.fidelity import fidelity_text

    rejected = sum(len(r.rejected) for r in result.rounds)
    typer.echo(f"judge: {fidelity_text(result.meta.get('fidelity', {}))}; "
               f"{rejected} candidates rejected (listed in arena.md)")
    typer.echo(f"stopped: {result.meta.get('stopped')}; report: {output_dir / 'arena.md'}")
