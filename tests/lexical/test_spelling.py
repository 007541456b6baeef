from llamos_gateway.lexical.lexicon import Lexicon
from llamos_gateway.lexical.spelling import Speller


def test_context_picks_the_repair(lexicon: Lexicon) -> None:
    speller = Speller(lexicon)
    fix = speller.assess("flim", "tedious", None).fix
    assert fix is not None and fix.word == "film"
    fix = speller.assess("tukrey", "a", None).fix
    assert fix is not None and fix.word == "turkey"


def test_unknown_names_and_derived_words_are_kept(lexicon: Lexicon) -> None:
    speller = Speller(lexicon)
    for left, word, right in [("hideo", "nakata", None), ("the", "makhmalbaf", "film"),
                              (None, "involvingly", None), ("a", "hamfisted", "comedy")]:
        assert speller.assess(word, left, right).fix is None, word


def test_short_words_are_not_touched(lexicon: Lexicon) -> None:
    assert Speller(lexicon).assess("ve", "i", "seen").fix is None
