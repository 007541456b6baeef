from llamos_gateway.lexical.tokens import protected_spans, tokenize


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def test_sst_style_text() -> None:
    assert words("it 's a g00d , charming-ish film n't") == [
        "it", "s", "a", "g00d", "charming-ish", "film", "n't"]
    assert [t.after_apostrophe for t in tokenize("it 's")] == [False, True]


def test_protected_spans_hold_no_tokens() -> None:
    text = ("see https://exmaple.com/pth and mail bob@exmaple.org about `cnofig.yaml` "
            "in /usr/lcal/bin, #hashtg @mentoin my_varable e.g. 3.14")
    assert words(text) == ["see", "and", "mail", "about", "in"]


def test_code_fences_are_protected() -> None:
    text = "fix this:\n```\nprnt(x)\n```\nplease"
    (span,) = protected_spans(text)
    assert text[span[0]:span[1]].startswith("```") and "prnt" not in words(text)


def test_sst_quotes_are_not_code() -> None:
    assert "sade" in words("`` sade '' covers the same period as `` quills ''")
