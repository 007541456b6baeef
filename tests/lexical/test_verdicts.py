"""The quick path (`Verdicts.window`) must decide exactly as the full path (`Context.words`)."""

from __future__ import annotations

import random

import pytest

from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.context import Context
from llamos_gateway.lexical.spans import protected
from llamos_gateway.lexical.verdicts import Memo, Verdicts

_WORDS = ("the movie was a great and moving story about love loss and hope but the acting felt "
          "flat while the music carried every scene").split()


def _parts(purifier: LexicalPurifier) -> tuple[Verdicts, Context]:
    return purifier._verdicts, purifier._context


def _text(kind: str, seed: int) -> str:
    rng = random.Random(seed)
    words = []
    for _ in range(120):
        word = rng.choice(_WORDS)
        if kind == "lookalikes":
            word = word.replace("o", "о").replace("a", "а")
        elif kind == "typos" and len(word) > 3:
            i = rng.randrange(len(word))
            word = word[:i] + rng.choice("qxzjk") + word[i + 1:]
        elif kind == "fullwidth":
            word = "".join(chr(ord(c) + 0xFEE0) for c in word)
        elif kind == "foreign":
            word = rng.choice([word, "de", "la", "und", "sua"])
        words.append(word)
    return " ".join(words) + "."


@pytest.mark.parametrize("kind", ["lookalikes", "typos", "fullwidth", "foreign", "plain"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_quick_window_agrees_with_the_full_path(purifier: LexicalPurifier, kind: str,
                                                seed: int) -> None:
    verdicts, context = _parts(purifier)
    text = _text(kind, seed)
    seen = purifier._confusables.skeleton(text)
    spans = protected(seen)
    quick = verdicts.window(text, spans, len(text), seen)
    words, counts = context.words(text, spans, len(text), seen)
    if quick is None:  # the full path must decide: it has a spelling repair to weigh
        assert kind in ("typos", "foreign")
        return
    edits, quick_counts = quick
    assert edits == [(w.token.start, w.token.end, w.form, w.rule) for w in words
                     if w.rule is not None]
    assert quick_counts["words"] == len(words)
    for key in ("homoglyph", "leetspeak", "repeats", "unknown"):
        assert quick_counts.get(key, 0) == counts.get(key, 0), key


def test_a_window_of_misspellings_is_decided_as_foreign(purifier: LexicalPurifier) -> None:
    verdicts, context = _parts(purifier)
    text = " ".join(w[:-1] + "q" for w in _WORDS * 4)  # every word slipped: no English left
    quick = verdicts.window(text, [], len(text), text)
    assert quick is not None
    _, counts = context.words(text, [], len(text), text)
    assert quick[1]["unknown"] == counts["unknown"] > 0


def test_the_memo_is_bounded() -> None:
    memo = Memo()
    memo.settled.update((str(i), True) for i in range(200_001))
    assert memo.bounded() is not memo
    small = Memo()
    small.settled["word"] = True
    assert small.bounded() is small


def test_a_lowercase_word_beside_a_capitalised_name_is_repaired(
        purifier: LexicalPurifier) -> None:
    assert purifier.purify_text("Italy's government inestigates Sony.").purified == (
        "Italy's government investigates Sony.")
    # in lowercase text a neighbouring name may make the word part of it: left alone
    assert purifier.purify_text("robedt de niro").purified == "robedt de niro"
