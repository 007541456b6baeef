"""The LLM attacker's parsing of chatty replies, and replies that hold no sentence."""

from __future__ import annotations

import pytest

from llamos_gateway.arena.extraction import extract_sentence

ORIGINAL = "dull , lifeless , and amateurishly assembled ."


@pytest.mark.parametrize(("reply", "sentence"), [
    ("dull , lifeless , and amateurishly assembld .",
     "dull , lifeless , and amateurishly assembld ."),
    ('"dull , lifeles , and amateurishly assembled ."',
     "dull , lifeles , and amateurishly assembled ."),
    ("Answer: dull , lifeless , and amateurishly put together .",
     "dull , lifeless , and amateurishly put together ."),
    ("Sure! Here is the new sentence:\n\nNew sentence:\n\"dull, lifeless and amateurishly built.\"",
     "dull, lifeless and amateurishly built."),
    ('The original sentence "dull , lifeless , and amateurishly assembled ." can become '
     '"dull , lifeless , and amateurishly assembled . @xk9q2"',
     "dull , lifeless , and amateurishly assembled . @xk9q2"),
    ("Here's my attempt:\ndull , lifeles , and amateurishly assembled .\nI changed one letter.",
     "dull , lifeles , and amateurishly assembled ."),
    ("**Output:** “dull , lifeless , and amateurishly assembeld .”",
     "dull , lifeless , and amateurishly assembeld ."),
])
def test_the_sentence_is_found(reply: str, sentence: str) -> None:
    assert extract_sentence(reply, ORIGINAL) == sentence


@pytest.mark.parametrize("reply", [
    "",
    "   \n ",
    "The original sentence can be reorganized to improve its clarity and grammar:",
    "The original sentence can be reorganized to improve its clarity and grammar. Here is an "
    "example of how you could do this: first, identify the subject.",
    "I'm sorry, but I can't help with that.",
    "positive",
    "Answer: negative",
    "The sentiment of this sentence is negative.",
    "To paraphrase the sentence, change the order of the words.\nThen replace adjectives.",
])
def test_no_sentence_in_the_reply(reply: str) -> None:
    assert extract_sentence(reply, ORIGINAL) is None
