"""Stray capitals: letters a character attack drew from `string.ascii_letters`.

TextAttack's random substitution and insertion pick from upper- and lowercase letters
alike, so half of the letters they plant are capitals: `lNacks`, `winZer`, `Kbleak`. Such
a capital marks where the word was edited, so the repair is searched for at that spot
only: the capital removed, or replaced by another letter.

Genuine mixed case is left alone: CamelCase identifiers and brands whose parts are words
(`iPhone`, `eBay`, `fooBar`, `setUp`), words with several capitals (`McDonald`, `YouTube`,
`DeWitt`, `PhD`, `iOS`), all-caps acronyms, and any text where capitals are common. A
capitalised first letter is only taken for a stray one in text written all in lowercase.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from llamos_gateway.lexical.candidates import LETTERS

# A text is "mostly lowercase" when it has at most this many capitals per word.
_CAPITALS_PER_WORD = 0.5
_MIN_WORDS = 2
_MIN_LENGTH = 3  # shorter words are too easy to turn into another word
_MIN_LEADING = 4  # `Kbleak`: a capitalised word must be longer (short names abound)
_SENTENCE_END = re.compile(r"[.!?:;\"]\s*$")
_LOOK_BACK = 16


def mostly_lowercase(forms: Sequence[str], joined: str | None = None) -> bool:
    """Few capitals for the words. Counted per word, not per letter, so that a spelling
    repair (which changes letters, never capitals or words) cannot change the answer.
    `joined`: the forms joined, if the caller has them."""
    capitals = sum(map(str.isupper, "".join(forms) if joined is None else joined))
    return len(forms) >= _MIN_WORDS and capitals <= _CAPITALS_PER_WORD * len(forms)


def inner_capital(form: str) -> int | None:
    """Where the one capital inside an otherwise lowercase ASCII word is (never at 0)."""
    if len(form) < _MIN_LENGTH or not form.isascii() or not form.isalpha():
        return None
    caps = [i for i, c in enumerate(form) if c.isupper()]
    return caps[0] if len(caps) == 1 and caps[0] > 0 else None


def leading_capital(form: str) -> bool:
    """`Kbleak`: a capital first letter, the rest lowercase ASCII."""
    return (len(form) >= _MIN_LEADING and form.isascii() and form.isalpha()
            and form[0].isupper() and form[1:].islower())


def camel(form: str, at: int, known: Callable[[str], bool],
          target: Callable[[str], bool]) -> bool:
    """`iPhone`, `fooBar`, `setUp`, `getX`: the capital starts a part of a compound name.

    Parts that are words can also come of a planted capital (`lYacks`, `goDod`,
    `bloatNd`): then an edit at the capital gives a word, as it does for no brand or
    identifier (`iPhone`, `eBay`, `jQuery`, `isOpen`). A last capital after a word
    (`getX`, `posY`) is always taken for part of a name."""
    head, tail = form[:at].lower(), form[at:].lower()
    if len(tail) == 1:
        return len(head) >= 3 and known(head)
    if not known(tail) or not (len(head) == 1 and len(tail) >= 3 or known(head)):
        return False
    return not any(map(target, edits(form, at)))


def edits(form: str, at: int) -> list[str]:
    """The word, lowercased, with the letter at `at` removed or replaced by another one."""
    low = form.lower()
    out = [low[:at] + low[at + 1:]]
    out.extend(low[:at] + c + low[at + 1:] for c in LETTERS if c != low[at])
    return out


def lowercase_style(forms: Sequence[str], starts: Sequence[bool],
                    known: Callable[[str], bool]) -> bool:
    """No sentence case and no capitalised names: a capital first letter can only be a
    stray one. `starts[i]` says whether word `i` begins a sentence; one of them at least
    must be lowercase (the writer does not capitalise sentences)."""
    lower_start = False
    for form, start in zip(forms, starts, strict=True):
        if not form[:1].isupper():
            lower_start = lower_start or (start and form[:1].islower())
        elif not leading_capital(form) or known(form.lower()):
            return False
    return lower_start


def after_terminator(text: str, start: int) -> bool:
    """The word at `start` follows a sentence terminator (a new sentence starts)."""
    return _SENTENCE_END.search(text, max(0, start - _LOOK_BACK), start) is not None


_PARTS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_CAPITAL_GROUPS = re.compile(r"[A-Z]+")


def random_capitals(form: str, known: Callable[[str], bool], target: Callable[[str], bool],
                    cased: frozenset[str]) -> bool:
    """`mOvIe`, `StUpId`, `ThE`: capitals strewn through a word whose lowercase is a word.

    Not when the word is spelt so in the word lists (`McDonald`, `DiCaprio`), all in
    capitals, or made of word parts at its capitals (`PowerPoint`, `macOS`, `JavaScript`).
    A brand can look the same (`LaTeX`), so `strewn` tells the caller whether the word alone
    is enough: a lowercase first letter and two capitals or more apart (`mOvIe`)."""
    if len(form) < 3 or not form.isascii() or not form.isalpha():
        return False
    if form.isupper() or form[1:].islower() or form in cased:
        return False
    if all(len(p) >= 3 and known(p.lower()) for p in _PARTS.findall(form)):
        return False
    return target(form.lower())


def strewn(form: str, known: Callable[[str], bool], target: Callable[[str], bool]) -> bool:
    """Capitals no brand or identifier is written with: a lowercase first letter and a
    capital that does not start a word part (`tHe`, `mOvIe`; not `iPhone`, `eBay`), or a
    capital first letter and a run of two capitals or more (`TUesDAy`, `HUmAnS`; not
    `LaTeX`, `PlayStation`)."""
    if form[:1].islower():
        groups = _CAPITAL_GROUPS.findall(form)
        at = next(i for i, c in enumerate(form) if c.isupper())
        return len(groups) >= 2 or not camel(form, at, known, target)
    return any(len(m.group()) >= 2 and (m.start() > 0 or form[m.end():m.end() + 1].islower())
               for m in _CAPITAL_GROUPS.finditer(form))
