"""`text_slots` (which texts of a request body are purified) and `substitute` (putting the
purified texts back), on their own."""

from __future__ import annotations

import copy
from typing import Any

from llamos_gateway.defense import TextSlot, substitute, text_slots

USER = frozenset({"user"})
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


def chat() -> dict[str, Any]:
    return {"model": "m", "temperature": 0, "messages": [
        {"role": "system", "content": "be helpful"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer", "tool_calls": []},
        {"role": "tool", "content": "tool output", "tool_call_id": "c1"},
        {"role": "user", "content": [{"type": "text", "text": "part one"}, IMAGE,
                                     {"type": "text", "text": "part two"},
                                     {"type": "text", "text": 7}, "not a part"]},
        {"role": "user", "content": None},
    ]}


def test_chat_slots_are_the_user_texts_in_order() -> None:
    assert text_slots("chat/completions", chat(), USER, False) == [
        TextSlot(("messages", 1, "content"), "first question", "user"),
        TextSlot(("messages", 4, "content", 0, "text"), "part one", "user"),
        TextSlot(("messages", 4, "content", 2, "text"), "part two", "user"),
    ]


def test_configured_roles_add_their_messages() -> None:
    slots = text_slots("chat/completions", chat(), frozenset({"system", "tool"}), False)
    assert [(s.path, s.role) for s in slots] == [(("messages", 0, "content"), "system"),
                                                 (("messages", 3, "content"), "tool")]


def test_completion_prompts() -> None:
    assert text_slots("completions", {"prompt": "once"}, USER, False) == [
        TextSlot(("prompt",), "once", "user")]
    slots = text_slots("completions", {"prompt": ["a", 3, "b"]}, USER, False)
    assert [(s.path, s.text) for s in slots] == [(("prompt", 0), "a"), (("prompt", 2), "b")]
    assert text_slots("completions", {"prompt": [1, 2, 3]}, USER, False) == []  # token ids
    assert text_slots("completions", {"prompt": [[1, 2], [3]]}, USER, False) == []
    assert text_slots("completions", {}, USER, False) == []


def test_embeddings_only_when_configured() -> None:
    body = {"input": ["x", "y"]}
    assert text_slots("embeddings", body, USER, False) == []
    assert [s.path for s in text_slots("embeddings", body, USER, True)] == [("input", 0),
                                                                           ("input", 1)]
    assert text_slots("embeddings", {"input": "z"}, USER, True)[0].path == ("input",)


def test_substitute_replaces_only_the_given_paths_and_copies_on_write() -> None:
    body = chat()
    before = copy.deepcopy(body)
    out = substitute(body, [(("messages", 1, "content"), "FIRST"),
                            (("messages", 4, "content", 2, "text"), "TWO")])
    assert body == before  # the input is never mutated
    assert out["messages"][1]["content"] == "FIRST"
    assert out["messages"][4]["content"][2]["text"] == "TWO"
    assert out["messages"][4]["content"][0] == {"type": "text", "text": "part one"}
    # untouched parts are shared, not copied
    assert out["messages"][0] is body["messages"][0]
    assert out["messages"][4]["content"][1] is body["messages"][4]["content"][1]
    assert out["messages"] is not body["messages"]
    expected = copy.deepcopy(before)
    expected["messages"][1]["content"] = "FIRST"
    expected["messages"][4]["content"][2]["text"] = "TWO"
    assert out == expected


def test_substitute_two_texts_of_one_message() -> None:
    body = chat()
    out = substitute(body, [(("messages", 4, "content", 0, "text"), "ONE"),
                            (("messages", 4, "content", 2, "text"), "TWO")])
    assert [p.get("text") for p in out["messages"][4]["content"][:3]] == ["ONE", None, "TWO"]
    assert body["messages"][4]["content"][0]["text"] == "part one"


def test_substitute_top_level_and_list_prompts() -> None:
    assert substitute({"prompt": "a", "n": 2}, [(("prompt",), "b")]) == {"prompt": "b", "n": 2}
    body = {"prompt": ["a", "b"]}
    assert substitute(body, [(("prompt", 1), "B")]) == {"prompt": ["a", "B"]}
    assert body == {"prompt": ["a", "b"]}
    assert substitute(body, []) == body


def test_round_trip_of_every_slot() -> None:
    body = chat()
    slots = text_slots("chat/completions", body, frozenset({"user", "system", "tool"}), False)
    out = substitute(body, [(s.path, s.text.upper()) for s in slots])
    again = text_slots("chat/completions", out, frozenset({"user", "system", "tool"}), False)
    assert [s.text for s in again] == [s.text.upper() for s in slots]
    assert [s.path for s in again] == [s.path for s in slots]
