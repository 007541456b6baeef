"""Properties of the pure parts of the agent, over arbitrary text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from llamos_gateway.agent.diff import char_edits
from llamos_gateway.agent.parse import parse_answer
from llamos_gateway.defense.segmenting import split_sentences

TEXT = st.text(alphabet=st.sampled_from("ab .!?\n\"')é"), max_size=300)


@settings(max_examples=300, deadline=None)
@given(TEXT, st.integers(min_value=1, max_value=80))
def test_split_is_lossless_and_bounded(text: str, limit: int) -> None:
    pieces = split_sentences(text, limit)
    assert "".join(pieces) == text
    assert all(0 < len(p) <= limit for p in pieces)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.text(max_size=120))
def test_edits_rebuild_the_output_from_the_input(before: str, after: str) -> None:
    rebuilt, cursor = "", 0
    for edit in char_edits(before, after):
        assert cursor <= edit.start <= edit.end <= len(before)
        assert before[edit.start:edit.end] == edit.before
        rebuilt += before[cursor:edit.start] + edit.after
        cursor = edit.end
    assert rebuilt + before[cursor:] == after


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.booleans(), st.sampled_from(["{}", "```json\n{}\n```",
                                                              "Result: {} done"]))
def test_any_purified_text_survives_every_wrapping(text: str, changed: bool, shape: str) -> None:
    import json

    reply = shape.replace("{}", json.dumps({"purified": text, "changed": changed}), 1)
    answer = parse_answer(reply)
    assert (answer.purified, answer.changed) == (text, changed)
