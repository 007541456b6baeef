from llamos_gateway.lexical.homoglyphs import fold, latin_share


def known(word: str) -> bool:
    return word in {"a", "movie", "cop", "paypal"}


def test_mixed_script_word_is_folded() -> None:
    assert fold("mоvie", True, known) == "movie"  # Cyrillic o
    assert fold("pаypаl", True, known) == "paypal"


def test_all_lookalike_word_folds_only_in_latin_text_and_to_a_word() -> None:
    assert fold("а", True, known) == "a"
    assert fold("сор", True, known) == "cop"
    assert fold("сор", False, known) is None  # Russian text: a real Russian word
    assert fold("дом", True, known) is None


def test_plain_and_foreign_words_are_left_alone() -> None:
    assert fold("movie", True, known) is None
    assert fold("привет", False, known) is None
    assert fold("καλημέρα", False, known) is None


def test_latin_share() -> None:
    assert latin_share("hello world") == 1.0
    assert latin_share("привет мир") == 0.0
