"""Defense off versus on through the runner, and the report files it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llamos_gateway.defense import Defense
from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.report import write_report
from llamos_gateway.evaluation.runner import EvalOptions, evaluate
from tests.evaluation.conftest import RestoringPurifier, right_answers

pytestmark = pytest.mark.slow

RUN_KEYS = {"recipe", "defense", "mode", "n", "clean_accuracy", "attacked_accuracy",
            "attack_success_rate", "avg_queries", "avg_perturbed_words", "skipped",
            "clean_accuracy_purified", "defense_latency_ms", "defense_calls"}


async def test_defense_off_and_on_and_the_report(classifier: LocalSentimentClassifier,
                                                 sst2: Dataset, restorer: RestoringPurifier,
                                                 tmp_path: Path) -> None:
    data = right_answers(classifier, sst2, 6, skip=10)
    evaluation = await evaluate(data, classifier, Defense(restorer), ["restore"],
                                EvalOptions(recipes=("homoglyph",), seed=0))
    runs = {(r.defense, r.mode): r for r in evaluation.runs}
    assert set(runs) == {("none", "adaptive"), ("restore", "adaptive"), ("restore", "transfer")}
    off = runs["none", "adaptive"]
    assert off.attack_success_rate > 0.5
    # homoglyphs are undone before the target sees them: nothing gets through
    assert runs["restore", "adaptive"].attack_success_rate == 0.0
    assert runs["restore", "transfer"].attack_success_rate == 0.0
    assert runs["restore", "adaptive"].defense_calls > 0
    assert restorer.history and all(r.task == "sentiment" for r in restorer.history)

    files = write_report(evaluation, tmp_path, "llamos eval --recipe homoglyph")
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert report["n"] == 6 and report["command"] == "llamos eval --recipe homoglyph"
    assert "textattack" in report["versions"]
    for run in report["runs"]:
        assert run.keys() >= RUN_KEYS
    defended = [r for r in report["runs"] if r["defense"] == "restore"]
    assert all(r["asr_relative_reduction"] == 1.0 for r in defended)
    markdown = (tmp_path / "report.md").read_text("utf-8")
    assert "llamos eval --recipe homoglyph" in markdown and "| homoglyph | none |" in markdown
    lines = [json.loads(x) for x in (tmp_path / "examples.jsonl").read_text("utf-8").splitlines()]
    assert len(lines) == 18
    won = [x for x in lines if x["defense"] == "none" and x["status"] == "succeeded"]
    assert won and won[0]["label"] in ("negative", "positive")
    restored = [x for x in lines if x["defense"] == "restore" and x["mode"] == "transfer"]
    assert all(x["purified"] == x["original"] for x in restored)
    for png in (tmp_path / "asr.png", tmp_path / "accuracy.png"):
        assert png in files and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
