import pytest

from llamos_gateway.lexical.junk import ending


def known(word: str) -> bool:
    return word in {"user", "john", "movie"}


def cut(text: str) -> str:
    found = ending(text, known)
    return text if found is None else text[:found.start] + found.after


@pytest.mark.parametrize(("text", "clean"), [
    ("a tender , heartfelt family drama ..", "a tender , heartfelt family drama ."),
    ("the film is quiet . (-)", "the film is quiet ."),
    ("there 's not enough here . :)", "there 's not enough here ."),
    ("the grown men who sit in the stands .  :)", "the grown men who sit in the stands ."),
    ("by the nba . -?", "by the nba ."),
    ("trips him up again + .", "trips him up again ."),
    ("his best . !", "his best ."),
    ("a film . ^^", "a film ."),
    ("a film ..?", "a film ."),
    ("a film . .. ", "a film . "),
    ("with . @me4n6e", "with ."),
    ("and yanks @fasuv3.", "and yanks."),
    ("good @f2b63g3 @x9k2m1", "good"),
])
def test_junk_is_cut(text: str, clean: str) -> None:
    assert cut(text) == clean


@pytest.mark.parametrize("text", [
    "it 's a charming and often affecting journey . ",
    "his healthy sense of satire is light and fun ... ",
    "upon . ' ",
    "what ?!",
    "a ( small ? ) . ",
    "ends with a dash --",
    "thanks @john",
    "ping @user123",
    "see @fasuv3 for details",
    "no punctuation",
    ":)",
    "",
    "a film :d",
    "great movie 😊",
    "I love this 😍😍 so much!!! 🎉",
    "thanks! :)",
    "wait what??",
])
def test_clean_endings_stay(text: str) -> None:
    assert ending(text, known) is None


def test_tail_start_walks_back_over_punctuation_emoticons_and_skipped_spans() -> None:
    from llamos_gateway.lexical.junk import tail_start
    assert tail_start("so much!!! 🎉", []) == len("so much")
    assert tail_start("thanks :D", []) == len("thanks")
    assert tail_start("see @abc1 .", [(4, 9)]) == len("see")
    assert tail_start("🎉" * 50_000, []) == 0
    assert tail_start("", []) == 0
