import pytest

from llamos_gateway.lexical import LexicalPurifier, casing
from llamos_gateway.lexical.lexicon import Lexicon


def test_a_stray_capital_is_found_inside_a_word_only() -> None:
    assert casing.inner_capital("lNacks") == 1
    assert casing.inner_capital("winZer") == 3
    for form in ["lacks", "Lacks", "LACKS", "McDonald", "iOS", "ab", "g0Od"]:
        assert casing.inner_capital(form) is None, form


def test_compound_names_are_camel_case_but_planted_capitals_are_not(lexicon: Lexicon) -> None:
    def is_camel(form: str) -> bool:
        at = casing.inner_capital(form)
        assert at is not None
        return casing.camel(form, at, lexicon.is_known, lexicon.targets.__contains__)

    for form in ["iPhone", "eBay", "jQuery", "fooBar", "setUp", "getX", "isOpen", "onClick"]:
        assert is_camel(form), form
    for form in ["lNacks", "winZer", "goOd", "lYacks", "cBarm", "mKonotonous", "heDp"]:
        assert not is_camel(form), form


def test_edits_stay_at_the_capital() -> None:
    found = casing.edits("lYacks", 1)
    assert found[0] == "lacks" and "lyacks" not in found and len(found) == 26
    assert all(len(e) == 6 and e[0] == "l" and e[2:] == "acks" for e in found[1:])


def test_mostly_lowercase_counts_capitals_per_word() -> None:
    assert casing.mostly_lowercase("the film lYacks charm and wit".split())
    assert casing.mostly_lowercase(["Kbleak", "and", "Wdesperate", "film"])
    assert not casing.mostly_lowercase("THE FILM lYacks CHARM".split())
    assert not casing.mostly_lowercase(["lYacks"])  # too short to tell


@pytest.mark.parametrize(("text", "clean", "rule"), [
    ("unflinchingly Kbleak and Wdesperate ", "unflinchingly bleak and desperate ",
     "case+spelling"),
    ("the film lYacks charm and is a mKonotonous bore .",
     "the film lacks charm and is a monotonous bore .", "case+spelling"),
    ("it is goOd and funny , not bAd at all", "it is good and funny , not bad at all", "case"),
    ("This film lNacks charm and wit.", "This film lacks charm and wit.", "case+spelling"),
])
def test_stray_capitals_are_repaired(purifier: LexicalPurifier, text: str, clean: str,
                                     rule: str) -> None:
    result = purifier.purify_text(text)
    assert result.purified == clean
    assert result.suspicious and "screen_case" in result.reasons
    assert all(edit.rule == rule for edit in result.edits)
    assert purifier.purify_text(clean).purified == clean


@pytest.mark.parametrize("text", [
    "i bought my iPhone on eBay and use jQuery with fooBar , setUp and getX daily",
    "i watched it on YouTube with McDonald and DeWitt , a PhD from the USA",
    "the NASA and FBI files , the iOS app and macOS are all here",
    "my friend Tavi loved it , and so did i",
    "Yesterday Wes and Kael saw the film. Nakata directed it.",
    "call `getVaLue` or see https://example.com/FooBar and ~/src/MyModule.py",
    "GetValue SetValue IsOpen OnClick ToString",
])
def test_genuine_mixed_case_is_never_touched(purifier: LexicalPurifier, text: str) -> None:
    result = purifier.purify_text(text)
    assert result.purified == text and result.edits == ()


def test_a_capitalised_word_is_only_a_stray_one_in_lowercase_text(
        purifier: LexicalPurifier) -> None:
    # sentence case: `Kbleak` may be a name; all lowercase: it is a planted letter
    assert purifier.purify_text("The ending is Kbleak and cold.").purified == (
        "The ending is Kbleak and cold.")
    assert purifier.purify_text("the ending is Kbleak and cold .").purified == (
        "the ending is bleak and cold .")
