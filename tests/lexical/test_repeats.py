from llamos_gateway.lexical.repeats import collapse, has_run

COUNTS = {"bad": 100, "good": 1000, "god": 300, "so": 10**6, "cool": 50, "ah": 10}


def shorten(word: str) -> str | None:
    return collapse(word, lambda w: COUNTS.get(w, 0), lambda w: w in COUNTS)


def test_runs_shorten_to_the_most_frequent_word() -> None:
    assert shorten("baaaad") == "bad"
    assert shorten("gooooood") == "good"
    assert shorten("cooooolll") == "cool"
    assert shorten("Baaaad") == "Bad"


def test_interjections_and_non_words_stay() -> None:
    assert shorten("ahhhh") is None  # too short a result: an interjection as often as not
    assert shorten("zzzzz") is None
    assert not has_run("good") and has_run("goood")
