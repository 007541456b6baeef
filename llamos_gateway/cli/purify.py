"""`llamos purify`: purify one text, or JSON lines from stdin (`--jsonl`).

`--jsonl` reads one JSON object with a `text` field per line and writes one JSON object per
input line, in order, with at least `text`, `purified`, `changed`, `suspicious`, `edits`. A
line that is no such object gets `{"error": ..., "line": N}` and the run goes on.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TextIO

import orjson
import typer

from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.errors import LlamosError
from llamos_gateway.purifier import Purifier, PurifyRequest, PurifyResult
from llamos_gateway.settings import Settings, load_settings

BACKENDS = ("lexical", "llamos", "tiered", "passthrough")
DefenseOption = Annotated[str | None, typer.Option(
    "--defense", help="lexical, llamos, tiered or passthrough (default: defense.backend)")]


def register(app: typer.Typer) -> None:
    app.command()(purify)


def purify(
    text: Annotated[str | None, typer.Argument(help="the text to purify")] = None,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="JSON lines with a `text` field on stdin")] = False,
    defense: DefenseOption = None,
    task: Annotated[str | None, typer.Option(help="task hint: sentiment, nli, qa, ...")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as one JSON object")] = False,
    config: ConfigOption = None,
) -> None:
    """Purify a text (or JSON lines) with the configured defense and show the edits."""
    if (text is None) == (not jsonl):
        raise typer.BadParameter("give a TEXT or --jsonl (not both)")
    settings = load_settings(config)
    backend = defense or settings.defense_backend
    if backend not in BACKENDS:
        raise typer.BadParameter(f"--defense must be one of {', '.join(BACKENDS)}")
    asyncio.run(_run(settings, backend, text, task, as_json))


async def _run(settings: Settings, backend: str, text: str | None, task: str | None,
               as_json: bool) -> None:
    async with _purifier(settings, backend) as purifier:
        if text is None:
            # the local backends never wait, so running them one by one is fastest
            local = backend in ("lexical", "passthrough")
            await purify_lines(purifier, sys.stdin, sys.stdout, task,
                               1 if local else settings.defense.concurrency)
            return
        result = await purifier.purify(PurifyRequest(text=text, task=task))
        print(json.dumps(result.as_dict(), ensure_ascii=False) if as_json else _show(result))


@asynccontextmanager
async def _purifier(settings: Settings, backend: str) -> AsyncIterator[Purifier]:
    """lexical and passthrough need no client; llamos and tiered go through the wiring."""
    if backend == "lexical":
        from llamos_gateway.lexical import LexicalPurifier

        yield LexicalPurifier(screen_threshold=settings.defense.screen_threshold)
        return
    if backend == "passthrough":
        from llamos_gateway.purifier import PassthroughPurifier

        yield PassthroughPurifier()
        return
    from llamos_gateway.wiring import open_components

    chosen = settings.model_copy(
        update={"defense": settings.defense.model_copy(update={"backend": backend})})
    async with open_components(chosen) as components:
        yield components.purifier


async def purify_lines(purifier: Purifier, source: Iterable[str], sink: TextIO,
                       task: str | None, concurrency: int = 8) -> None:
    """Purify JSON lines `concurrency` at a time, writing the answers in input order."""
    batch: list[tuple[int, str]] = []
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        batch.append((number, line))
        if len(batch) >= concurrency:
            await _flush(purifier, batch, sink, task)
            batch = []
    if batch:
        await _flush(purifier, batch, sink, task)


async def _flush(purifier: Purifier, batch: list[tuple[int, str]], sink: TextIO,
                 task: str | None) -> None:
    if len(batch) == 1:
        rows = [await _one(purifier, *batch[0], task)]
    else:
        rows = list(await asyncio.gather(*(_one(purifier, n, line, task) for n, line in batch)))
    sink.write(b"".join(orjson.dumps(row) + b"\n" for row in rows).decode())
    sink.flush()


async def _one(purifier: Purifier, number: int, line: str, task: str | None) -> dict[str, Any]:
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return {"error": f"not JSON: {exc}", "line": number}
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        return {"error": "expected an object with a string `text` field", "line": number}
    hint = row.get("task") if isinstance(row.get("task"), str) else task
    try:
        result = await purifier.purify(PurifyRequest(text=row["text"], task=hint))
    except LlamosError as exc:
        return {"error": exc.message, "code": exc.code, "line": number, "text": row["text"]}
    return result.as_dict()


def _show(result: PurifyResult) -> str:
    lines = [result.purified]
    verdict = "suspicious" if result.suspicious else "clean"
    lines.append(f"# {result.backend}: {verdict} (score {result.score:.2f}), "
                 f"{len(result.edits)} edit(s)")
    for edit in result.edits:
        lines.append(f"#   [{edit.start}:{edit.end}] {edit.before!r} -> {edit.after!r} "
                     f"({edit.rule})")
    return "\n".join(lines)
