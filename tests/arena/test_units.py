"""The judge, the attacker prompts, the defenders' learning and the stopping rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llamos_gateway.arena.attacker_prompts import Shot, load_attacker_prompts
from llamos_gateway.arena.defenders import MissedEditsDefender, missed_edits
from llamos_gateway.arena.engine import converged
from llamos_gateway.arena.extraction import extract_sentence
from llamos_gateway.arena.judge import ClassificationJudge, level
from llamos_gateway.arena.roles import AttackTask, Feedback, Lesson, RoundRecord, Verdict
from llamos_gateway.defense.protocol import PassthroughPurifier
from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import PROMPTS_DIR

CLEAN = "a warm , funny and thoroughly engaging film about two old friends ."


def verdict(adversarial: str, clean: int, attacked: int) -> Verdict:
    return ClassificationJudge().judge(original=CLEAN, adversarial=adversarial, label=1,
                                       clean_prediction=clean, adversarial_prediction=attacked,
                                       instruction="C1")


def test_judge_needs_a_flip_from_correct_and_fidelity() -> None:
    one_word = CLEAN.replace("funny", "fnuny")
    three_words = one_word.replace("warm", "wrm").replace("film", "flim")
    assert verdict(one_word, 1, 0).reason == "success"
    assert verdict(one_word, 1, 1).reason == "label_kept"
    assert verdict(one_word, 0, 0).reason == "clean_wrong"
    assert verdict(CLEAN, 1, 0).reason == "unchanged"
    failed = verdict(three_words, 1, 0)
    assert (failed.success, failed.reason) == (False, "fidelity_failed")
    assert failed.fidelity.word_modification_ratio > 0.15
    assert level("delete_word+swap") == "W" and level("homoglyph") == "C" and level("S2") == "S"


def test_attacker_prompt_has_promptattack_parts_shots_and_feedback() -> None:
    prompts = load_attacker_prompts(PROMPTS_DIR / "attacker")
    task = AttackTask(idx=1, text=CLEAN, label=1, labels=("negative", "positive"), round=2,
                      attempt=2, seed=0, feedback=(Feedback(
                          adversarial="a wrm , funny film", purified="a warm , funny film",
                          predicted="positive", fidelity_passed=True, reason="label_kept",
                          instruction="C1"),))
    text = prompts.render(task, "C1", [Shot("C1", "it is good .", "it is g00d .")])
    assert f'The original sentence "{CLEAN}" is classified as positive.' in text
    assert "should be classified as negative" in text
    assert prompts.instructions["C1"] in text
    assert "it is good . -> it is g00d ." in text
    assert '"a wrm , funny film" -> after the defense: "a warm , funny film"' in text
    assert text.rstrip().endswith("Only output the new sentence without anything else.")
    assert prompts.version.startswith("attacker-")


def test_attacker_prompt_placeholders_are_checked(tmp_path: Path) -> None:
    copy = tmp_path / "attacker"
    shutil.copytree(PROMPTS_DIR / "attacker", copy)
    (copy / "example.md").write_text("${original} -> ${adversarial} ${oops}\n")
    with pytest.raises(ConfigError, match="oops"):
        load_attacker_prompts(copy)


def test_extract_sentence_from_plain_replies() -> None:
    assert extract_sentence('New sentence: "it is g00d ."\n\nI changed one letter.',
                            "it is good .") == "it is g00d ."
    assert extract_sentence("```\nit is g00d .\n```", "it is good .") == "it is g00d ."


def test_missed_edits_report_what_the_defense_left() -> None:
    lesson = Lesson(original=CLEAN, adversarial=CLEAN.replace("funny", "fuNny")
                    .replace(" thoroughly", ""), purified=CLEAN.replace(" thoroughly", ""),
                    instruction="insert+delete_word")
    assert missed_edits(lesson) == ["(deleted) -> thoroughly"]
    defender = MissedEditsDefender(PassthroughPurifier(), cap=1)
    defender.learn([lesson, lesson])
    assert defender.pool == ("(deleted) -> thoroughly",)


def record(rate: float) -> RoundRecord:
    return RoundRecord(round=1, attack_success_rate=rate, robust_accuracy=0.0,
                       fidelity_pass_rate=1.0, clean_changed_rate=0.0, attacker_pool=0,
                       defender_pool=0, defense_calls=0, attack_queries=0)


def test_converged_after_patience_quiet_rounds() -> None:
    assert not converged([record(0.5), record(0.505)], patience=2, tolerance=0.01)
    assert converged([record(0.4), record(0.5), record(0.505), record(0.5)], 2, 0.01)
    assert not converged([record(0.5), record(0.5), record(0.5)], 0, 0.01)


def test_offline_attacker_moves_its_budget_to_what_gets_through() -> None:
    from llamos_gateway.arena.offline_attacker import OfflineAttacker
    from llamos_gateway.arena.roles import Fidelity, Outcome

    class Fake:
        def __init__(self, name: str) -> None:
            self.name = name

        def candidates(self, word: str, seed: int) -> list[str]:
            return [word + "x"]

    attacker = OfflineAttacker({"swap": Fake("swap"), "delete_word": Fake("delete_word")})

    def outcome(instruction: str, purified: str, success: bool) -> Outcome:
        adversarial = CLEAN.replace("funny", "fnuny")
        return Outcome(round=1, idx=0, attempt=1, original=CLEAN, adversarial=adversarial,
                       purified=purified, label=1, clean_prediction=1,
                       adversarial_prediction=0 if success else 1, instruction=instruction,
                       queries=10, verdict=Verdict(success, "success" if success else
                                                   "label_kept", Fidelity(True, 0.1, "ok")))

    attacker.learn([outcome("swap", CLEAN, False), outcome("swap", CLEAN, False),
                    outcome("delete_word", CLEAN.replace("funny", "fnuny"), True)])
    weights = attacker.weights
    assert weights["delete_word"] > weights["swap"]
    assert attacker.pool_size == 1
    again = OfflineAttacker({"swap": Fake("swap"), "delete_word": Fake("delete_word")})
    again.restore(attacker.snapshot())
    assert again.weights == weights
