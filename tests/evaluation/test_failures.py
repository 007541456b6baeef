"""Failures are data: a defender that answers with prose, invalid JSON or not in time in the
middle of `llamos eval promptattack` does not abort the run; each failure is counted by
reason in report.json, report.md and the terminal table. An interrupted run keeps the runs
it finished."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from llamos_gateway.cli import build_cli
from llamos_gateway.evaluation.datasets import load_dataset
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.testing import FakeOpenAI, Reply

pytestmark = pytest.mark.slow

N = 3  # sentences: the defended clean pass and the C1 list each ask the defense N times


def answer(text: str) -> Reply:
    return Reply(content=json.dumps({"purified": text, "changed": False}))


def typo(sentence: str) -> str:
    """One character doubled in the first long word: a C1 perturbation that passes fidelity."""
    words = sentence.split(" ")
    at = next(i for i, w in enumerate(words) if len(w) > 4)
    words[at] = words[at][0] + words[at]
    return " ".join(words)


@pytest.fixture
def setup(tmp_path: Path, fake_url: str) -> tuple[list[str], list[str], Path]:
    sentences = [e.fields[0] for e in load_dataset("sst2").select(N, seed=0).examples]
    examples = load_dataset("sst2").select(N, seed=0).examples
    attacked = [typo(s) for s in sentences]
    attack_file = tmp_path / "attack.json"
    attack_file.write_text(json.dumps({"C1": {"zero—shot": [
        {"idx": e.idx, "label": e.label, "sentence": a}
        for e, a in zip(examples, attacked, strict=False)]}}))
    return sentences, attacked, attack_file


def config(tmp_path: Path, fake_url: str, **defense: Any) -> Path:
    path = tmp_path / "llamos.yaml"
    path.write_text(yaml.safe_dump({
        "models": {"defense": {"model": "openai/fake-model", "api_base": fake_url,
                               "max_retries": 0}},
        # one text at a time, so the scripted replies meet the texts in order
        "defense": {"backend": "llamos", "model": "defense", "timeout_s": 0.5,
                    "max_retries": 0, "concurrency": 1, **defense},
        "limits": {"max_retries": 0}}))
    return path


def run(attack_file: Path, cfg: Path, out: Path) -> Any:
    return CliRunner(env={"COLUMNS": "300"}).invoke(build_cli(), [
        "eval", "promptattack", str(attack_file), "--dataset", "sst2", "--limit", str(N),
        "--defense", "llamos", "--instructions", "C1", "--strategy", "zero-shot",
        "--config", str(cfg), "--output-dir", str(out)])


def test_prose_invalid_json_and_timeouts_are_counted_and_the_run_finishes(
        setup: tuple[list[str], list[str], Path], fake_upstream: FakeOpenAI, fake_url: str,
        tmp_path: Path) -> None:
    sentences, attacked, attack_file = setup
    fake_upstream.enqueue(
        answer(sentences[0]), Reply(content="Sure! This sentence looks fine to me."),
        answer(sentences[2]),                                  # the clean pass
        Reply(content='{"purified": "unterminated'), Reply(content=json.dumps(
            {"purified": attacked[1], "changed": False}), delay_s=2.0),
        answer(attacked[2]))                                   # the C1 list
    result = run(attack_file, config(tmp_path, fake_url), tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert len(fake_upstream.history) == 2 * N

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["complete"] is True
    assert report["defense_failures"] == {"llamos": {"defense_timeout": 1,
                                                     "defense_unparseable": 2}}
    runs = {r["defense"]: r for r in report["runs"]}
    assert runs["llamos"]["defense_failures"] == {"defense_timeout": 1,
                                                  "defense_unparseable": 1}
    assert runs["none"]["defense_failures"] == {}
    assert runs["llamos"]["n"] == N and runs["llamos"]["defense_calls"] == N
    # fail-open: the failed texts went on as they were
    rows = [json.loads(line) for line in (tmp_path / "out" / "examples.jsonl").open()]
    purified = [r["purified"] for r in rows if r["defense"] == "llamos"]
    assert purified == attacked
    table = "defense_timeout 1, defense_unparseable 1"
    assert table in (tmp_path / "out" / "report.md").read_text()
    assert "defense failures" in result.output and table in result.output


def test_fail_closed_refuses_the_text_and_goes_on(
        setup: tuple[list[str], list[str], Path], fake_upstream: FakeOpenAI, fake_url: str,
        tmp_path: Path) -> None:
    sentences, attacked, attack_file = setup
    fake_upstream.enqueue(answer(sentences[0]), answer(sentences[1]), answer(sentences[2]),
                          answer(attacked[0]), Reply(content="no JSON here"),
                          answer(attacked[2]))
    result = run(attack_file, config(tmp_path, fake_url, fail_policy="closed"),
                 tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    runs = {r["defense"]: r for r in report["runs"]}
    assert runs["llamos"]["defense_failures"] == {"defense_unparseable": 1}
    rows = [json.loads(line) for line in (tmp_path / "out" / "examples.jsonl").open()
            if json.loads(line)["defense"] == "llamos"]
    refused = rows[1]
    assert refused["purified"] is None and refused["adversarial_prediction"] is None


def test_an_interrupted_run_keeps_what_it_finished(
        setup: tuple[list[str], list[str], Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, attack_file = setup
    data = json.loads(attack_file.read_text())
    data["S1"] = data["C1"]  # a second list, which never finishes
    attack_file.write_text(json.dumps(data))
    calls = 0
    predict = LocalSentimentClassifier.predict

    async def breaks_later(self: LocalSentimentClassifier, inputs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 4:  # two clean passes and the C1 list: then the target goes away
            raise RuntimeError("target lost")
        return await predict(self, inputs)

    monkeypatch.setattr(LocalSentimentClassifier, "predict", breaks_later)
    result = CliRunner().invoke(build_cli(), [
        "eval", "promptattack", str(attack_file), "--dataset", "sst2", "--limit", str(N),
        "--defense", "lexical", "--instructions", "C1,S1", "--strategy", "zero-shot",
        "--output-dir", str(tmp_path / "out")])
    assert isinstance(result.exception, RuntimeError)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["complete"] is False
    assert {(r["recipe"], r["defense"]) for r in report["runs"]} == {
        ("C1/zero-shot", "none"), ("C1/zero-shot", "lexical")}
