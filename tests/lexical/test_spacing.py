import pytest

from llamos_gateway.lexical.spacing import joins

WORDS = {"stupid": 5, "a": 9, "big": 7, "deal": 6, "tonight": 5, "again": 7, "wait": 6,
         "what": 9, "file": 6, "name": 7, "filename": 3, "sci-fi": 2, "defined": 4, "pre": 1,
         "predefined": 2, "its": 9, "movie": 8, "it": 9, "to": 9, "night": 7, "in": 9,
         "aga": 1, "os": 3, "path": 5}


def join(text: str) -> str:
    out, last = [], 0
    for change in joins(text, [], WORDS.__contains__, lambda w: WORDS.get(w, 0) > 1):
        out += [text[last:change.start], change.after]
        last = change.end
    return "".join(out) + text[last:]


@pytest.mark.parametrize(("text", "clean"), [
    ("the s t u p i d movie", "the stupid movie"),
    ("a b i g deal", "a big deal"),
    ("je comprends b i e n", "je comprends bien"),      # no English word: joined from 4 letters
    ("a stu*pid movie", "a stupid movie"),
    ("see you to.night", "see you tonight"),
    ("over aga?in", "over again"),
    ("st-upid", "stupid"),
])
def test_broken_words_are_joined(text: str, clean: str) -> None:
    assert join(text) == clean


@pytest.mark.parametrize("text", [
    "x y z", "U S A", "J R R Tolkien",
    "sci-fi", "pre-defined", "it's", "don't", "l'homme", "file_name", "os.path",
    "tl;dr", "wait?what", "a:b",
])
def test_legitimate_forms_stay(text: str) -> None:
    assert join(text) == text
