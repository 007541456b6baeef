"""`llamos eval` (TextAttack recipes, defense off versus on) and `llamos eval promptattack FILE`."""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.settings import load_settings

if TYPE_CHECKING:
    from rich.progress import Progress

    from llamos_gateway.evaluation.jobs import DataSpec
    from llamos_gateway.evaluation.results import Evaluation

Dataset = Annotated[str, typer.Option(
    help="sst2, rte, a .csv/.jsonl file, or hf:NAME/CONFIG:SPLIT")]
Target = Annotated[str, typer.Option(
    help="model to attack: local/sst2-sentiment or a gateway model")]
Via = Annotated[str, typer.Option(help="auto, local, gateway (in-process) or a gateway URL")]
Defense = Annotated[str, typer.Option(help="comma list of lexical, llamos, tiered, passthrough; "
                                      "or none (the no-defense baseline always runs)")]
Limit = Annotated[int | None, typer.Option(help="attack N examples (a seeded sample)")]
Seed = Annotated[int, typer.Option(help="seed for the sample and the attacks")]
OutputDir = Annotated[Path, typer.Option(
    help="where report.json, report.md, examples.jsonl and PNGs go")]
TextColumns = Annotated[str | None, typer.Option(help="user files: comma list of text columns")]
LabelColumn = Annotated[str, typer.Option(help="user files: label column")]
Labels = Annotated[str | None, typer.Option(
    help="user files: comma list of label words, in id order")]
TERMINAL_COLUMNS = ("recipe", "defense", "mode", "clean acc", "clean acc purified", "attacked acc",
                    "ASR", "ASR cut", "defense failures", "avg queries")
Logprobs = Annotated[bool, typer.Option(help="LLM targets: ask for logprobs to score labels")]


def register(app: typer.Typer) -> None:
    eval_app = typer.Typer(help="Attack a target with the defense off and on; write a report.",
                           invoke_without_command=True, no_args_is_help=False,
                           rich_markup_mode=None)
    eval_app.callback()(attack)
    eval_app.command("promptattack")(promptattack)
    app.add_typer(eval_app, name="eval")


class _RichProgress:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def start(self, description: str, total: int) -> Callable[[], None]:
        task = self._progress.add_task(description, total=total)
        return lambda: self._progress.advance(task)


def _command() -> str:
    return "llamos " + shlex.join(sys.argv[1:])


def _show(evaluation: Evaluation, files: Sequence[Path],
          columns: Sequence[str] = TERMINAL_COLUMNS) -> None:
    """A rich table on a terminal (cells fold, never cut); a plain markdown table when stdout
    is a pipe or a file, at full width whatever the terminal's."""
    from rich.console import Console
    from rich.table import Table

    from llamos_gateway.evaluation.report import COLUMNS, markdown_table, table_rows

    shown = [COLUMNS.index(c) for c in columns]
    rows = [tuple(row[i] for i in shown) for row in table_rows(evaluation)]
    title = f"{evaluation.target} on {evaluation.dataset}"
    report = f"report: {', '.join(str(f) for f in files)}"
    console = Console()
    if not console.is_terminal:
        typer.echo(f"{title}\n\n{markdown_table(columns, rows)}\n\n{report}")
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(report)


def _data(dataset: str, text_columns: str | None, label_column: str, labels: str | None,
          limit: int | None, seed: int) -> DataSpec:
    from llamos_gateway.evaluation.jobs import DataSpec, split_list

    return DataSpec(dataset, split_list(text_columns) if text_columns else None, label_column,
                    split_list(labels) if labels else None, None, limit, seed)


def attack(
    ctx: typer.Context,
    dataset: Dataset = "sst2",
    target: Target = "local/sst2-sentiment",
    via: Via = "auto",
    recipe: Annotated[str, typer.Option(
        help="comma list: deepwordbug, pruthi, homoglyph, "
             "invisible, or another TextAttack recipe")] = "deepwordbug,pruthi",
    defense: Defense = "lexical",
    mode: Annotated[str, typer.Option(
        help="comma list of adaptive, transfer")] = "adaptive,transfer",
    limit: Limit = None,
    seed: Seed = 0,
    query_budget: Annotated[int | None, typer.Option(help="max target queries per example")] = None,
    workers: Annotated[int, typer.Option(help="processes to spread the recipes over")] = 1,
    output_dir: OutputDir = Path("runs/eval"),
    text_columns: TextColumns = None,
    label_column: LabelColumn = "label",
    labels: Labels = None,
    logprobs: Logprobs = False,
    config: ConfigOption = None,
) -> None:
    """Run TextAttack recipes against a target, with the defense off and on."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.progress import Progress

    from llamos_gateway.evaluation.jobs import AttackJob, run_attack_job, split_list
    from llamos_gateway.evaluation.session import TargetSpec, parse_defenses

    settings = load_settings(config)
    job = AttackJob(data=_data(dataset, text_columns, label_column, labels, limit, seed),
                    target=TargetSpec(target, via, logprobs=logprobs),
                    recipes=split_list(recipe), defenses=parse_defenses(defense),
                    output_dir=output_dir, command=_command(), modes=split_list(mode),
                    query_budget=query_budget, workers=workers)
    with Progress(transient=False, disable=workers > 1) as bar:
        evaluation, files = asyncio.run(run_attack_job(settings, job, _RichProgress(bar)))
    _show(evaluation, files)


def promptattack(
    file: Annotated[Path, typer.Argument(help="PromptAttack-format JSON (instructions C1..S3)")],
    dataset: Dataset = "sst2",
    target: Target = "local/sst2-sentiment",
    via: Via = "auto",
    defense: Defense = "lexical",
    instructions: Annotated[str, typer.Option(
        help="comma list of C1..S3")] = "C1,C2,C3,W1,W2,W3,S1,S2,S3",
    strategy: Annotated[str, typer.Option(
        help="comma list of zero-shot, few-shot")] = "zero-shot,few-shot",
    max_word_ratio: Annotated[float, typer.Option(
        help="fidelity: max word modification ratio (C, W)")] = 0.15,
    similarity: Annotated[str, typer.Option(
        help="fidelity: semantic floor from local (bundled model), "
             "bert-score:<model dir> or none")] = "local",
    min_similarity: Annotated[float | None, typer.Option(
        help="fidelity: override the similarity's calibrated floor")] = None,
    limit: Limit = None,
    seed: Seed = 0,
    output_dir: OutputDir = Path("runs/promptattack"),
    logprobs: Logprobs = False,
    config: ConfigOption = None,
) -> None:
    """Replay PromptAttack adversarial sentences through the target, defense off and on."""
    from llamos_gateway.evaluation.fidelity import FidelityFilter, fidelity_text
    from llamos_gateway.evaluation.jobs import ReplayJob, run_replay_job, split_list
    from llamos_gateway.evaluation.session import TargetSpec, parse_defenses
    from llamos_gateway.evaluation.similarity import open_similarity

    settings = load_settings(config)
    with open_similarity(similarity) as (chosen, unavailable):
        fidelity = FidelityFilter(max_word_modification_ratio=max_word_ratio, similarity=chosen,
                                  min_similarity=min_similarity, unavailable=unavailable)
        job = ReplayJob(file=file, data=_data(dataset, None, "label", None, limit, seed),
                        target=TargetSpec(target, via, logprobs=logprobs),
                        defenses=parse_defenses(defense), output_dir=output_dir,
                        command=_command(), instructions=split_list(instructions),
                        strategies=split_list(strategy), fidelity=fidelity)
        evaluation, files = asyncio.run(run_replay_job(settings, job))
    _show(evaluation, files, (*TERMINAL_COLUMNS[:-1], "ASR no floor", "ASR of passed",
                              "fidelity pass", "rejected (why)"))
    typer.echo(f"fidelity filter: {fidelity_text(fidelity.describe())}")
