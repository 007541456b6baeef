"""Zalgo: added combining marks go; a letter's own accents stay."""

import pytest

from llamos_gateway.lexical.unicode import normalise


@pytest.mark.parametrize(("text", "clean"), [
    ("h\u0316\u0317e\u0338\u0339l\u0334l\u0335o world", "hello world"),   # heavy
    ("Z\u0337\u0322\u031ba\u0335lgo text", "Zalgo text"),
    ("brb gra\u0328bbing r\u0368amen", "brb grabbing ramen"),              # light: one odd mark
    # accents that do not compose here
    ("Charles de\u030f Ga\u0326ulle", "Charles de Gaulle"),
    # in Zalgo text every mark goes
    ("ca\u0301fe\u0301 o\u0300 cre\u0300me b\u0338\u0339r\u0334\u0335u\u0302le\u0301e",
     "cafe o creme brulee"),
])
def test_excess_marks_are_removed(text: str, clean: str) -> None:
    norm = normalise(text)
    assert norm.text == clean and norm.zalgo > 0


def test_precomposed_accents_survive_zalgo_around_them() -> None:
    assert normalise("café\u0336\u0337\u0338 crème").text == "café crème"


@pytest.mark.parametrize("text", [
    "café crème brûlée, Ångström, Nguyễn, piña",
    "Ударе́ние на второ́м сло́ге",
    "1\ufe0f\u20e3 2\ufe0f\u20e3",
    "Yoruba a\u0301, Vietnamese e\u0323\u0302",  # decomposed accents that compose
])
def test_legitimate_accents_stay(text: str) -> None:
    assert normalise(text).text in (text, __import__("unicodedata").normalize("NFC", text))


def test_strike_through_by_combining_overlay_counts_as_zalgo() -> None:
    # no orthography writes U+0336: "s̶t̶r̶i̶k̶e" styled text comes back plain
    assert normalise("s\u0336t\u0336r\u0336i\u0336k\u0336e").text == "strike"
