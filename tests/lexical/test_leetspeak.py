import pytest

from llamos_gateway.lexical.leetspeak import unleet

WORDS = {"good": 10**8, "the": 10**10, "leet": 10**5, "has": 10**9, "mis": 0, "bad": 10**8,
         "hate": 10**7, "a": 10**10}


def fold(token: str) -> str | None:
    return unleet(token, lambda w: WORDS.get(w, 0), lambda w: w in WORDS)


@pytest.mark.parametrize(("token", "word"), [
    ("g00d", "good"), ("7h3", "the"), ("l33t", "leet"), ("h45", "has"), ("b@d", "bad"),
    ("h8", None), ("G00D", "GOOD"), ("H4te", "hate"),
])
def test_leet_words(token: str, word: str | None) -> None:
    assert fold(token) == word


@pytest.mark.parametrize("token", ["1990s", "2nd", "3d", "5am", "mp3", "b12", "mi5", "4x4", "007"])
def test_numbers_and_model_names_stay(token: str) -> None:
    assert fold(token) is None
