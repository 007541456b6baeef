"""Character-level repair: each stage, and what every stage must leave alone."""

import pytest

from llamos_gateway.lexical.unicode import normalise


def test_ascii_comes_back_as_is() -> None:
    norm = normalise("it 's a charming journey . ")
    assert norm.text == "it 's a charming journey . " and norm.rewrites.edits == ()


def test_invisible_characters_are_removed_with_their_positions() -> None:
    text = "bad\u200b movie and fi\u00adlm"
    norm = normalise(text)
    assert norm.text == "bad movie and film"
    assert [(e.start, e.end, e.before, e.rule) for e in norm.rewrites.edits] == [
        (3, 4, "\u200b", "invisible"), (17, 18, "\u00ad", "invisible")]
    assert norm.invisible == 2


def test_a_reordered_word_comes_back_as_the_reader_sees_it() -> None:
    norm = normalise("bad movie \u202eevil\u202c")  # shown as "live"
    assert norm.text == "bad movie live"
    (edit,) = norm.rewrites.edits
    assert edit.rule == "bidi" and edit.before == "\u202eevil\u202c" and edit.after == "live"


def test_fullwidth_digits_and_punctuation_fold_in_latin_text_only() -> None:
    assert normalise("call １２３ now！").text == "call 123 now!"
    assert normalise("東京は今日２０℃です！").text == "東京は今日２０℃です！"
    assert normalise("日本の首都はどこですか？").text == "日本の首都はどこですか？"
    # full-width letters are look-alikes: the word rules fold them, where a word tells l from I
    assert normalise("a ｇｏｏｄ film").text == "a ｇｏｏｄ film"


@pytest.mark.parametrize("text", [
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",    # ZWJ emoji sequence
    "\u2764\ufe0f\u200d\U0001f525 and 1\ufe0f\u20e3",         # emoji VS16, keycap
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f flag",  # tag flag
    "👍🏽 ok",                                                  # skin tone
    "می\u200cخواهم",                                          # Persian ZWNJ
    "क्\u200dष",                                               # Devanagari ZWJ
    "\u05e9\u05dc\u05d5\u05dd\u200f world",                    # RLM with Hebrew
    "葛\U000e0100城市",                                        # ideographic variation sequence
    "Prix\u00a0: 5\u202f€, 10 m², ½ tasse… ™ µs ℃",           # NFKC would change all of these
    "ｶﾀｶﾅ and 日本語（にほんご）",
    "café naïve résumé Zürich Ångström ệ ñ",
    "Ударе́ние на второ́м сло́ге",                              # Russian stress marks
])
def test_what_belongs_to_the_text_stays_byte_for_byte(text: str) -> None:
    norm = normalise(text)
    assert norm.text == text and norm.rewrites.edits == ()


def test_joiners_next_to_punctuation_and_latin_letters_go() -> None:
    assert (normalise("it\u200d's a \u200c\"quote\u200d\" - ok\u200c.").text
            == "it's a \"quote\" - ok.")


def test_marks_go_in_latin_text_and_selectors_after_letters() -> None:
    assert normalise("hello\u200f world\u200e").text == "hello world"
    assert normalise("he\ufe0fllo wo\U000e0101rld").text == "hello world"


def test_tatweel_goes() -> None:
    norm = normalise("ملـــيـح")
    assert norm.text == "مليح" and {e.rule for e in norm.rewrites.edits} == {"tatweel"}


def test_math_digits_and_ligatures_fold() -> None:
    assert normalise("ﬁne 𝟏𝟐").text == "fine 12"


def test_combining_accents_compose() -> None:
    assert normalise("cafe\u0301").text == "café"


def test_stages_compose_and_map_back_to_the_input() -> None:
    text = "g\u200bo\u200bo d X\x08 m\u0334\u0335o\u0336vie \u202eevil\u202c"
    norm = normalise(text)
    assert norm.text == "goo d  movie live"
    rebuilt, last = [], 0
    for edit in norm.rewrites.edits:
        assert text[edit.start:edit.end] == edit.before
        rebuilt += [text[last:edit.start], edit.after]
        last = edit.end
    assert "".join(rebuilt) + text[last:] == norm.text
