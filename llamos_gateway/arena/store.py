"""The run's state on disk, so an interrupted arena resumes where it stopped.

`state.json` (written atomically after each round) holds the run's settings, the finished
round records and the attacker's and defender's learned state; `transcript.jsonl` gets every
attempt of a round once the round is done. Resuming drops transcript rows of an unfinished
round. Settings that change the run's meaning must match; `rounds` may grow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from llamos_gateway.arena.roles import Attacker, Defender, Outcome, RoundRecord
from llamos_gateway.errors import InvalidRequest
from llamos_gateway.files import atomic_write

STATE = "state.json"
TRANSCRIPT = "transcript.jsonl"
OUTPUTS = (STATE, TRANSCRIPT, "arena.json", "arena.md", "arena.png")


def record_from(data: Mapping[str, Any]) -> RoundRecord:
    known = {f.name for f in fields(RoundRecord)}
    return RoundRecord(**{k: v for k, v in data.items() if k in known})


class RunStore:
    def __init__(self, directory: Path, run_key: Mapping[str, Any], *, fresh: bool = False) -> None:
        self.directory = directory
        self.run_key = dict(run_key)
        self.records: list[RoundRecord] = []
        self.stopped: str | None = None
        if fresh:
            for name in OUTPUTS:
                (directory / name).unlink(missing_ok=True)

    @property
    def state_path(self) -> Path:
        return self.directory / STATE

    def resume(self, attacker: Attacker, defender: Defender) -> list[RoundRecord]:
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.state_path.is_file():
            (self.directory / TRANSCRIPT).unlink(missing_ok=True)
            return []
        try:
            state = json.loads(self.state_path.read_text("utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"{self.state_path} is not valid JSON; pass --fresh to start "
                                 "over", param="output_dir") from exc
        if state.get("run") != self.run_key:
            theirs = state.get("run") or {}
            diff = sorted(k for k in {**theirs, **self.run_key}
                          if theirs.get(k) != self.run_key.get(k))
            raise InvalidRequest(f"{self.directory} holds an arena run with other settings "
                                 f"({', '.join(diff)}); pass --fresh to start over or choose "
                                 "another --output-dir", param="output_dir")
        self.records = [record_from(r) for r in state.get("rounds", [])]
        attacker.restore(state.get("attacker", {}))
        defender.restore(state.get("defender", {}))
        self._truncate(len(self.records))
        return list(self.records)

    def _truncate(self, last_round: int) -> None:
        path = self.directory / TRANSCRIPT
        if not path.is_file():
            return
        kept = [line for line in path.read_text("utf-8").splitlines()
                if line.strip() and json.loads(line).get("round", 0) <= last_round]
        atomic_write(path, "".join(f"{line}\n" for line in kept).encode("utf-8"))

    def save_round(self, record: RoundRecord, outcomes: Sequence[Outcome],
                   labels: tuple[str, ...], attacker: Attacker, defender: Defender) -> None:
        with (self.directory / TRANSCRIPT).open("a", encoding="utf-8") as handle:
            for outcome in outcomes:
                handle.write(json.dumps(outcome.as_dict(labels), ensure_ascii=False) + "\n")
        self.records.append(record)
        self._write_state(attacker, defender)

    def finish(self, stopped: str) -> None:
        self.stopped = stopped

    def _write_state(self, attacker: Attacker, defender: Defender) -> None:
        state = {"run": self.run_key, "rounds": [asdict(r) for r in self.records],
                 "attacker": attacker.snapshot(), "defender": defender.snapshot()}
        atomic_write(self.state_path, json.dumps(state, ensure_ascii=False, indent=1).encode())
