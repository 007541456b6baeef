"""Look-alike letters of other scripts folded to Latin inside Latin words (UTS #39 data).

A word that mixes Latin letters with look-alikes (`pаypal` with a Cyrillic `а`, `ｇood`) is
folded whenever every letter of the result is Latin. A word made only of look-alikes is
folded in Latin text when the result is an English word (`сор` -> `cop`), when it is a
one-letter Cyrillic word (`а`), or when it is an all-capital code with digits (`ЕА-2192`);
Russian or Greek text, and Greek letters used as symbols (`α-helix`, `the β subunit`), stay
as they are. Where a look-alike may be one of several letters (`Ӏ`: `l` or `I`), the one
that makes a known word, or else that matches the case around it, is taken.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.confusables import Confusables

_MAX_CHOICES = 16


def has_lookalike(word: str, table: Confusables) -> bool:
    return not word.isascii() and any(table.latin(c) for c in word)


def fold(word: str, latin_text: bool, is_word: Callable[[str], bool],
         table: Confusables, rank: Callable[[str], int] = lambda _: 0) -> str | None:
    """The Latin spelling of `word`, or None when it should stay as it is."""
    if word.isascii():
        return None
    if "-" in word and not _code(word):  # `α-helix`, `pаy-per-view`: each part on its own
        parts = word.split("-")
        folded_parts = [None if _greek_symbol(p) else _fold(p, latin_text, is_word, table, rank)
                        for p in parts]
        if not any(folded_parts):
            return None
        return "-".join(f or p for f, p in zip(folded_parts, parts, strict=True))
    return _fold(word, latin_text, is_word, table, rank)


def _fold(word: str, latin_text: bool, is_word: Callable[[str], bool],
          table: Confusables, rank: Callable[[str], int]) -> str | None:
    if word.isascii() or not word:
        return None
    options = [table.latin(c) if not c.isascii() else "" for c in word]
    if not any(options):
        return None
    if not all(opt or not c.isalpha() or scripts.is_latin_letter(c)
               for c, opt in zip(word, options, strict=True)):
        return None  # a letter of another script with no Latin look: a foreign word
    latin_letters = [c for c, opt in zip(word, options, strict=True)
                     if not opt and c.isalpha()]
    folded = _choose(word, options, is_word, rank)
    if latin_letters:
        return folded
    if not latin_text:
        return None
    if is_word(folded.lower()) and not _greek_symbol(word):
        return folded
    letters = [c for c in word if c.isalpha()]
    if len(letters) == 1 and _script(letters[0]) == "CYRILLIC":
        return folded
    if _code(word):
        return folded
    return None


def _code(word: str) -> bool:
    """`ЕА-2192`: capitals and digits, a code written with look-alikes."""
    letters = [c for c in word if c.isalpha()]
    return (len(letters) >= 2 and all(c.isupper() for c in letters)
            and any(c.isdigit() for c in word))


def fold_mixed(run: str, table: Confusables, is_word: Callable[[str], bool]) -> str | None:
    """A run of letters mixing Latin ones with look-alikes, folded (for URLs, code, ...)."""
    if run.isascii() or not any(c.isascii() and c.isalpha() for c in run):
        return None
    options = [table.latin(c) if not c.isascii() else "" for c in run]
    if not any(options) or not all(opt or scripts.is_latin_letter(c)
                                   for c, opt in zip(run, options, strict=True)):
        return None
    return _choose(run, options, is_word)


def _choose(word: str, options: list[str], is_word: Callable[[str], bool],
            rank: Callable[[str], int] = lambda _: 0) -> str:
    """Each look-alike replaced by one of its letters: the most frequent known word (by
    `rank`) if some choice gives one, else the letter whose case matches the word's other
    letters."""
    plain = [c for c, opt in zip(word, options, strict=True) if not opt and c.isalpha()]
    upper = bool(plain) and all(c.isupper() for c in plain)
    lower = bool(plain) and all(c.islower() for c in plain)
    picks = [_by_case(opt, upper, lower) if opt else c
             for c, opt in zip(word, options, strict=True)]
    ambiguous = [i for i, opt in enumerate(options) if len(opt) > 1]
    if ambiguous:
        choices = itertools.islice(itertools.product(*(options[i] for i in ambiguous)),
                                   _MAX_CHOICES)
        words = []
        for choice in choices:
            trial = list(picks)
            for i, letter in zip(ambiguous, choice, strict=True):
                trial[i] = letter
            candidate = "".join(trial)
            if is_word(candidate.lower()) and _case_fits(candidate):
                words.append(candidate)
        if words:
            return max(words, key=lambda w: (rank(w.lower()), w))
        camel = any(c.isupper() for c in plain)
        for i in ambiguous:  # `𝓵mportError`: the camel part around the letter decides
            for letter in options[i]:
                if letter.isupper() and i and not camel:
                    continue
                trial = list(picks)
                trial[i] = letter
                part = _part_at("".join(trial), i)
                if len(part) > 1 and is_word(part.lower()) and _case_fits(part):
                    picks[i] = letter
                    break
    return "".join(picks)


def _part_at(word: str, i: int) -> str:
    """The camel-case part of `word` holding position `i` (`Import` in `ImportError`)."""
    start = i
    while start > 0 and not (word[start].isupper() and word[start - 1].islower()):
        start -= 1
    end = i + 1
    while end < len(word) and not word[end].isupper() and word[end].isalpha():
        end += 1
    return word[start:end]


def _by_case(options: str, upper: bool, lower: bool) -> str:
    if upper:
        return next((o for o in options if o.isupper()), options[0])
    if lower:
        return next((o for o in options if o.islower()), options[0])
    return options[0]


def _case_fits(word: str) -> bool:
    rest = word[1:]
    return rest == rest.lower() or word == word.upper()


def _greek_symbol(word: str) -> bool:
    """One Greek letter: a symbol in Latin text (`α`, `β`), no look-alike."""
    letters = [c for c in word if c.isalpha()]
    return len(letters) == 1 and _script(letters[0]) == "GREEK"


def _script(char: str) -> str:
    return unicodedata.name(char, "").split(" ", 1)[0]


_LATIN_WORD = scripts.compile(r"(?<!\p{L})\p{L}*[A-Za-z]\p{L}*")  # tried at word starts only
_OTHER_LETTERS = scripts.compile(r"[^\P{L}A-Za-z]+")
# Where no ASCII letter touches another character outside ASCII, the Latin words are the runs
# of ASCII letters (a scan with `re`, much faster than one with Unicode properties).
_MIXED_EDGE = re.compile(r"[A-Za-z][^\x00-\x7f]|[^\x00-\x7f][A-Za-z]")
_ASCII_WORD = re.compile(r"[A-Za-z]+")


def latin_share(text: str, table: Confusables, seen: str | None = None) -> float:
    """Share of the letters of `text` in words with ASCII letters (look-alikes mixed into
    them count as Latin), among those and the letters of other scripts that are no
    look-alikes; 0 when every letter is a look-alike. The share does not move when the
    look-alikes of a mixed word are folded. `seen`: the skeleton of `text`, if known."""
    if text.isascii():
        return 1.0
    seen = seen if seen is not None else table.skeleton(text)
    if _OTHER_LETTERS.search(seen) is None:  # every letter Latin or a look-alike of one
        return 1.0 if _LATIN_WORD.search(text) is not None else 0.0
    latin_words = _LATIN_WORD if _MIXED_EDGE.search(text) is not None else _ASCII_WORD
    words = [m.span() for m in latin_words.finditer(text)]
    if not words:
        return 0.0
    latin = sum(end - start for start, end in words)
    starts = [0, *(end for _, end in words)]
    ends = [*(start for start, _ in words), len(text)]
    pieces = map(seen.__getitem__, map(slice, starts, ends))
    other = sum(map(len, _OTHER_LETTERS.findall(" ".join(pieces))))
    if not latin + other:
        return 0.0
    return latin / (latin + other)
