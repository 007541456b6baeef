"""Words broken up to dodge a filter: spaced-out letters and punctuation inside a word.

- `s t u p i d` -> `stupid`: a run of three or more single letters, one space apart, is
  joined when it splits into known words with one of three letters or more (`a b i g
  deal` -> `a big deal`), or, from four letters on, into one word of another language
  (`b i e n`); runs all in capitals (`U S A`) and short runs that split into nothing known
  (`x y z`, initials) stay.
- `he!ute`, `aga?in`, `Ma;drid`: letters around punctuation that prose never writes inside
  a word (`! ? ; : ~ * ` ^ | + = "`) are joined unless both pieces are words and the
  whole is none (`wait?what`);
- `to.night`, `stu.pid`, `st-upid`, `stu'pid` -> `tonight`, `stupid`: around `.` or `,`
  when the whole is a frequent word; around `-`, `_` and `'` when, besides, a piece is no
  word and the first is no prefix. A punctuated form that is itself a known word stays
  (`sci-fi`, `e-mail`, `re-enter`, `file_name`, `os.path`, `it's`, `don't`, `l'homme`).

Only text outside protected spans is looked at, and identifiers (where `stu.pid` would
otherwise be taken for a dotted name).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from llamos_gateway.lexical.morphology import PREFIXES
from llamos_gateway.lexical.rewrites import Change
from llamos_gateway.lexical.spans import Span

_SPACED = re.compile(r"(?<![\w'’])(?:[A-Za-z] ){2,}[A-Za-z](?![\w'’])")
_INNER = ".,;:!?*_~^`'\"+=|-"
_PUNCTUATED = re.compile(
    r"(?<![\w'’.@/\\-])[A-Za-z]+(?:[" + re.escape(_INNER) + r"][A-Za-z]+)+(?![\w@/\\]|[.'’-]\w)")
_SPLIT = re.compile("[" + re.escape(_INNER) + "]")
_GAPS = frozenset(_INNER + " ")
# Cheap test: a letter, inner punctuation, a letter (`n't` and `'s` cannot be joined)
_MAYBE_PUNCTUATED = re.compile(r"[A-Za-z][" + re.escape(_INNER.replace("'", "")) +
                               r"][A-Za-z]|[A-Za-z]'[A-Za-z]{2}")
_CONTRACTIONS = frozenset(["s", "t", "re", "ve", "ll", "d", "m"])
_OPEN_KINDS = frozenset(["identifier"])
_MAX_RUN = 40
_MAX_PART = 20
_MIN_WORD = 3
_MIN_FOREIGN = 4


def joins(text: str, spans: list[Span], is_word: Callable[[str], bool],
          is_target: Callable[[str], bool], seen: str | None = None) -> list[Change]:
    """Changes joining spaced-out letters and punctuated words outside protected spans.
    `seen`: the text as it reads (look-alikes as their letters, same length) to decide on;
    the changes keep the characters of `text`."""
    if seen is not None and seen != text:
        return [Change(c.start, c.end, _kept(text, c), c.rule)
                for c in joins(seen, spans, is_word, is_target)]
    spaced = _SPACED.search(text) is not None
    if not spaced and _MAYBE_PUNCTUATED.search(text) is None:
        return []
    closed = [(s.start, s.end) for s in spans if s.kind not in _OPEN_KINDS]
    found: list[Change] = []
    for match in _SPACED.finditer(text) if spaced else ():
        if not _inside(closed, match.start(), match.end()):
            words = _segment(match.group().replace(" ", ""), is_target)
            if words is not None:
                found.append(Change(match.start(), match.end(), words, "spacing"))
    for match in _PUNCTUATED.finditer(text):
        if not _inside(closed, match.start(), match.end()):
            joined = _joined(match.group(), is_word, is_target)
            if joined is not None:
                found.append(Change(match.start(), match.end(), joined, "punctuation"))
    found.sort(key=lambda c: c.start)
    out: list[Change] = []
    for change in found:
        if not out or change.start >= out[-1].end:
            out.append(change)
    return out


def _kept(text: str, change: Change) -> str:
    """`change.after` (made from the read text) spelt with the characters of `text`: the
    same letters in the same order, the spaces where `after` has them."""
    letters = iter([c for c in text[change.start:change.end] if c not in _GAPS])
    return "".join(" " if c == " " else next(letters) for c in change.after)


def _inside(closed: list[tuple[int, int]], start: int, end: int) -> bool:
    # spans are few and sorted; a linear scan per match would be quadratic on hostile input
    lo, hi = 0, len(closed)
    while lo < hi:
        mid = (lo + hi) // 2
        if closed[mid][1] <= start:
            lo = mid + 1
        else:
            hi = mid
    return lo < len(closed) and closed[lo][0] < end


def _segment(letters: str, is_target: Callable[[str], bool]) -> str | None:
    """`letters` split into the fewest known words, original case kept, or None."""
    if len(letters) > _MAX_RUN or letters.isupper():
        return None
    low = letters.lower()
    best: list[list[int] | None] = [None] * (len(low) + 1)
    best[0] = []
    for end in range(1, len(low) + 1):
        for start in range(max(0, end - _MAX_PART), end):
            prev = best[start]
            piece = low[start:end]
            if prev is None or not _piece(piece, is_target):
                continue
            if best[end] is None or len(prev) + 1 < len(best[end] or []):
                best[end] = [*prev, end]
    cuts = best[len(low)]
    if cuts is None:
        return letters if len(letters) >= _MIN_FOREIGN and letters[1:].islower() else None
    pieces, last = [], 0
    for cut in cuts:
        pieces.append(letters[last:cut])
        last = cut
    if max(len(p) for p in pieces) < _MIN_WORD:
        return None
    return " ".join(pieces)


def _piece(piece: str, is_target: Callable[[str], bool]) -> bool:
    return piece in ("a", "i") if len(piece) == 1 else is_target(piece)


_STRONG = frozenset("!?;:~*`^|+=\"")  # never inside a word of prose
_ALWAYS_JOINED = frozenset(".,")       # `to.night`, `to,day`: a word when the whole is one


def _joined(word: str, is_word: Callable[[str], bool],
            is_target: Callable[[str], bool]) -> str | None:
    pieces = _SPLIT.split(word)
    marks = set(_SPLIT.findall(word))
    joined = "".join(pieces)
    if len(joined) < 4 or is_word(word.lower()):
        return None
    if not (joined[1:].islower() or joined.isupper()):
        return None
    whole = is_target(joined.lower())
    all_words = all(len(p) >= 2 and is_target(p.lower()) for p in pieces)
    if marks <= _STRONG:
        if not whole and max(len(p) for p in pieces) <= 2:
            return None  # `tl;dr`, `a:b`: abbreviations and labels
        known_pieces = all(len(p) >= 2 and is_word(p.lower()) for p in pieces)
        return joined if whole or not known_pieces else None
    if not whole:
        return None
    if marks <= _ALWAYS_JOINED:
        return joined
    if "'" in marks and (pieces[-1].lower() in _CONTRACTIONS or len(pieces[0]) == 1):
        return None
    if all_words or ("-" in marks and pieces[0].lower() in PREFIXES):
        return None  # `file_name`, `pre-defined`, `co-op`: two words, or a prefix
    return joined
