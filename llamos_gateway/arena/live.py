"""The live view of an arena: one table row per round, and the progress within a round.

On a terminal a rich table redraws in place; in a pipe or a log each round is one plain
markdown row as it ends (nothing cut to 80 columns, nothing redrawn).
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from llamos_gateway.arena.report import cells
from llamos_gateway.arena.roles import RoundRecord

# Short enough for an 80-column terminal; arena.md spells them out.
HEADERS = ("round", "ASR", "no floor", "of passed", "robust", "fidelity", "clean chg",
           "atk pool", "def pool", "def calls", "def fail", "tok/call", "queries")


class LiveTable:
    def __init__(self, title: str, console: Console | None = None) -> None:
        self._title = title
        self._rows: list[RoundRecord] = []
        self._status = ""
        self._console = console or Console(stderr=True)
        self._live = Live(self._render(), console=self._console, auto_refresh=False,
                          transient=False) if self._console.is_terminal else None

    def _render(self) -> Table:
        table = Table(title=self._title, caption=self._status or None)
        for header in HEADERS:
            table.add_column(header, justify="right", overflow="fold")
        for record in self._rows:
            table.add_row(*cells(record))
        return table

    def round_done(self, record: RoundRecord) -> None:
        self._rows.append(record)
        self._status = ""
        if self._live is None:
            self._plain("| " + " | ".join(cells(record)) + " |")
        else:
            self._live.update(self._render(), refresh=True)

    def progress(self, done: int, total: int) -> None:
        if self._live is not None and (done == total or done % max(1, total // 20) == 0):
            self._status = f"round {len(self._rows) + 1}: {done}/{total} examples"
            self._live.update(self._render(), refresh=True)

    def _plain(self, line: str) -> None:
        self._console.out(line, highlight=False)

    def __enter__(self) -> LiveTable:
        if self._live is None:
            self._plain(self._title)
            self._plain("| " + " | ".join(HEADERS) + " |")
            self._plain("|" + "---:|" * len(HEADERS))
        else:
            self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(et, e, tb)
            self._console.line()
