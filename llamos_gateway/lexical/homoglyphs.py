"""Look-alike letters from other scripts (Cyrillic, Greek, Armenian, IPA) folded to Latin.

Fullwidth and mathematical letters are already folded by NFKC. A word is folded when it
mixes Latin letters with look-alikes (`pаypal` with a Cyrillic `а`); a word made only of
look-alikes is folded when the text around it is Latin and the result is an English
word, so Russian or Greek text is left alone.
"""

from __future__ import annotations

from collections.abc import Callable

_PAIRS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ѵ": "v",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "У": "Y", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D",
    "Ԛ": "Q", "Ԝ": "W", "Ү": "Y", "Һ": "H", "Ӏ": "I",
    # Greek
    "α": "a", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ϲ": "c", "ϳ": "j", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y",
    "Χ": "X", "Ϲ": "C",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "զ": "q", "ա": "w",
    # Latin look-alikes outside ASCII that NFKC keeps
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɩ": "i", "ʟ": "L", "ɪ": "I", "ʀ": "R", "ɴ": "N",
    "ѐ": "e", "ƅ": "b", "ɢ": "G", "ʜ": "H", "ᴄ": "C", "ᴏ": "O", "ᴠ": "V", "ᴡ": "W",
    "ᴢ": "Z", "ꞵ": "b",
}
HOMOGLYPHS: dict[str, str] = _PAIRS


def has_lookalike(word: str) -> bool:
    return any(char in HOMOGLYPHS for char in word)


def fold(word: str, latin_text: bool, is_word: Callable[[str], bool]) -> str | None:
    """The Latin spelling of `word`, or None when it should stay as it is."""
    if word.isascii() or not has_lookalike(word):
        return None
    folded = "".join(HOMOGLYPHS.get(char, char) for char in word)
    if any(char.isascii() and char.isalpha() for char in word):
        return folded if folded.isascii() else None
    if latin_text and folded.isascii() and is_word(folded.lower()):
        return folded
    return None


def latin_share(text: str) -> float:
    """Share of the letters in `text` that are ASCII Latin (look-alikes not counted)."""
    if text.isascii():
        return 1.0
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return 0.0
    return sum(char.isascii() for char in letters) / len(letters)
