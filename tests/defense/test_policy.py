"""The defense policy: its layers (header > key > model > global) resolved in one place, and
the verdict each score and change gets under each action."""

from __future__ import annotations

import pytest

from llamos_gateway.defense import DefenseMode, PurifyResult
from llamos_gateway.defense.policy import (
    Action,
    Policy,
    PolicyBook,
    PolicyOverride,
    Verdict,
)
from llamos_gateway.defense.service import DefenseOutcome
from llamos_gateway.settings import ApiKey, load_settings


def book() -> PolicyBook:
    return PolicyBook(Policy(task="chat"), {
        "strict": PolicyOverride(action=Action.BLOCK, block_threshold=0.5, roles=["user", "tool"]),
        "watched": PolicyOverride(mode=DefenseMode.SHADOW, action=Action.FLAG)})


def test_each_layer_overrides_only_the_keys_it_sets() -> None:
    policies = book()
    assert policies.resolve("unlisted") == Policy(task="chat")
    strict = policies.resolve("strict")
    assert (strict.action, strict.block_threshold, strict.roles, strict.task) == (
        Action.BLOCK, 0.5, frozenset({"user", "tool"}), "chat")
    keyed = policies.resolve("strict", key=PolicyOverride(action=Action.FLAG, task="qa"))
    assert (keyed.action, keyed.block_threshold, keyed.task) == (Action.FLAG, 0.5, "qa")
    headed = policies.resolve("strict", key=PolicyOverride(mode=DefenseMode.SHADOW, task="qa"),
                              header=PolicyOverride(mode=DefenseMode.OFF))
    assert (headed.mode, headed.task, headed.action) == (DefenseMode.OFF, "qa", Action.BLOCK)


def test_precedence_is_header_then_key_then_model_then_global() -> None:
    header, key = PolicyOverride(mode=DefenseMode.ENFORCE), PolicyOverride(mode=DefenseMode.OFF)
    policies = book()
    assert policies.resolve("watched").mode is DefenseMode.SHADOW             # model > global
    assert policies.resolve("watched", key=key).mode is DefenseMode.OFF       # key > model
    assert policies.resolve("watched", key=key,
                            header=header).mode is DefenseMode.ENFORCE        # header > key


def test_settings_feed_the_book_and_keys_keep_defense_mode() -> None:
    settings = load_settings(
        defense={"action": "flag", "block_threshold": 0.7, "roles": ["user"]},
        models={"m": {"model": "local/echo", "defense": {"action": "block"}}})
    policies = settings.policies()
    assert policies.base.action is Action.FLAG and policies.base.block_threshold == 0.7
    assert policies.for_model("m").action is Action.BLOCK
    assert policies.for_model("m").block_threshold == 0.7
    key = ApiKey.model_validate({"key": "sk-x", "defense_mode": "shadow",
                                 "defense": {"action": "block"}})
    assert key.policy() == PolicyOverride(mode=DefenseMode.SHADOW, action=Action.BLOCK)
    both = ApiKey.model_validate({"key": "sk-x", "defense_mode": "shadow",
                                  "defense": {"mode": "off"}})
    assert both.policy() == PolicyOverride(mode=DefenseMode.OFF)  # the explicit layer wins


@pytest.mark.parametrize(("score", "changed", "action", "mode", "verdict"), [
    (0.0, False, Action.PURIFY, DefenseMode.ENFORCE, Verdict.CLEAN),
    (0.3, True, Action.BLOCK, DefenseMode.ENFORCE, Verdict.REPAIRED),
    (0.95, True, Action.PURIFY, DefenseMode.ENFORCE, Verdict.SUSPICIOUS),
    (0.95, False, Action.FLAG, DefenseMode.ENFORCE, Verdict.SUSPICIOUS),
    (0.9, True, Action.BLOCK, DefenseMode.ENFORCE, Verdict.BLOCKED),   # at the threshold
    (0.95, True, Action.BLOCK, DefenseMode.SHADOW, Verdict.SUSPICIOUS),  # shadow never blocks
])
def test_verdicts(score: float, changed: bool, action: Action, mode: DefenseMode,
                  verdict: Verdict) -> None:
    assert Policy(mode=mode, action=action, block_threshold=0.9).verdict(score, changed) is verdict


def result(score: float, original: str = "a", purified: str = "b") -> PurifyResult:
    return PurifyResult(original=original, purified=purified, backend="lexical", score=score)


def test_outcome_takes_the_worst_text_and_flag_forwards_originals() -> None:
    flag = Policy(action=Action.FLAG)
    outcome = DefenseOutcome(mode=DefenseMode.ENFORCE, backend="lexical", policy=flag,
                             results=(result(0.1), result(0.99, "x", "x")))
    assert outcome.verdicts == (Verdict.REPAIRED, Verdict.SUSPICIOUS)
    assert outcome.verdict is Verdict.SUSPICIOUS and outcome.score == 0.99
    assert outcome.forwarded(["a", "x"]) == ["a", "x"]  # flag: the originals go on
    purify = DefenseOutcome(mode=DefenseMode.ENFORCE, backend="lexical",
                            results=(result(0.1),))
    assert purify.forwarded(["a"]) == ["b"]
    headers = outcome.headers()
    assert headers["x-llamos-score"] == "0.9900" and headers["x-llamos-verdict"] == "suspicious"
