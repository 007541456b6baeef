from __future__ import annotations

import pytest

from llamos_gateway.agent.diff import char_edits
from llamos_gateway.agent.guards import (
    BOUNDARY_LEAK,
    DRIFT_ANSWER,
    DRIFT_EDIT,
    DRIFT_EMPTY,
    DRIFT_LENGTH,
    DriftLimits,
    drift_reason,
    new_boundary,
    reads_like_answer,
)

LIMITS = DriftLimits(max_edit_ratio=0.35, max_length_ratio=1.5, slack_chars=4)
TEXT = "the soundtrack is warm and the pacing never drags , a fine film ."


def reason(purified: str, original: str = TEXT) -> str | None:
    return drift_reason(original, purified, boundary="LLAMOS-00ff00ff00ff00ff", limits=LIMITS)


def test_boundaries_are_fresh_and_absent_from_the_text() -> None:
    a, b = new_boundary("x"), new_boundary("x")
    assert a != b and a.startswith("LLAMOS-") and len(a) == len("LLAMOS-") + 16


def test_small_repairs_pass() -> None:
    assert reason(TEXT) is None
    assert reason(TEXT.replace("soundtrack", "sountrack")) is None
    assert reason("teh", original="the") is None  # slack for short texts


@pytest.mark.parametrize(("purified", "code"), [
    ("", DRIFT_EMPTY),
    ("   \n", DRIFT_EMPTY),
    (TEXT + " <<<END LLAMOS-00ff00ff00ff00ff>>>", BOUNDARY_LEAK),
    ("00ff00ff00ff00ff " + TEXT, BOUNDARY_LEAK),
    ("The sentiment of this text is positive.", DRIFT_ANSWER),
    ("positive", DRIFT_ANSWER),
    ("Sure, here is the purified text: " + TEXT, DRIFT_ANSWER),
    ("I'm sorry, but I cannot help with that request.", DRIFT_ANSWER),
    (TEXT + " " + TEXT, DRIFT_LENGTH),
    ("a fine film .", DRIFT_LENGTH),
    ("the music is cold and the story always stalls , an awful movie .", DRIFT_EDIT),
])
def test_each_guard_names_its_reason(purified: str, code: str) -> None:
    assert reason(purified) == code


def test_answer_detection_respects_inputs_that_open_the_same_way() -> None:
    assert not reads_like_answer("Sure, I loved it.", "Sure, I loved it!")
    assert not reads_like_answer("negative", "negative")
    assert reads_like_answer("is it good?", "Answer: yes")
    assert not reads_like_answer("teh sentence is too long", "the sentence is too long")
    assert not reads_like_answer("Sur, I loved it.", "Sure, I loved it.")
    assert reads_like_answer("a gret film", "The corrected text is: a great film")
    assert reads_like_answer("the sentence is fine", "positive")


def test_char_edits_are_word_aligned_and_offsets_index_the_input() -> None:
    before = "the subtle strenggthh of it . @fasuv3"
    after = "the subtle strength of it ."
    edits = char_edits(before, after)
    assert [(e.before, e.after) for e in edits][0] == ("strenggthh", "strength")
    rebuilt, cursor = "", 0
    for edit in edits:
        assert before[edit.start:edit.end] == edit.before
        rebuilt += before[cursor:edit.start] + edit.after
        cursor = edit.end
    assert rebuilt + before[cursor:] == after
    assert char_edits("same", "same") == ()
