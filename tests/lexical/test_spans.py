"""What kind of text each part is, decided before any word is edited."""

import pytest

from llamos_gateway.lexical.spans import protected


def kinds(text: str) -> list[tuple[str, str]]:
    return [(s.kind, text[s.start:s.end]) for s in protected(text)]


@pytest.mark.parametrize(("text", "kind", "part"), [
    ("fix this:\n```\nprnt(x)\n```\nplease", "code", "```\nprnt(x)\n```"),
    ("run `pip instal llamos` now", "code", "`pip instal llamos`"),
    ("git commit -m 'fix: handle nil ptr in pkg/srv'", "code",
     "git commit -m 'fix: handle nil ptr in pkg/srv'"),
    ("$ cargo build --release", "code", "$ cargo build --release"),
    ("SELECT name FROM users WHERE id = 1;", "code", "SELECT name FROM users WHERE id = 1;"),
    ("def f(x):\n    \"\"\"Retrun x.\"\"\"\n    return x", "code",
     "def f(x):\n    \"\"\"Retrun x.\"\"\"\n    return x"),
    ("<div class=\"container\"><p>Hello</p></div>", "markup", "</p></div>"),
    ("Tom &amp; Jerry", "markup", "&amp;"),
    ("see *the docs* now", "markup", "*the docs*"),
    ("Why? {\"a\": 1, \"b\": [true, null]} hmm", "markup", "{\"a\": 1, \"b\": [true, null]}"),
    ("server:\n  host: 0.0.0.0\n  port: 80", "markup", "server:\n  host: 0.0.0.0\n  port: 80"),
    ("sku;qty;price\nA-1;2;3.5", "markup", "sku;qty;price\nA-1;2;3.5"),
    ("| a | b |\n| --- | --- |", "markup", "| a | b |\n| --- | --- |"),
    ("see https://exmaple.com/a?b=c now", "url", "https://exmaple.com/a?b=c"),
    ("visit docs.python.org today", "url", "docs.python.org"),
    ("mail ops@exmaple.org today", "email", "ops@exmaple.org"),
    ("open ~/.bashrc or C:\\Users\\bob or ./run.sh", "path", "C:\\Users\\bob"),
    ("omg #TGIF", "hashtag", "#TGIF"),
    ("thanks @jonny", "handle", "@jonny"),
    ("set my_varable and os.path, --force, $HOME, LOG=debug, f(x)", "identifier", "my_varable"),
    ("the rate of 5%.", "number", "5%"),
    ("v2.3.1 uses 1.2 GB and 3.5GHz for $4.99", "number", "1.2 GB"),
    ("IPv6 fe80::1ff:fe23:4567:890a", "number", "fe80::1ff:fe23:4567:890a"),
])
def test_each_kind_is_protected(text: str, kind: str, part: str) -> None:
    assert (kind, part) in kinds(text)


@pytest.mark.parametrize("text", [
    "it 's a charming and often affecting journey . ",
    "( w ) hile long on amiable monkeys",
    "while ( hill ) has learned new tricks , the tricks alone are not enough",
    "return to never land may be a mediocre film",
    "let me know if u want it",
    "make sure the film is good",
    "a g00d film about 7h3 best",
])
def test_prose_is_not_protected(text: str) -> None:
    assert kinds(text) == []
