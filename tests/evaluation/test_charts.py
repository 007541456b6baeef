"""Charts stay readable however many recipes ran; report files follow the user's umask."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from llamos_gateway.evaluation.charts import panels, write_charts
from llamos_gateway.evaluation.results import Evaluation, RunResult
from llamos_gateway.files import atomic_write

PROMPTATTACK = [f"{i}/{s}" for i in ("C1", "C2", "C3", "W1", "W2", "W3", "S1", "S2", "S3")
                for s in ("zero-shot", "few-shot")]


def test_promptattack_gets_one_panel_per_level() -> None:
    split = panels(PROMPTATTACK)
    assert [title for title, _ in split] == ["character level", "word level", "sentence level"]
    assert [len(group) for _, group in split] == [6, 6, 6]
    assert panels(["C1/zero-shot", "S2/few-shot"]) == [("character level", ["C1/zero-shot"]),
                                                        ("sentence level", ["S2/few-shot"])]


def test_other_recipes_get_rows_of_six() -> None:
    recipes = [f"recipe{i}" for i in range(8)]
    assert panels(recipes) == [("", recipes[:6]), ("", recipes[6:])]
    assert panels(["deepwordbug", "pruthi"]) == [("", ["deepwordbug", "pruthi"])]


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return int(width), int(height)


def test_promptattack_chart_is_no_longer_a_strip(tmp_path: Path) -> None:
    runs = tuple(RunResult(recipe=r, defense=d, mode="replay", n=10, succeeded=2, failed=8,
                           skipped=0, avg_queries=1.0, avg_perturbed_words=1.0)
                 for r in PROMPTATTACK for d in ("none", "lexical"))
    evaluation = Evaluation("sst2", "local/sst2-sentiment", ("negative", "positive"), 10, 0,
                            0.9, runs, 1.0)
    asr, _accuracy = write_charts(evaluation, tmp_path)
    width, height = png_size(asr)
    assert width <= 1400 and height >= 900  # three stacked panels, not 3784x396


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_atomic_write_follows_the_umask(tmp_path: Path, umask_027: None) -> None:
    target = tmp_path / "out" / "report.json"
    atomic_write(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # no temp file left
