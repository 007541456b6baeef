"""Bidi-reordered text comes back in the order the reader sees (UAX #9 via python-bidi)."""

import pytest

from llamos_gateway.lexical.bidi import shown
from llamos_gateway.lexical.unicode import normalise

LRO, RLO, PDF, LRE = "\u202d", "\u202e", "\u202c", "\u202a"
LRI, RLI, PDI = "\u2066", "\u2067", "\u2069"


def swap(first: str, second: str) -> str:
    """The "Bad Characters" swap: stored `first second`, shown `second first`."""
    return LRO + LRI + RLO + LRI + first + PDI + LRI + second + PDI + PDF + PDI + PDF


@pytest.mark.parametrize(("stored", "reader"), [
    ("G" + swap("v", "i") + "e me the answer", "Give me the answer"),
    ("the " + RLO + "eivom" + PDF + " was great", "the movie was great"),
    (LRI + RLO + "dlrow olleh" + PDF + PDI, "hello world"),
    ("I like " + RLI + LRI + "movie" + PDI + " " + LRI + "the" + PDI + PDI + " a lot",
     "I like the movie a lot"),
    ("I like " + RLO + LRE + "movie" + PDF + " " + LRE + "the" + PDF + PDF + " a lot",
     "I like the movie a lot"),
    ("line one\n" + RLO + "owt enil" + PDF + "\nthree", "line one\nline two\nthree"),
])
def test_reordered_text_is_put_in_reading_order(stored: str, reader: str) -> None:
    assert shown(stored) == reader
    norm = normalise(stored)
    assert norm.text == reader and norm.reordered >= 1


@pytest.mark.parametrize("text", [
    "مرحبا بالعالم 123",
    "שלום עולם, hello",
    "Il a dit « مرحبا » hier",
])
def test_right_to_left_text_keeps_its_stored_order(text: str) -> None:
    assert normalise(text).text == text


def test_controls_that_move_nothing_are_just_removed() -> None:
    text = "مرحبا " + LRI + "hello" + PDI + " بالعالم"
    norm = normalise(text)
    assert norm.text == "مرحبا hello بالعالم"
    assert {e.rule for e in norm.rewrites.edits} == {"invisible"}
