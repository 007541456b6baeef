"""Meaningless additions at the end of a text: random handles and junk punctuation.

A clean sentence ends with closing quotes/brackets, at most one terminator (`.`, `!`,
`?`, `...`, `?!`, `!?`) or one separator/dash, and more closers. Anything else after the
last word (`. :)`, `..?`, `. ^^`, `+ !`, emoji) is cut back to the first terminator and the
closers. Handles are `@` tokens mixing letters and digits with no word inside
(`@fasuv3`, `@f2b63g3`) that only punctuation follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_HANDLE = re.compile(r"(?<![\w@])@([a-z0-9]{3,12})\b", re.IGNORECASE)
_PIECE = re.compile(
    r"\.\.\.|…"
    r"|[:;=8][-'^]?(?:[()\[\]dDpPoO3/\\|*]|\(-\))+"
    r"|\^_?\^|<3|\(-\)|--"
    r"|\S"
)
_TERMINATORS = frozenset([".", "!", "?", "...", "…"])
_LEGIT_ENDINGS = frozenset([".", "!", "?", "...", "…", "?!", "!?"])
_SEPARATORS = frozenset([",", ";", ":", "-", "--"])
_QUOTES = frozenset(["'", '"', "”", "’", "»", "`"])
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_EMOTICON_LETTERS = "dDpPoO3"


@dataclass(frozen=True, slots=True)
class Cut:
    """Replace `text[start:end]` with `after`."""

    start: int
    end: int
    after: str
    rule: str


def ending(text: str, is_word: Callable[[str], bool]) -> Cut | None:
    """One cut for the end of `text`: trailing random handles and junk punctuation."""
    if "@" not in text and _plain_end(text):
        return None
    found = _handles(text, is_word)
    start = tail_start(text, found)
    if start == 0 or not any(char.isalnum() for char in text[:start]):
        return None
    tail = text[start:]
    pieces = [(m.start() + start, m.group()) for m in _PIECE.finditer(tail)
              if not any(s <= m.start() + start < e for s, e in found)]
    opened = _open_brackets(text[:start])
    kinds = [_kind(piece, opened) for _, piece in pieces]
    if not found and _clean(kinds, [p for _, p in pieces]):
        return None
    kept = _keep(pieces, kinds)
    after = "".join(_spaced(text, pos, piece) for pos, piece in kept)
    if kept:
        after += text[len(text.rstrip()):]
    if after == tail:
        return None
    rule = "junk_handle" if found else "junk_suffix"
    return Cut(start, len(text), after, rule)


def _plain_end(text: str) -> bool:
    """Ends in a letter or digit, maybe with one space and one `.`, `!` or `?` after it."""
    end = text.rstrip()
    if end[-1:].isalnum():
        return not (end[-1] in _EMOTICON_LETTERS and _emoticon_letter(end, len(end) - 1))
    if end[-1:] not in (".", "!", "?"):
        return False
    before = end[-2:-1]
    return before.isalnum() or (before == " " and end[-3:-2].isalnum())


def _handles(text: str, is_word: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Spans of random-looking handles followed by nothing but punctuation and space."""
    spans: list[tuple[int, int]] = []
    if "@" not in text:
        return spans
    end = len(text)
    for match in reversed(list(_HANDLE.finditer(text))):
        if any(char.isalnum() for char in text[match.end():end]):
            break
        if not _random(match.group(1), is_word):
            break
        start = len(text[:match.start()].rstrip())  # with the spaces before it
        spans.append((start, match.end()))
        end = start
    return spans


def _random(body: str, is_word: Callable[[str], bool]) -> bool:
    low = body.lower()
    if not any(c.isdigit() for c in low) or not any(c.isalpha() for c in low):
        return False
    return not any(len(run) >= 4 and is_word(run) for run in re.findall(r"[a-z]+", low))


def tail_start(text: str, skip: list[tuple[int, int]]) -> int:
    """Where the run of punctuation, symbols, emoticons, spaces (and `skip`) closing `text` begins."""
    i = len(text)
    while i > 0:
        char = text[i - 1]
        span = next((s for s, e in skip if s < i <= e), None)
        if span is not None:
            i = span
        elif char.isspace() or not (char.isalnum() or char == "_") or char in _EMOTICON_LETTERS and _emoticon_letter(text, i - 1):
            i -= 1
        else:
            break
    return i


def _emoticon_letter(text: str, i: int) -> bool:
    after_ok = i + 1 >= len(text) or not text[i + 1].isalnum()
    before = text[max(0, i - 2):i]
    return after_ok and (before[-1:] in (":", ";", "=") or before in (":-", ";-", ":'", "=-"))


def _spaced(text: str, pos: int, piece: str) -> str:
    """`piece` with one space before it when it had one in `text`."""
    return " " + piece if pos > 0 and text[pos - 1].isspace() else piece


def _open_brackets(text: str) -> dict[str, int]:
    return {o: text.count(o) - text.count(c) for c, o in _CLOSERS.items()}


def _kind(piece: str, opened: dict[str, int]) -> str:
    if piece in _TERMINATORS:
        return "end"
    if piece in _QUOTES or piece in ("''", "``"):
        return "close"
    if piece in _CLOSERS and opened.get(_CLOSERS[piece], 0) > 0:
        opened[_CLOSERS[piece]] -= 1
        return "close"
    if piece in _SEPARATORS:
        return "sep"
    return "junk"


def _clean(kinds: list[str], pieces: list[str]) -> bool:
    """No junk, and every stretch between closers is one legit ending or one separator."""
    if "junk" in kinds:
        return False
    run: list[int] = []
    for i, kind in enumerate([*kinds, "close"]):
        if kind != "close":
            run.append(i)
            continue
        if run and not _legit_run([kinds[k] for k in run], [pieces[k] for k in run]):
            return False
        run = []
    return True


def _legit_run(kinds: list[str], pieces: list[str]) -> bool:
    if len(pieces) == 1:
        return True
    return all(kind == "end" for kind in kinds) and "".join(pieces) in _LEGIT_ENDINGS and all(
        len(piece) == 1 for piece in pieces) and "." not in pieces


def _keep(pieces: list[tuple[int, str]], kinds: list[str]) -> list[tuple[int, str]]:
    """Closers, the first terminator (or, failing one, the first separator) and closers."""
    anchor = next((i for i, k in enumerate(kinds) if k == "end"), None)
    if anchor is None:
        anchor = next((i for i, k in enumerate(kinds) if k == "sep"), None)
    kept = []
    for i, (pos, piece) in enumerate(pieces):
        if kinds[i] == "close" or i == anchor:
            kept.append((pos, piece))
    return kept
