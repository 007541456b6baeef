"""Function words of other languages written in Latin letters (the `stop-words` lists).

English spelling rules must not touch French, German, Spanish or Vietnamese text, nor the
foreign phrases inside English text (`fleur de sel`, `sua sponte`). A word counts as a
foreign function word when the stop-word list of some Latin-script language has it, it is
no core English word (`a`, `was`, `man`, `come`), and the English list does not have it
either, unless two foreign lists do (the English list holds `de`, `la`, `que`). The one
module that imports `stop_words`.
"""

from __future__ import annotations

from collections.abc import Iterable

from stop_words import get_stop_words

# English function words and the frequent English words that other languages' lists hold.
ENGLISH_CORE = frozenset(
    "a an the and or but nor of to in on at by for with from as is are was were be been am "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their not no so if than then too very can will would should could do does did have has "
    "had n't 's man men son come here over under after before once also more most some same "
    "one two name die".split())
LATIN_LANGUAGES = ("french", "german", "spanish", "italian", "portuguese", "dutch", "catalan",
                   "czech", "danish", "finnish", "hungarian", "indonesian", "malaysian",
                   "norwegian", "polish", "romanian", "slovak", "swedish", "turkish",
                   "vietnamese")


class FunctionWords:
    """English function words and the foreign ones (loaded once, on first use)."""

    def __init__(self) -> None:
        self._english: frozenset[str] | None = None
        self._foreign: frozenset[str] | None = None

    def _load(self) -> None:
        english = frozenset(w.lower() for w in get_stop_words("english"))
        lists: dict[str, int] = {}
        for language in LATIN_LANGUAGES:
            for word in {w.lower() for w in get_stop_words(language) if w.isalpha() and len(w) > 1}:
                lists[word] = lists.get(word, 0) + 1
        self._english = english | ENGLISH_CORE
        self._foreign = frozenset(w for w, n in lists.items() if w not in ENGLISH_CORE
                                  and (w not in english or n >= 2))

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
        """More foreign function words than English ones, and at least two."""
        foreign = english = 0
        for word in words:
            low = word.lower()
            if low in self.foreign:
                foreign += 1
            elif low in self.english:
                english += 1
        return foreign >= 2 and foreign >= english
