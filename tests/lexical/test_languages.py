from llamos_gateway.lexical.languages import FunctionWords

WORDS = FunctionWords(common=lambda w: w in {"car", "war", "door"})


def test_foreign_function_words() -> None:
    for word in ("und", "est", "les", "de", "la", "sua", "der"):
        assert WORDS.is_foreign(word), word
    for word in ("a", "was", "die", "man", "come", "car", "war", "door", "the"):
        assert not WORDS.is_foreign(word), word


def test_foreign_text_by_function_words_and_accents() -> None:
    assert WORDS.foreign_text("Was ist der Unterschied zwischen seit und seid".split())
    assert WORDS.foreign_text("Die Straßenbahn fährt heute nicht".split())
    assert WORDS.foreign_text("C'est la vie comme on dit".split())
    assert not WORDS.foreign_text("the plaintiff filed pro se and the court agreed".split())
    assert not WORDS.foreign_text("a pinch of fleur de sel on the fish".split())
