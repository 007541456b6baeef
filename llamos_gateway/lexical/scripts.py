"""Unicode properties the standard library lacks: scripts, emoji, grapheme clusters.

The one module that imports `regex` (Unicode script and emoji properties, `\\X`). Callers get
compiled patterns and small predicates, never the library itself.
"""

from __future__ import annotations

from typing import Any

import regex

Pattern = Any  # a compiled `regex` pattern (the library has no type hints)

# Scripts whose letters join (Arabic, Syriac, N'Ko, Mongolian) or are shaped with joiners
# (the Brahmic scripts of South and South-East Asia): ZWJ and ZWNJ are spelling there.
_JOINING = ("Arabic Syriac Nko Mongolian Mandaic Adlam Devanagari Bengali Gurmukhi Gujarati "
            "Oriya Tamil Telugu Kannada Malayalam Sinhala Thai Lao Tibetan Myanmar Khmer "
            "Balinese Javanese Tai_Tham Hanifi_Rohingya Phags_Pa Manichaean "
            "Psalter_Pahlavi").split()
JOINING_CLASS = "".join(f"\\p{{Script={s}}}" for s in _JOINING)
JOINING_LETTER = regex.compile("[" + JOINING_CLASS + "]")
# Emoji that a ZWJ may follow or precede inside an emoji sequence.
EMOJI_CLASS = (r"\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}"
               r"\uFE0F\u20E3")
EMOJI_PART = regex.compile("[" + EMOJI_CLASS + "]")
PICTOGRAPH = regex.compile(r"\p{Extended_Pictographic}")
# East Asian text: full-width forms are its ordinary punctuation, letters and digits.
EAST_ASIAN = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Bopomofo}"
                           r"\u3000-\u303F\u30FC]")
# Right-to-left letters (the marks RLM and ALM are of the same bidi class, but no letters).
RIGHT_TO_LEFT = regex.compile(r"(?=\p{L})[\p{Bidi_Class=R}\p{Bidi_Class=AL}]")
LATIN_LETTER = regex.compile(r"\p{Script=Latin}")
# Bases whose accents compose to precomposed letters (NFC) in ordinary text.
COMPOSING_BASE = regex.compile(r"[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]")
# A letter of a script other than Latin (look-alikes are not counted as Latin).
OTHER_LETTER = regex.compile(r"[^\P{L}\p{Script=Latin}]")
GRAPHEME = regex.compile(r"\X")


def compile(pattern: str, flags: int = 0) -> Pattern:
    """A `regex` pattern, for the Unicode classes `re` lacks (`\\p{...}`)."""
    return regex.compile(pattern, flags)


def is_latin_letter(char: str) -> bool:
    return LATIN_LETTER.match(char) is not None and char.isalpha()


def joining(char: str) -> bool:
    return JOINING_LETTER.match(char) is not None


def emoji_part(char: str) -> bool:
    return EMOJI_PART.match(char) is not None


def pictograph(char: str) -> bool:
    return PICTOGRAPH.match(char) is not None


def right_to_left(char: str) -> bool:
    return RIGHT_TO_LEFT.match(char) is not None


def composing_base(char: str) -> bool:
    return COMPOSING_BASE.match(char) is not None
