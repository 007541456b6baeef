"""`llamos purify`: purify one text, or JSON lines from stdin (`--jsonl`).

One text: the purified text alone on stdout (so `$(llamos purify ...)` captures just that);
the verdict and the edits on stderr with `--explain` (the default when stderr is a
terminal); `--json` prints the whole result as one JSON object instead.

`--jsonl` reads one JSON object with a `text` field per line and writes one JSON object per
purified line, in input order: every field of the input line (`id`, labels, ...) and the
result's fields (`text`, `purified`, `changed`, `suspicious`, `edits`, ...; a result field
replaces an input field of the same name). A line that cannot be purified gets one JSON
object on stderr instead, `{"line": N, "error": ..., <the input's other fields>}`, the run
goes on, and the exit status is 1 if any line failed.

Texts go through a `Defense`, with the gateway's failure policy: under fail-open a text the
backend could not purify comes back as it could still make it, with `fail_open` naming the
reason; under fail-closed the line fails. The backends that need no defense model are built
without opening any client (start-up stays short); the others come from the composition root.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TextIO

import orjson
import typer

from llamos_gateway import backends
from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.defense import Defense, PurifyResult, Task
from llamos_gateway.defense.codec import public
from llamos_gateway.errors import LlamosError
from llamos_gateway.settings import Settings, load_settings

DefenseOption = Annotated[str | None, typer.Option(
    "--defense", help=f"{', '.join(backends.names())} (default: defense.backend)")]
LINES_FAILED = 1


def register(app: typer.Typer) -> None:
    app.command()(purify)


def purify(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Argument(help="the text to purify")] = None,
    jsonl: Annotated[bool, typer.Option(
        "--jsonl", help="JSON lines with a `text` field on stdin")] = False,
    defense: DefenseOption = None,
    task: Annotated[Task | None, typer.Option(help="task hint")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="print the result as one JSON object")] = False,
    explain: Annotated[bool | None, typer.Option(
        "--explain/--no-explain",
        help="the verdict and the edits on stderr [default: when stderr is a terminal]")] = None,
    config: ConfigOption = None,
) -> None:
    """Purify a TEXT (or JSON lines on stdin): the purified text on stdout."""
    if text is None and not jsonl:
        ctx.fail("give a TEXT to purify, or --jsonl to read JSON lines from stdin")
    if text is not None and jsonl:
        ctx.fail("give a TEXT or --jsonl, not both")
    settings = load_settings(config)
    backend = defense or settings.defense_backend
    if backend not in backends.names():
        ctx.fail(f"--defense must be one of {', '.join(backends.names())}")
    show = sys.stderr.isatty() if explain is None else explain
    failed = asyncio.run(_run(settings, backend, text, task, as_json, show))
    if failed:
        raise typer.Exit(LINES_FAILED)


async def _run(settings: Settings, backend: str, text: str | None, task: str | None,
               as_json: bool, explain: bool) -> int:
    async with _defense(settings, backend) as defense:
        if text is None:
            # the backends without a model never wait, so running them one by one is fastest
            waits = backends.get(backend).needs_model
            tally = await purify_lines(defense, sys.stdin, sys.stdout, sys.stderr, task,
                                       settings.defense.concurrency if waits else 1)
            return tally.failed
        outcome = await defense.purify([text], task=task)
        (result,) = outcome.per_text([text])
        print(json.dumps(_row(result, outcome.fail_open), ensure_ascii=False) if as_json
              else result.purified)
        if explain and not as_json:
            print(explanation(result, outcome.fail_open), file=sys.stderr)
        return 0


@asynccontextmanager
async def _defense(settings: Settings, backend: str) -> AsyncIterator[Defense]:
    """The `Defense` serving `backend`: built in place when it needs no defense model (no
    client to open), else the process's one from the composition root."""
    if not backends.get(backend).needs_model:
        yield backends.defense_for(settings.defense, backends.build_offline(backend,
                                                                             settings.defense))
        return
    from llamos_gateway.wiring import open_components

    chosen = settings.model_copy(
        update={"defense": settings.defense.model_copy(update={"backend": backend})})
    async with open_components(chosen) as components:
        yield components.defense


@dataclass
class Tally:
    written: int = 0
    failed: int = 0


async def purify_lines(defense: Defense, source: Iterable[str], sink: TextIO, errors: TextIO,
                       task: str | None, concurrency: int = 8) -> Tally:
    """Purify JSON lines `concurrency` at a time: answers to `sink` in input order, one JSON
    error per failed line to `errors`."""
    tally = Tally()
    batch: list[tuple[int, str]] = []
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        batch.append((number, line))
        if len(batch) >= concurrency:
            await _flush(defense, batch, sink, errors, task, tally)
            batch = []
    if batch:
        await _flush(defense, batch, sink, errors, task, tally)
    return tally


async def _flush(defense: Defense, batch: list[tuple[int, str]], sink: TextIO, errors: TextIO,
                 task: str | None, tally: Tally) -> None:
    if len(batch) == 1:
        rows = [await _one(defense, *batch[0], task)]
    else:
        rows = list(await asyncio.gather(*(_one(defense, n, line, task) for n, line in batch)))
    good = [row for ok, row in rows if ok]
    bad = [row for ok, row in rows if not ok]
    if good:
        sink.write(b"".join(orjson.dumps(row) + b"\n" for row in good).decode())
        sink.flush()
    if bad:
        errors.write(b"".join(orjson.dumps(row) + b"\n" for row in bad).decode())
        errors.flush()
    tally.written += len(good)
    tally.failed += len(bad)


async def _one(defense: Defense, number: int, line: str,
               task: str | None) -> tuple[bool, dict[str, Any]]:
    """(True, the input's fields and the result) or (False, the error for stderr)."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return False, {"line": number, "error": f"not JSON: {exc}"}
    if not isinstance(row, dict):
        return False, {"line": number, "error": "expected a JSON object with a string `text` field"}
    context = {k: v for k, v in row.items() if k != "text"}
    if not isinstance(row.get("text"), str):
        return False, {"line": number, "error": "expected a string `text` field", **context}
    hint = row.get("task") if isinstance(row.get("task"), str) else task
    try:
        outcome = await defense.purify([row["text"]], task=hint)
    except LlamosError as exc:
        return False, {"line": number, "error": exc.message, "code": exc.code, **context}
    (result,) = outcome.per_text([row["text"]])
    return True, {**row, **_row(result, outcome.fail_open)}


def _row(result: PurifyResult, fail_open: str | None) -> dict[str, Any]:
    row = public(result)
    if fail_open:
        row["fail_open"] = fail_open
    return row


def explanation(result: PurifyResult, fail_open: str | None = None) -> str:
    """The verdict and one line per edit, for a person."""
    verdict = "suspicious" if result.suspicious else "clean"
    lines = [f"# {result.backend}: {verdict} (score {result.score:.2f}), "
             f"{len(result.edits)} edit(s)"]
    if fail_open:
        lines.append(f"# fail-open: {fail_open} (the defense failed; the text goes on as shown)")
    for edit in result.edits:
        lines.append(f"#   [{edit.start}:{edit.end}] {edit.before!r} -> {edit.after!r} "
                     f"({edit.rule})")
    return "\n".join(lines)
