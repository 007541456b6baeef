"""PromptAttack-style character and sentence perturbations of any sentence, seeded.

Modelled on the instructions of PromptAttack (Xu et al., ICLR 2024), written here from
their descriptions (no data or code of theirs):

- `C1`: "choose at most two words and change them so that they have typos": one letter
  deleted, added (often a doubled neighbour), replaced (often by a keyboard neighbour or
  another vowel) or two letters swapped, in one or two words;
- `C3`: "add at most two extraneous characters to the end of the sentence": punctuation,
  symbols or an emoticon, with or without a space;
- `S1`: "add an extraneous, meaningless handle": `@` and five to seven random lowercase
  letters and digits, before or after the final punctuation.

The same generator runs over SST-2 and RTE sentences, so repair on the two tasks can be
compared kind by kind.
"""

from __future__ import annotations

import enum
import random
import re
import string
from collections.abc import Iterable

from llamos_gateway.corpus.sources import rng as seeded


class Style(enum.StrEnum):
    C1 = "C1"
    C3 = "C3"
    S1 = "S1"


_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_VOWELS = "aeiou"
_WORD = re.compile(r"(?<![\w'’-])[A-Za-z]{3,}(?![\w'’-])")
_SUFFIX_CHARS = "!?.,:;-+*~^=/)("
_EMOTICONS = (":)", ":(", ":/", ":D", ";)", ":P")
_END = re.compile(r"\s*([.!?]+)\s*$")


def perturbations(sentences: Iterable[str], style: Style, seed: int) -> list[dict[str, str]]:
    """`{clean, attacked, kind}` rows, one per sentence the style changes."""
    rng = seeded(seed, f"promptattack:{style}")
    rows = []
    for sentence in sentences:
        attacked = perturb(sentence, style, rng)
        if attacked != sentence:
            rows.append({"clean": sentence, "attacked": attacked, "kind": style.value})
    return rows


def perturb(sentence: str, style: Style, rng: random.Random) -> str:
    if style is Style.C1:
        return _typos(sentence, rng)
    if style is Style.C3:
        return _suffix(sentence, rng)
    return _handle(sentence, rng)


def _typos(sentence: str, rng: random.Random) -> str:
    words = list(_WORD.finditer(sentence))
    if not words:
        return sentence
    out, last = [], 0
    for word in sorted(rng.sample(words, min(len(words), rng.choice((1, 1, 2)))),
                       key=lambda m: m.start()):
        out += [sentence[last:word.start()], _typo(word.group(), rng)]
        last = word.end()
    return "".join(out) + sentence[last:]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    op = rng.choices(("delete", "insert", "replace", "swap"), (0.3, 0.25, 0.3, 0.15))[0]
    if op == "delete":
        return word[:i] + word[i + 1:]
    if op == "insert":
        extra = word[i] if rng.random() < 0.5 else rng.choice(string.ascii_lowercase)
        return word[:i] + extra + word[i:]
    if op == "swap" and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    low = word[i].lower()
    near = _neighbours(low) if rng.random() < 0.6 else _VOWELS.replace(low, "")
    new = rng.choice(near or string.ascii_lowercase)
    return word[:i] + (new.upper() if word[i].isupper() else new) + word[i + 1:]


def _neighbours(char: str) -> str:
    for r, row in enumerate(_ROWS):
        if char in row:
            i = row.index(char)
            near = row[max(0, i - 1):i] + row[i + 1:i + 2]
            for other in (r - 1, r + 1):
                if 0 <= other < 3:
                    near += _ROWS[other][max(0, i - 1):i + 1]
            return near
    return ""


def _suffix(sentence: str, rng: random.Random) -> str:
    body = sentence.rstrip()
    if rng.random() < 0.25:
        added = rng.choice(_EMOTICONS)
    else:
        added = "".join(rng.choice(_SUFFIX_CHARS) for _ in range(rng.randint(1, 2)))
    space = " " if rng.random() < 0.7 else ""
    return body + space + added + sentence[len(body):]


def _handle(sentence: str, rng: random.Random) -> str:
    chars = string.ascii_lowercase + string.digits
    while True:
        body = "".join(rng.choice(chars) for _ in range(rng.randint(5, 7)))
        if any(c.isdigit() for c in body) and any(c.isalpha() for c in body):
            break
    handle = "@" + body
    stripped = sentence.rstrip()
    tail = sentence[len(stripped):]
    end = _END.search(stripped)
    if end is not None and rng.random() < 0.5:
        return stripped[:end.start()] + " " + handle + end.group(1) + tail
    return stripped + " " + handle + tail
