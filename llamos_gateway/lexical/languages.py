"""Function words of other languages written in Latin letters (the `stop-words` lists).

English spelling rules must not touch French, German, Spanish or Vietnamese text, nor the
foreign phrases inside English text (`fleur de sel`, `sua sponte`). A word counts as a
foreign function word when it is no core English word (`a`, `was`, `man`, `come`) and
either two of the lists of French, German, Spanish, Italian, Portuguese and Dutch have it
(`de`, `la`, `con`: the English list holds them too), or one list of a Latin-script
language has it while neither the English list nor the common English words do (`und`,
`sua`; not `car`, `war`, `door`). The one module that imports `stop_words`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from stop_words import get_stop_words

from llamos_gateway.lexical.scripts import compile as compile_pattern

# A word of Latin letters, some of them accented (`fährt`, `café`)
_ACCENTED = compile_pattern(r"\p{Latin}+")

# English function words and the frequent English words that other languages' lists hold.
ENGLISH_CORE = frozenset(
    "a an the and or but nor of to in on at by for with from as is are was were be been am "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their not no so if than then too very can will would should could do does did have has "
    "had n't 's man men son come here over under after before once also more most some same "
    "one two name die ve ll re nt".split())
MAJOR_LANGUAGES = ("french", "german", "spanish", "italian", "portuguese", "dutch")
LATIN_LANGUAGES = ("french", "german", "spanish", "italian", "portuguese", "dutch", "catalan",
                   "czech", "danish", "finnish", "hungarian", "indonesian", "malaysian",
                   "norwegian", "polish", "romanian", "slovak", "swedish", "turkish",
                   "vietnamese")


class FunctionWords:
    """English function words and the foreign ones (loaded once, on first use).
    `common(word)`: whether `word` is a common English word (the lexicon decides)."""

    def __init__(self, common: Callable[[str], bool] = lambda _: False) -> None:
        self._common = common
        self._english: frozenset[str] | None = None
        self._foreign: frozenset[str] | None = None

    def _load(self) -> None:
        english = frozenset(w.lower() for w in get_stop_words("english"))
        major: dict[str, int] = {}
        listed: set[str] = set()
        for language in LATIN_LANGUAGES:
            words = {w.lower() for w in get_stop_words(language) if w.isalpha() and len(w) > 1}
            listed |= words
            if language in MAJOR_LANGUAGES:
                for word in words:
                    major[word] = major.get(word, 0) + 1
        self._english = english | ENGLISH_CORE
        self._foreign = frozenset(
            w for w in listed if w not in ENGLISH_CORE and (
                major.get(w, 0) >= 2 or (w not in english and not self._common(w))))

    @property
    def english(self) -> frozenset[str]:
        if self._english is None:
            self._load()
        assert self._english is not None
        return self._english

    @property
    def foreign(self) -> frozenset[str]:
        if self._foreign is None:
            self._load()
        assert self._foreign is not None
        return self._foreign

    def is_foreign(self, word: str) -> bool:
        return word.lower() in self.foreign

    def foreign_text(self, words: Iterable[str]) -> bool:
        """More signs of another language than English function words, and at least two.
        Signs: foreign function words, and words with accented Latin letters (`fährt`)."""
        return self.foreign_counts(Counter(words))

    def foreign_counts(self, counts: Mapping[str, int]) -> bool:
        """`foreign_text` from how often each word occurs."""
        lowered: Counter[str] = Counter()
        for word, times in counts.items():
            lowered[word.lower()] += times
        foreign_words, english_words = self.foreign, self.english
        foreign = english = 0
        for low, times in lowered.items():  # each distinct word once
            if low in foreign_words:
                foreign += times
            elif low in english_words:
                english += times
            elif not low.isascii() and _ACCENTED.fullmatch(low) is not None:
                foreign += times
        return foreign >= 2 and foreign >= english
