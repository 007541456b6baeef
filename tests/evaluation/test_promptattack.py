"""PromptAttack loader (the published format, em dash included), fidelity filter, replay."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from llamos_gateway.defense import Defense
from llamos_gateway.errors import InvalidRequest, NotFound
from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.fidelity import REASONS, FidelityFilter, word_modification_ratio
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.promptattack import (
    INSTRUCTIONS,
    ReplayOptions,
    load_promptattack,
    replay,
)
from llamos_gateway.evaluation.report import write_report
from tests.evaluation.conftest import RestoringPurifier
from tests.evaluation.test_judge_floor import FixedSimilarity

BUNDLED = Path(str(resources.files("llamos_gateway") / "data" / "promptattack" / "sst-2.json"))


@pytest.fixture(scope="module")
def published() -> object:
    return load_promptattack(BUNDLED)


def test_loads_the_published_file_with_its_em_dash_key(published: object) -> None:
    lists = published.lists  # type: ignore[attr-defined]
    assert set(lists) == {(i, s) for i in INSTRUCTIONS for s in ("zero-shot", "few-shot")}
    c1 = lists["C1", "zero-shot"]
    assert len(c1) == 872 and c1[0].idx == 0 and c1[0].label == 1
    assert c1[0].text == "it 's a charming and often affeccting journey ."


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="PromptAttack file not found"):
        load_promptattack(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"X9": {}}), encoding="utf-8")
    with pytest.raises(InvalidRequest, match="unexpected key 'X9'"):
        load_promptattack(bad)


def test_word_modification_ratio() -> None:
    clean = "it 's a charming and often affecting journey ."
    assert word_modification_ratio(clean, clean) == 0.0
    assert (word_modification_ratio(clean, clean.replace("affecting", "affeccting"))
            == pytest.approx(1 / 9))
    assert word_modification_ratio(clean, "a dull trip .") > 0.5


def test_fidelity_filter_by_level() -> None:
    fidelity = FidelityFilter()
    clean = "unflinchingly bleak and desperate"
    # 1/4 > 0.15
    assert fidelity.check(clean, "unflinchingly bleak and desperwte", "C1").passed is False
    long_clean = "the acting , costumes , music , cinematography and sound are all astounding"
    assert fidelity.check(long_clean, long_clean.replace("music", "musik"), "C1").passed
    rewrite = "unflinchingly bleak and desperate @fasuv3"
    assert fidelity.check(clean, rewrite, "W1").reason == "word_modification_ratio"
    verdict = fidelity.check(clean, rewrite, "S1")  # sentence level: no word-ratio bound
    assert verdict.passed and verdict.similarity is None and not fidelity.similarity_checked
    assert fidelity.check(clean, "unflinchingly beautiful and hopeful", "S2").reason == "content"
    assert fidelity.check(clean, clean + " ", "C1").reason == "unchanged"
    strict = FidelityFilter(similarity=FixedSimilarity(0.4))
    assert strict.check(clean, rewrite, "S1").reason == "similarity"


async def test_replay_with_defense_off_and_on(published: object, sst2: Dataset,
                                              classifier: LocalSentimentClassifier,
                                              restorer: RestoringPurifier, tmp_path: Path) -> None:
    data = sst2.select(40, seed=0)
    evaluation = await replay(published, data, classifier, Defense(restorer), ["restore"],  # type: ignore[arg-type]
                              ReplayOptions(instructions=("C1", "S1"), strategies=("zero-shot",)))
    runs = {(r.recipe, r.defense): r for r in evaluation.runs}
    assert set(runs) == {("C1/zero-shot", "none"), ("C1/zero-shot", "restore"),
                         ("S1/zero-shot", "none"), ("S1/zero-shot", "restore")}
    c1 = runs["C1/zero-shot", "none"]
    assert c1.n == 40 and c1.fidelity_pass_rate is not None and 0 < c1.fidelity_pass_rate < 1
    assert c1.clean_accuracy == pytest.approx(evaluation.clean_accuracy)
    s1 = runs["S1/zero-shot", "none"]
    assert s1.attack_success_rate > 0  # rewrites flip the target
    assert s1.unfiltered_attack_success_rate is not None
    assert s1.unfiltered_attack_success_rate >= s1.attack_success_rate
    assert c1.fidelity_rejections and set(c1.fidelity_rejections) <= set(REASONS) - {"ok"}
    assert sum(c1.fidelity_rejections.values()) == round(40 * (1 - c1.fidelity_pass_rate))
    write_report(evaluation, tmp_path, "llamos eval promptattack sst-2.json")
    report = json.loads((tmp_path / "report.json").read_text("utf-8"))
    assert report["fidelity"]["similarity"].startswith("skipped")
    assert report["fidelity"]["paper"] == {"max_word_modification_ratio": 0.15,
                                           "bertscore_floor": 0.92}
    entry = next(r for r in report["runs"] if r["recipe"] == "C1/zero-shot")
    assert {"unfiltered_attack_success_rate", "passed_attack_success_rate",
            "fidelity_rejections"} <= set(entry)
    assert "Fidelity filter: similarity skipped" in (tmp_path / "report.md").read_text("utf-8")
    examples = [json.loads(x) for x in (tmp_path / "examples.jsonl").read_text().splitlines()]
    assert {e["fidelity"] for e in examples} >= {"ok", "word_modification_ratio"}
    assert {r["mode"] for r in report["runs"]} == {"replay"}
