"""Real traffic through the whole lexical pass (issue 13): code, markup, slang and other
languages come back untouched; bad characters are undone; the result says what it skipped."""

import pytest

from llamos_gateway.lexical import LexicalPurifier

LRO, RLO, PDF, LRI, RLI, PDI = "\u202d", "\u202e", "\u202c", "\u2066", "\u2067", "\u2069"


@pytest.mark.parametrize(("text", "kind"), [
    ("git commit -m 'fix: handle nil ptr in pkg/srv'", "code"),
    ("Why does `retrun x` fail?", "code"),
    ("```python\ndef f(x):\n    retrun x\n```", "code"),
    ("SELECT nmae FROM users;", "code"),
    ("<div class=\"container\"><p>Hello</p></div>", "markup"),
    ("<script src=\"app.js\"></script>", "markup"),
    ("Parse this: {\"nmae\": \"Bob\", \"actve\": true}", "markup"),
    ("see https://exmaple.com/pth?q=flim#sectoin", "url"),
    ("mail ops@exmaple.org now", "email"),
    ("edit /usr/lcal/bin/strat.sh", "path"),
    ("omg is it Friday already lol #TGIF", "hashtag"),
    ("ping @jonny_b about it", "handle"),
    ("set my_varable = 3", "identifier"),
    ("The rate of 5%.", "number"),
    ("It costs $4.99 and weighs 1.2 kg", "number"),
])
def test_protected_kinds_come_back_byte_for_byte_and_are_reported(
        purifier: LexicalPurifier, text: str, kind: str) -> None:
    result = purifier.purify_text(text)
    assert result.purified == text and result.edits == ()
    assert kind in {p.kind for p in result.protected}
    for span in result.protected:
        assert 0 <= span.start < span.end <= len(text)


@pytest.mark.parametrize("text", [
    "I love this hoodie 😍😍 so much!!! 🎉",
    "it was sooo boring",
    "lmao u did NOT just say that 💀 brb",
    "ngl the new ptr logic in src is mid tbh",
    "Thanks so much for your help today :)",
    "日本の首都はどこですか？",
    "Привет, как дела? Это очень хороший фильм",
    "مرحبا، كيف حالك؟ أين أقرب محطة قطار من فضلك؟",
    "שלום\u200f world",
    "Was ist der Unterschied zwischen „seit“ und „seid“?",
    "« C'est la vie », comme on dit à Rennes.",
    "¿Dónde está la estación? ¡Gracias!",
    "Add a pinch of fleur de sel; the court ruled sua sponte.",
    "β-blockers and α-agonists; 5 μg of B12",
    "LaTeX vs WhatsApp vs iPhone vs macOS",
    "café crème brûlée, Zürich, Nguyễn, Ångström",
    "👨\u200d👩\u200d👧 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    " 1\ufe0f\u20e3",
    "Prix\u00a0: 5\u202f€, m², ½, … ™",
])
def test_ordinary_traffic_comes_back_byte_for_byte(purifier: LexicalPurifier, text: str) -> None:
    result = purifier.purify_text(text)
    assert result.purified == text, result.edits
    assert result.edits == ()


def test_other_scripts_are_reported_as_protected(purifier: LexicalPurifier) -> None:
    result = purifier.purify_text("the word 日本語 means Japanese")
    assert [(p.kind, result.original[p.start:p.end]) for p in result.protected] == [
        ("script", "日本語")]


def swap(first: str, second: str) -> str:
    return LRO + LRI + RLO + LRI + first + PDI + LRI + second + PDI + PDF + PDI + PDF


@pytest.mark.parametrize(("attacked", "clean", "rule"), [
    ("Ignore the d \x08etailed plan", "Ignore the detailed plan", "deletion"),
    ("a gXo\x7fod film", "a good film", "deletion"),
    ("G" + swap("v", "i") + "e me the answer", "Give me the answer", "bidi"),
    ("the " + RLO + "eivom" + PDF + " was great", "the movie was great", "bidi"),
    ("I like " + RLI + LRI + "movie" + PDI + " " + LRI + "the" + PDI + PDI + " a lot",
     "I like the movie a lot", "bidi"),
    ("a gr\u0334\u0335\u0336e\u0337at film", "a great film", "zalgo"),
    ("it\u200d's a \u200c\"great\u200d\" film", "it's a \"great\" film", "invisible"),
    ("a gre\ufe0fat film", "a great film", "invisible"),
    ("pаypаl login", "paypal login", "homoglyph"),
    ("ЕА-2192 is the code", "EA-2192 is the code", "homoglyph"),
    ("а great film", "a great film", "homoglyph"),
    ("a 𝐠𝐫𝐞𝐚𝐭 film", "a great film", "homoglyph"),
    ("visit pаypal.com now", "visit paypal.com now", "homoglyph"),
    ("the s t u p i d movie", "the stupid movie", "spacing"),
    ("a stu*pid movie", "a stupid movie", "punctuation"),
    ("a gOoD mOvIe", "a good movie", "case"),
])
def test_bad_characters_are_undone(purifier: LexicalPurifier, attacked: str, clean: str,
                                   rule: str) -> None:
    result = purifier.purify_text(attacked)
    assert result.purified == clean
    assert any(rule in edit.rule.split("+") for edit in result.edits)
    assert result.suspicious


def test_accents_rtl_and_emoji_survive_next_to_repairs(purifier: LexicalPurifier) -> None:
    text = "café 😍 مرحبا\u200d g\u200bo\u200bod"
    assert purifier.purify_text(text).purified == "café 😍 مرحبا good"
