"""A short offline arena that really attacks the local TF-IDF target, and resuming it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llamos_gateway.arena.config import ArenaConfig
from llamos_gateway.arena.report import COLUMNS
from llamos_gateway.arena.roles import RoundRecord
from llamos_gateway.arena.setup import ArenaResult, run_arena
from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.settings import load_settings

pytestmark = pytest.mark.slow


def config(out: Path, **kw: Any) -> ArenaConfig:
    base: dict[str, Any] = {"limit": 8, "rounds": 2, "defense": "none", "seed": 3,
                            "similarity": "none", "query_budget": 40, "patience": 0,
                            "output_dir": out}
    return ArenaConfig(**{**base, **kw})


def play(cfg: ArenaConfig, **kw: Any) -> ArenaResult:
    return asyncio.run(run_arena(load_settings(), cfg, live=False, command="test", **kw))


def rows(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "transcript.jsonl").read_text().splitlines()]


def rounds_without_time(out: Path) -> list[dict[str, Any]]:
    body = json.loads((out / "arena.json").read_text())
    return [{k: v for k, v in r.items() if k != "seconds"} for r in body["rounds"]]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("arena") / "full"
    play(config(out))
    return out


def test_round_records_and_files(full_run: Path) -> None:
    body = json.loads((full_run / "arena.json").read_text())
    assert [r["round"] for r in body["rounds"]] == [1, 2]
    for record in body["rounds"]:
        assert set(COLUMNS) <= set(record)
        assert 0.0 <= record["attack_success_rate"] <= 1.0
        assert record["attack_queries"] > record["attempts"] > 0
        assert record["defense_calls"] >= record["examples"] == 8
    assert body["stopped"] == "rounds"
    assert body["fidelity"]["similarity"] == "skipped: switched off (--similarity none)"
    assert "| round | ASR |" in (full_run / "arena.md").read_text()
    assert (full_run / "arena.png").read_bytes()[:4] == b"\x89PNG"


def test_successes_really_fool_the_local_target(full_run: Path) -> None:
    wins = [r for r in rows(full_run) if r["success"]]
    assert wins, "the search found no adversarial example at all"
    target = LocalSentimentClassifier()
    predicted = target.predict_sync([r["purified"] for r in wins]).predicted
    for row, label in zip(wins, predicted, strict=True):
        assert row["adversarial"] != row["original"]
        assert row["word_modification_ratio"] <= 0.15
        assert target.labels[int(label)] == row["adversarial_prediction"] != row["label"]
    body = json.loads((full_run / "arena.json").read_text())
    first = body["rounds"][0]
    assert first["successes"] == len({r["idx"] for r in wins if r["round"] == 1})
    assert first["attacker_pool"] == first["successes"]


def test_resume_after_interruption_gives_the_same_run(full_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"

    def interrupt(record: RoundRecord) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        play(config(out), on_round=interrupt)
    assert [r["round"] for r in json.loads((out / "state.json").read_text())["rounds"]] == [1]
    with (out / "transcript.jsonl").open("a") as handle:  # a round cut off half way
        handle.write(json.dumps({"round": 2, "idx": -1}) + "\n")
    play(config(out))
    assert rounds_without_time(out) == rounds_without_time(full_run)
    assert rows(out) == rows(full_run)


def test_resume_refuses_other_settings(full_run: Path) -> None:
    with pytest.raises(InvalidRequest, match="other settings .*seed"):
        play(config(full_run, seed=4))
