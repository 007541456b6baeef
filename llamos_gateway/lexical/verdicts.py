"""Verdicts on single words, and the windows they decide alone.

Each verdict is a pure function of the word and the word lists: its look-alikes, leetspeak
and planted letter runs undone (`fold`), whether it may be a slip to weigh for repair
(`repairable`), whether it is settled whatever its neighbours (`settled`: no random or
stray capital, no broken compound), whether it is a short foreign function word. They are
remembered per distinct word (a bounded table), so a long text, or traffic, that repeats
its words looks at each once.

`Verdicts.window` decides a window of text from these verdicts alone when no word needs
its neighbours (no spelling candidate, or so many that the window is taken for another
language): the common case of long and hostile inputs, at the cost of one scan per word.
Otherwise `Context` weighs the words in their sentence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from llamos_gateway.lexical import casing, compounds, homoglyphs, leetspeak, repeats, scripts
from llamos_gateway.lexical.confusables import Confusables
from llamos_gateway.lexical.languages import ENGLISH_CORE, FunctionWords
from llamos_gateway.lexical.lexicon import Lexicon
from llamos_gateway.lexical.spans import Span
from llamos_gateway.lexical.tokens import tokens_of, words_of

_FOREIGN_SHARE = 0.5
_STOPWORD_MIN_WORDS = 5
_STOPWORD_SHARE = 0.1
_STOPWORDS = ENGLISH_CORE
_SHORT_FUNCTION_WORD = 3
_MIN_CAPITALISED = 5
# The verdicts on words are remembered across texts, up to this many forms in all.
_MEMO_FORMS = 200_000
# Chat register: emoji, emoticons, doubled `!`/`?` (slang words count too, see `informal`).
# Spelling there is the register, not an attack: spelling and case repair are off.
_INFORMAL = scripts.compile(r"\p{Extended_Pictographic}|[!?]{2}|(?<!\w)[:;=][-']?[()DPp/](?!\w)|<3")


class Memo:
    """What the word rules found for each distinct form (a pure function of the form and the
    lexicon), kept across windows and texts: a long text repeats its words, and so does
    traffic; each is looked at once."""

    __slots__ = ("folds", "random", "repairable", "foreign", "settled")

    def __init__(self) -> None:
        self.settled: dict[str, bool] = {}
        self.folds: dict[tuple[bool, bool], dict[str, tuple[str, str | None]]] = {}
        self.random: dict[str, bool] = {}
        self.repairable: dict[str, bool] = {}
        self.foreign: dict[str, bool] = {}

    def bounded(self) -> Memo:
        """This memo, or an empty one when it holds more than `_MEMO_FORMS` forms (each entry
        is a pure function of the form and the lexicon, so any entry may go at any time)."""
        size = (sum(map(len, self.folds.values())) + len(self.random) + len(self.repairable)
                + len(self.foreign) + len(self.settled))
        return Memo() if size > _MEMO_FORMS else self


class Verdicts:
    """Per-word verdicts, remembered (see the module doc)."""

    def __init__(self, lexicon: Lexicon, confusables: Confusables,
                 function_words: FunctionWords) -> None:
        self._lexicon = lexicon
        self._confusables = confusables
        self._function_words = function_words
        self._memo = Memo()

    def start(self) -> None:
        """Called once per text: keeps the table bounded."""
        self._memo = self._memo.bounded()

    def window(self, text: str, spans: list[Span], body: int,
               seen: str) -> tuple[list[tuple[int, int, str, str]], dict[str, int]] | None:
        """The outcome of `Context.words` from each distinct word's own verdict, when no word needs
        its neighbours: no spelling candidate (or too many: a foreign text), no stray or
        random capital, no broken compound. None: the full path must decide."""
        latin = homoglyphs.latin_share(text, self._confusables, seen) >= 0.5
        texts = tokens_of(text, spans)
        times = Counter(texts)
        informal = self.informal(text[:body], times)
        forms: Counter[str] = Counter()
        counts: dict[str, int] = {"words": len(texts)}
        changed: dict[str, tuple[str, str]] = {}
        misspelt = 0
        candidates: set[str] = set()
        for token, n in times.items():
            form, rule = self.fold(token, latin, informal)
            forms[form] += n
            if rule is not None:
                changed[token] = (form, rule)
                counts[rule] = counts.get(rule, 0) + n
            elif not self.settled(form):
                return None
            if rule in (None, "homoglyph") and self.repairable(form):
                if not form.islower():
                    return None  # a capitalised word: a name decides (`Context`)
                misspelt += n
                candidates.add(token)
        if misspelt:
            if "'" in text or "’" in text or "(" in text:
                return None  # the characters before a word decide whether it is weighed
            foreign = self.short_foreign(set(forms))
            if foreign:
                misspelt -= _foreign_phrases(text, spans, candidates, {
                    token for token in times if self.fold(token, latin, informal)[0] in foreign},
                    times)
            if not (foreign_share(len(texts), misspelt, forms) or informal
                    or self._function_words.foreign_counts(forms)):
                return None  # spelling repair: the full path
            counts["unknown"] = misspelt
        edits = [(*m.span(), *changed[m.group()])
                 for m in words_of(text, spans) if m.group() in changed] if changed else []
        return edits, counts

    def settled(self, form: str) -> bool:
        """A word left as it is whatever its neighbours: no random or stray capital, no
        capitalised unknown word, no broken compound."""
        found = self._memo.settled.get(form)
        if found is None:
            lexicon = self._lexicon
            known = lexicon.is_known
            found = self._memo.settled[form] = not (
                (not form[1:].islower() and self.random_capitals(form))
                or casing.inner_capital(form) is not None
                or (casing.leading_capital(form) and not known(form.lower()))
                or ("-" in form and compounds.broken(form, known)))
        return found

    def repairable(self, form: str) -> bool:
        """An unknown plain ASCII word (lowercase or capitalised), not stretched (`sooo`)."""
        found = self._memo.repairable.get(form)
        if found is None:
            known = self._lexicon.is_known
            found = self._memo.repairable[form] = (
                form.isascii() and form.isalpha() and (form.islower() or capitalised(form))
                and not known(form) and not known(form.lower()) and not repeats.stretched(form))
        return found

    def short_foreign(self, distinct: set[str]) -> set[str]:
        """The forms that are short function words of another language (`de`, `sua`)."""
        found = set()
        for form in distinct:
            foreign = self._memo.foreign.get(form)
            if foreign is None:
                foreign = self._memo.foreign[form] = (len(form) <= _SHORT_FUNCTION_WORD
                                                and self._function_words.is_foreign(form))
            if foreign:
                found.add(form)
        return found

    def informal(self, text: str, tokens: Iterable[str]) -> bool:
        """Chat register: emoji, emoticons, `!!`, or a slang word that is no dictionary word
        (`lol`, `omg`; not `mood`, `wow`). A junk ending (`. :)`) is no sign of it."""
        slang, dictionary = self._lexicon.slang, self._lexicon.in_dictionary
        return _INFORMAL.search(text) is not None or any(
            low in slang and len(low) > 1 and not dictionary(low)
            for low in {t.lower() for t in tokens})

    def fold(self, form: str, latin: bool, informal: bool) -> tuple[str, str | None]:
        """The word with look-alikes, leetspeak and planted letter runs undone, and the rule."""
        folded: dict[str, tuple[str, str | None]] = self._memo.folds.setdefault(
            (latin, informal), {})
        found = folded.get(form)
        if found is None:
            found = folded[form] = self._fold(form, latin, informal)
        return found

    def _fold(self, form: str, latin: bool, informal: bool) -> tuple[str, str | None]:
        rule = None
        known = self._lexicon.is_known
        if form.isascii() and form.isalpha() and (form.islower() or form[1:].islower()) and (
                len(form) < 3 or known(form.lower())):
            return form, None  # the common case: a plain known word
        folded = homoglyphs.fold(form, latin, known, self._confusables, self._lexicon.count)
        if folded is not None:
            form, rule = folded, "homoglyph"
        if not form.isalpha() and not known(form.lower()):
            plain = leetspeak.unleet(form, self._lexicon.count, known)
            if plain is not None:
                form, rule = _like(form, plain), rule or "leetspeak"
        if (repeats.has_run(form) and not known(form.lower())
                and not (informal and repeats.expressive(form))):
            shorter = repeats.collapse(form, self._lexicon.count, known)
            if shorter is not None:
                form, rule = shorter, rule or "repeats"
        return form, rule

    def random_capitals(self, form: str) -> bool:
        """`mOvIe`, `TUesDAy`: capitals strewn in a word (see `casing.random_capitals`)."""
        found = self._memo.random.get(form)
        if found is None:
            lexicon = self._lexicon
            found = self._memo.random[form] = casing.random_capitals(
                form, lexicon.is_known, lexicon.is_target, lexicon.cased)
        return found


def _like(original: str, plain: str) -> str:
    """`plain` with the capital first letter of `original`, if it had one."""
    return plain[:1].upper() + plain[1:] if original[:1].isupper() else plain


def capitalised(form: str) -> bool:
    """`Mascow`: a capital, then four lowercase letters or more (a slipped name or a slip at
    the start of a sentence)."""
    return len(form) >= _MIN_CAPITALISED and form[0].isupper() and form[1:].islower()


def _foreign_phrases(text: str, spans: list[Span], candidates: set[str], foreign: set[str],
                     times: Counter[str]) -> int:
    """How many occurrences of `candidates` `_foreign_phrase` takes out: those that are short
    foreign function words, and those next to one (only spaces between)."""
    out = sum(times[token] for token in candidates & foreign)
    matches = list(words_of(text, spans))
    groups = [m.group() for m in matches]
    taken: set[int] = set()
    for j, group in enumerate(groups):
        if group not in foreign:
            continue
        for k in (j - 1, j + 1):
            if (0 <= k < len(groups) and k not in taken and groups[k] in candidates
                    and groups[k] not in foreign
                    and text[matches[min(j, k)].end():matches[max(j, k)].start()].isspace()):
                taken.add(k)
    return out + len(taken)


def foreign_share(total: int, unknown: int, forms: Counter[str]) -> bool:
    """Text taken for another language or for code: more than `_FOREIGN_SHARE` of its words
    unknown, or, from `_STOPWORD_MIN_WORDS` words on, less than `_STOPWORD_SHARE` English
    function words (every English sentence of that length has some). `forms`: how often
    each word occurs."""
    if total >= 3 and unknown > _FOREIGN_SHARE * total:
        return True
    if total < _STOPWORD_MIN_WORDS:
        return False
    common = sum(n for form, n in forms.items() if form.lower() in _STOPWORDS)
    return common < _STOPWORD_SHARE * total
