"""The live terminal view: one rich table row per round, and the progress within a round."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from llamos_gateway.arena.report import cells
from llamos_gateway.arena.roles import RoundRecord

# Short enough for an 80-column terminal; arena.md spells them out.
HEADERS = ("round", "ASR", "robust", "fidelity", "clean chg", "atk pool", "def pool",
           "def calls", "queries")


class LiveTable:
    def __init__(self, title: str, console: Console | None = None) -> None:
        self._title = title
        self._rows: list[RoundRecord] = []
        self._status = ""
        self._live = Live(self._render(), console=console or Console(stderr=True),
                          auto_refresh=False, transient=False)

    def _render(self) -> Table:
        table = Table(title=self._title, caption=self._status or None)
        for header in HEADERS:
            table.add_column(header, justify="right")
        for record in self._rows:
            table.add_row(*cells(record))
        return table

    def round_done(self, record: RoundRecord) -> None:
        self._rows.append(record)
        self._status = ""
        self._live.update(self._render(), refresh=True)

    def progress(self, done: int, total: int) -> None:
        if done == total or done % max(1, total // 20) == 0:
            self._status = f"round {len(self._rows) + 1}: {done}/{total} examples"
            self._live.update(self._render(), refresh=True)

    def __enter__(self) -> LiveTable:
        self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._live.__exit__(et, e, tb)
        self._live.console.line()
