"""Look-alikes of Latin letters from Unicode's confusables data (UTS #39).

The data is the `confusables.json` that the `confusable-homoglyphs` package ships (built
from Unicode's confusablesSummary.txt): each character maps to the prototype of its
confusable set. A character whose prototype is an ASCII letter is a look-alike of that
letter (Cyrillic `а`, Greek `ο`, full-width `ｇ`, mathematical `𝐠`, dotless `ı`). Prototypes
that are Latin small capitals are followed to their letter (Cyrillic `н` -> `ʜ` -> `h`),
as a reader of Latin text takes them; so are Latin small capitals themselves. A few
letters that UTS #39 files under another prototype but that read as Latin ones in common
fonts are added (`_COMMON_FONTS`). The letters of one set are all offered: `Ӏ` may be
`l` or `I`, the context decides. The one module that reads the package's data.
"""

from __future__ import annotations

import json
import string
import unicodedata
from importlib import resources

_LETTERS = frozenset(string.ascii_letters)
# Compatibility forms of the Latin letters: full-width, and the mathematical alphanumerics
# (NFKC gives the letter; UTS #39 lists only some of them).
_COMPATIBILITY_LETTERS = ((0xFF21, 0xFF3A), (0xFF41, 0xFF5A), (0x1D400, 0x1D6A3))
# Letters that read as Latin ones in common fonts but that UTS #39 files under another
# prototype (Cyrillic `к` with `ĸ`, `м` with `ʍ`, palochka `ӏ` with `i` only), and Cyrillic
# letters that read as an accented Latin vowel (`ѐ`, `ё`, `ї`); attackers use them all the
# same. They add to the letters UTS #39 gives.
_COMMON_FONTS = {"к": "k", "м": "m", "κ": "k", "χ": "x", "Ԁ": "D", "Ԛ": "Q", "Һ": "H",
                 "ȷ": "j", "ƅ": "b", "ꞵ": "b", "ѐ": "e", "ё": "e", "ї": "i", "Ё": "E",
                 "Ї": "I", "ӏ": "l"}


class Confusables:
    """`latin(char)`: ASCII letters `char` can pass for, best guess first ("" if none)."""

    def __init__(self) -> None:
        self._table: dict[str, str] | None = None
        self._lookalikes: dict[str, list[str]] | None = None
        self._skeleton: dict[int, str] | None = None

    def skeleton(self, text: str) -> str:
        """`text` with every look-alike replaced by its first letter (same length), for
        deciding what kind of text it is (`sᴇd -i` is a shell command)."""
        if text.isascii():
            return text
        if self._skeleton is None:
            self._skeleton = {ord(c): letters[0] for c, letters in self.table.items()}
        return text.translate(self._skeleton)

    def latin(self, char: str) -> str:
        table = self._table if self._table is not None else self.table
        return table.get(char, "")

    @property
    def table(self) -> dict[str, str]:
        if self._table is None:
            self._table = _build()
        return self._table

    def lookalikes(self, letter: str) -> list[str]:
        """Every non-ASCII character that passes for `letter` (for attack generators)."""
        if self._lookalikes is None:
            found: dict[str, list[str]] = {}
            for char, letters in sorted(self.table.items()):
                for target in letters:
                    found.setdefault(target, []).append(char)
            self._lookalikes = found
        return self._lookalikes.get(letter, [])


def _build() -> dict[str, str]:
    raw = (resources.files("confusable_homoglyphs") / "confusables.json").read_text("utf-8")
    groups: dict[str, list[dict[str, str]]] = json.loads(raw)
    prototype: dict[str, str] = {}
    for char, entries in groups.items():
        if len(char) == 1 and len(entries) == 1 and len(entries[0]["c"]) == 1:
            prototype[char] = entries[0]["c"]
    # letters of a set whose prototype is an ASCII letter: `I` is in the set of `l`
    members: dict[str, str] = {}
    for char, target in prototype.items():
        if char in _LETTERS and target in _LETTERS:
            members[target] = members.get(target, target) + char
    table: dict[str, str] = {}
    for char in groups:
        if len(char) != 1 or char.isascii() or not char.isalpha():
            continue
        target = _letter(char, prototype)
        if target:
            table[char] = members.get(target, target)
    for lo, hi in _COMPATIBILITY_LETTERS:  # full-width and mathematical letters
        for code in range(lo, hi + 1):
            letter = unicodedata.normalize("NFKC", chr(code))
            if letter in _LETTERS and letter not in table.get(chr(code), ""):
                table[chr(code)] = letter + table.get(chr(code), "")
    for char, target in _COMMON_FONTS.items():
        table[char] = table.get(char, "") + "".join(t for t in target
                                                    if t not in table.get(char, ""))
    return table


def _letter(char: str, prototype: dict[str, str]) -> str:
    """The ASCII letter at the end of `char`'s prototype chain, or ""."""
    seen = {char}
    current = char
    while current not in _LETTERS:
        small = _small_capital(current)
        if small:
            return small
        current = prototype.get(current, "")
        if not current or current in seen:
            return ""
        seen.add(current)
    return current


def _small_capital(char: str) -> str:
    name = unicodedata.name(char, "")
    if name.startswith("LATIN LETTER SMALL CAPITAL ") and len(name) == 28:
        return name[-1].lower()
    return ""
