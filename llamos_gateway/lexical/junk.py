"""Meaningless additions at the end of a text: random handles and junk punctuation.

A text may end, after its last word, in closing quotes and brackets, one terminator
(`.`, `...`, `…`) or a run of `!` and `?` (`!!!`, `?!`), emoji and emoticons (after a word,
`!` or `?`: `so much!!! 🎉`, `thanks :)`), and closers; or in one separator or dash. Anything
else after the last word (`. ,`, `.-.`, `..?`, `+ !`, `. :)`) is cut back to the first
terminator and the closers, emoji and emoticons kept. Handles are `@` tokens mixing
letters and digits with no word inside (`@fasuv3`, `@f2b63g3`) that only punctuation
follows.

Nothing is cut when the text ends in a protected span (a URL, code, markup, a number with
its unit or `%`, a hashtag) or when its last word is not written in Latin letters or digits
(Chinese, Japanese, Arabic text ends in its own punctuation).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from llamos_gateway.lexical import scripts
from llamos_gateway.lexical.spans import Span

_HANDLE = re.compile(r"(?<![\w@])@([a-z0-9]{3,12})\b", re.IGNORECASE)
_EMOTICON = r"(?:[:;=8][-'^]?(?:[()\[\]dDpPoO3/\\|*]|\(-\))+|\^_?\^|<3|\(-\)|[xX][dD]\b|\(:)"
_PIECE = scripts.compile(
    r"\.\.\.|…|[!?]+"
    r"|" + _EMOTICON +
    r"|--"
    r"|\p{Extended_Pictographic}(?:[\uFE0F\u20E3\U0001F3FB-\U0001F3FF]|\u200D\p{Extended_Pictographic}\uFE0F?)*"
    r"|[\U0001F1E6-\U0001F1FF]{2}"
    r"|\S"
)
_EMOTICON_RE = re.compile(_EMOTICON + r"\Z")
_TERMINATORS = frozenset([".", "...", "…", "。", "．", "！", "？", "؟", "۔", "।"])
_SEPARATORS = frozenset([",", ";", ":", "-", "--"])
_QUOTES = frozenset(["'", '"', "”", "’", "»", "`", "''", "“", "‘", "«", "›", "‹", "」", "』"])
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_EMOTICON_LETTERS = "dDpPoO3"
# The last word character (a letter, digit or `_`) of a stretch: greedy, so found from its end.
_LAST_WORD_CHAR = re.compile(r"[\s\S]*\w")


@dataclass(frozen=True, slots=True)
class Cut:
    """Replace `text[start:end]` with `after`."""

    start: int
    end: int
    after: str
    rule: str


def ending(text: str, is_word: Callable[[str], bool], spans: list[Span] | None = None,
           seen: str | None = None) -> Cut | None:
    """One cut for the end of `text`: trailing random handles and junk punctuation.
    `seen`: the text as it reads (look-alikes as their letters), to tell Latin words."""
    if "@" not in text and _plain_end(text):
        return None
    found = _handles(text, is_word)
    start = tail_start(text, found)
    floor = max((s.end for s in spans or [] if s.kind != "handle"), default=0)
    if start < floor:
        found = [h for h in found if h[0] >= floor]
        start = max(floor, tail_start(text, found))
        if start >= len(text.rstrip()) and not found:
            return None
    if start == 0 or not any(char.isalnum() for char in text[:start]):
        return None
    if not _latin_word_before(text if seen is None else seen, start):
        return None
    tail = text[start:]
    pieces = [(m.start() + start, m.group()) for m in _PIECE.finditer(tail)
              if not any(s <= m.start() + start < e for s, e in found)]
    opened = _open_brackets(text[:start])
    kinds = [_kind(piece, opened) for _, piece in pieces]
    if not found and _clean(kinds):
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


def _latin_word_before(text: str, start: int) -> bool:
    """The last letter or digit before the tail is ASCII or a Latin letter."""
    i = start - 1
    while i >= 0 and not text[i].isalnum():
        i -= 1
    return i >= 0 and (text[i].isascii() or scripts.is_latin_letter(text[i]))


def _handles(text: str, is_word: Callable[[str], bool]) -> list[tuple[int, int]]:
    """Spans of random-looking handles followed by nothing but punctuation and space."""
    spans: list[tuple[int, int]] = []
    if "@" not in text:
        return spans
    end = len(text)
    for match in reversed(list(_HANDLE.finditer(text, max(0, len(text) - 400)))):
        if any(char.isalnum() for char in text[match.end():end]):
            break
        if not _random(match.group(1), is_word):
            break
        start = len(text[:match.start()].rstrip())  # with the spaces before it
        spans.append((start, match.end()))
        end = start
    return spans[::-1]


def _random(body: str, is_word: Callable[[str], bool]) -> bool:
    low = body.lower()
    if not any(c.isdigit() for c in low) or not any(c.isalpha() for c in low):
        return False
    return not any(len(run) >= 4 and is_word(run) for run in re.findall(r"[a-z]+", low))


def tail_start(text: str, skip: list[tuple[int, int]]) -> int:
    """Where the run of punctuation, symbols, emoticons, spaces (and `skip`) closing `text` begins.

    Walks back from the end a word character at a time (one C-level search per step, so a
    text that is all tail, 1 MB of emoji, costs one scan)."""
    i = len(text)
    k = len(skip)
    while i > 0:
        while k > 0 and skip[k - 1][0] >= i:
            k -= 1
        if k > 0 and skip[k - 1][1] >= i:  # inside a skipped span: jump over it
            i = skip[k - 1][0]
            continue
        floor = skip[k - 1][1] if k > 0 else 0
        match = _LAST_WORD_CHAR.match(text, floor, i)
        if match is None:  # nothing but tail down to the skipped span (or the start)
            i = floor
            continue
        at = match.end() - 1
        if text[at] in _EMOTICON_LETTERS and _emoticon_letter(text, at):
            i = at
            continue
        return at + 1
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
    if piece[0] in "!?" and set(piece) <= {"!", "?"}:
        return "shout"
    if piece in _QUOTES:
        return "close"
    if piece in _CLOSERS and opened.get(_CLOSERS[piece], 0) > 0:
        opened[_CLOSERS[piece]] -= 1
        return "close"
    if piece in _SEPARATORS:
        return "sep"
    if (scripts.pictograph(piece[0]) or "\U0001F1E6" <= piece[0] <= "\U0001F1FF"
            or piece in ("\ufe0f", "\u20e3", "\u200d")):  # parts of keycaps and sequences
        return "emoji"
    if _EMOTICON_RE.match(piece):
        return "emoticon"
    return "junk"


def _clean(kinds: list[str]) -> bool:
    """Every stretch between closers reads as a legit ending (see the module doc)."""
    run: list[str] = []
    for kind in [*kinds, "close"]:
        if kind != "close":
            run.append(kind)
            continue
        if run and not _legit_run(run):
            return False
        run = []
    return True


def _legit_run(run: list[str]) -> bool:
    if len(run) == 1:
        return run[0] != "junk"
    if "junk" in run or "sep" in run:
        return False
    rest = run[1:] if run[0] in ("end", "shout") else run
    if not all(k in ("emoji", "emoticon", "shout") for k in rest):
        return False
    if run[0] == "end" and "emoticon" in rest:
        return False  # `. :)`: an emoticon after a full stop is an addition
    return rest[:1] != ["shout"]


def _keep(pieces: list[tuple[int, str]], kinds: list[str]) -> list[tuple[int, str]]:
    """Closers, the first terminator (or, failing one, the first separator), emoji and
    emoticons that follow a word or `!`/`?`."""
    anchor = next((i for i, k in enumerate(kinds) if k in ("end", "shout")), None)
    if anchor is None:
        anchor = next((i for i, k in enumerate(kinds) if k == "sep"), None)
    shout = anchor is None or kinds[anchor] == "shout"
    return [(pos, piece) for i, (pos, piece) in enumerate(pieces)
            if kinds[i] in ("close", "emoji") or i == anchor
            or (kinds[i] == "emoticon" and shout and (anchor is None or anchor < i))]
