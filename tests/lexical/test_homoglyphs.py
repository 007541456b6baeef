from llamos_gateway.lexical.confusables import Confusables
from llamos_gateway.lexical.homoglyphs import fold, fold_mixed, latin_share

TABLE = Confusables()
WORDS = {"a": 10**9, "movie": 10**7, "cop": 10**6, "paypal": 10**5, "all": 10**9, "ail": 10**4,
         "import": 10**7, "helix": 10**4, "great": 10**8, "good": 10**8}


def known(word: str) -> bool:
    return word in WORDS


def folded(word: str, latin: bool = True) -> str | None:
    return fold(word, latin, known, TABLE, lambda w: WORDS.get(w, 0))


def test_mixed_script_word_is_folded() -> None:
    assert folded("mоvie") == "movie"  # Cyrillic o
    assert folded("pаypаl") == "paypal"
    assert folded("ｇood") == "good"  # full-width g
    assert folded("𝐠𝐫𝐞𝐚𝐭") == "great"  # mathematical bold, all look-alikes, a word


def test_an_ambiguous_lookalike_takes_the_frequent_word() -> None:
    assert folded("аӏl") == "all"  # palochka: l or i; `all` is more frequent than `ail`
    assert fold_mixed("𝓵mportError", TABLE, known) == "ImportError"


def test_all_lookalike_word_folds_only_in_latin_text_and_to_a_word() -> None:
    assert folded("а") == "a"
    assert folded("сор") == "cop"
    assert folded("сор", latin=False) is None  # Russian text: a real Russian word
    assert folded("дом") is None
    assert folded("ЕА-2192") == "EA-2192"


def test_greek_letters_used_as_symbols_stay() -> None:
    assert folded("α-helix") is None
    assert folded("α") is None


def test_plain_and_foreign_words_are_left_alone() -> None:
    assert folded("movie") is None
    assert folded("привет", latin=False) is None
    assert folded("καλημέρα", latin=False) is None


def test_latin_share_does_not_count_lookalikes() -> None:
    assert latin_share("hello world", TABLE) == 1.0
    assert latin_share("привет мир", TABLE) == 0.0
    assert latin_share("ѕау it", TABLE) == 1.0
