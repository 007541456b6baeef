"""Words weighed in their sentence: random and stray capitals, broken compounds, and the
context-ranked spelling repair of unknown lowercase (and capitalised) English words.

`Verdicts` gives each word's own verdict (look-alikes, leetspeak, letter runs folded); here
the neighbours decide: a bigram context for the speller, names (a capitalised neighbour),
short foreign function words and their neighbours (`fleur de sel`), bracketed initials
(`(W)hile`), and whether the text is in chat register or another language, where spelling
is left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

from llamos_gateway.lexical import casing, compounds, homoglyphs
from llamos_gateway.lexical.confusables import Confusables
from llamos_gateway.lexical.languages import FunctionWords
from llamos_gateway.lexical.lexicon import Lexicon
from llamos_gateway.lexical.spans import Span
from llamos_gateway.lexical.spelling import Assessment, Speller
from llamos_gateway.lexical.tokens import Token, adjacent, tokenize
from llamos_gateway.lexical.verdicts import Verdicts, capitalised, foreign_share

_SPELLING_ROUNDS = 3
# A lowercase part of a compound is repaired from this length on (`docu-makers` stays).
_MIN_PART_REPAIR = 5
# At most this many unknown words of one text are weighed for spelling repair (the rest are
# left as they are), so that the time per text stays linear in its length.
_MAX_SPELLING = 2000
_ASCII_CAPITAL = re.compile(r"[A-Z]")


class Word(NamedTuple):
    token: Token
    form: str
    rule: str | None


class Context:
    """The word rules that look at a word's neighbours (see the module doc)."""

    def __init__(self, lexicon: Lexicon, speller: Speller, confusables: Confusables,
                 function_words: FunctionWords, verdicts: Verdicts) -> None:
        self._lexicon = lexicon
        self._speller = speller
        self._confusables = confusables
        self._function_words = function_words
        self._verdicts = verdicts

    def words(self, text: str, spans: list[Span], body: int | None = None,
              seen: str | None = None) -> tuple[list[Word], dict[str, int]]:
        """Every word of `text` outside `spans`, as repaired, and what the rules counted."""
        latin = homoglyphs.latin_share(text, self._confusables, seen) >= 0.5
        tokens = tokenize(text, spans)
        informal = self._verdicts.informal(text if body is None else text[:body],
                                           {t.text for t in tokens})
        words = []
        for token in tokens:
            words.append(Word(token, *self._verdicts.fold(token.text, latin, informal)))
        self._capitals(text, words, {w.form for w in words})
        forms = [w.form for w in words]
        distinct = set(forms)
        counts: dict[str, int] = {}
        for word in words:
            if word.rule is not None:
                counts[word.rule] = counts.get(word.rule, 0) + 1
        joined = "".join(forms)
        lower = (not text.islower() and _ASCII_CAPITAL.search(joined) is not None
                 and casing.mostly_lowercase(forms, joined))
        strays = self._strays(text, words) if lower else {}
        candidates = self._repairable(text, words, distinct)
        short_foreign = self._verdicts.short_foreign(distinct) if candidates else set()
        unknown = sorted({i for i in candidates
                          if not (short_foreign and _foreign_phrase(text, words, i, short_foreign))
                          and not (capitalised(words[i].form) and _in_name(text, words, i))}
                         | strays.keys())
        misspelt = sum(1 for i in unknown if i not in strays and words[i].form.islower())
        # a stray capital or a name is no foreign word
        if (foreign_share(len(words), misspelt, Counter(forms))
                or informal or self._function_words.foreign_text(forms)):
            counts["unknown"] = len(unknown)
            return words, counts
        for i, spots in list(strays.items()):
            if not spots:  # `goOd`: lowercase, it is a known word
                words[i] = Word(words[i].token, words[i].form.lower(), "case")
                del strays[i]
                unknown.remove(i)
                counts["case"] = counts.get("case", 0) + 1
        for i, word in enumerate(words if any("-" in form for form in distinct) else ()):
            if ("-" in word.form and word.rule is None
                    and compounds.broken(word.form, self._lexicon.is_known)):
                repaired = self._compound(text, words, i, lower)
                if repaired is not None and repaired.rule is not None:
                    words[i] = repaired
                    counts[repaired.rule] = counts.get(repaired.rule, 0) + 1
        if len(unknown) > _MAX_SPELLING:
            unknown = unknown[:_MAX_SPELLING]
        misses: dict[int, bool] = {}
        fixed: set[int] = set()
        for _ in range(_SPELLING_ROUNDS):
            if not self._spell_round(text, words, unknown, misses, fixed, strays):
                break
        left = [i for i in unknown if i not in fixed]
        counts["case"] = (counts.get("case", 0) + counts.pop("case+spelling", 0)
                          + len(fixed & strays.keys()))
        counts["spelling"] = counts.get("spelling", 0) + len(fixed - strays.keys())
        counts["near_miss"] = sum(misses.get(i, False) for i in left)
        counts["unknown"] = len(left)
        return words, counts

    def _capitals(self, text: str, words: list[Word], distinct: set[str]) -> None:
        """Random capitals undone: `mOvIe`, `TUesDAy` alone, `MoViE` when two words of the
        text are so."""
        lexicon = self._lexicon
        random = set()
        for form in distinct:
            if form[1:].islower():
                continue
            if self._verdicts.random_capitals(form):
                random.add(form)
        found = ([i for i, w in enumerate(words) if w.form in random and w.rule is None]
                 if random else [])
        if len(found) < 2:
            found = [i for i in found if casing.strewn(words[i].form, lexicon.is_known,
                                                       lexicon.targets.__contains__)]
        for i in found:  # the first letter is as it was written: planted capitals come later
            form = words[i].form
            words[i] = Word(words[i].token, form[0] + form[1:].lower(), "case")

    def _repairable(self, text: str, words: list[Word], distinct: set[str]) -> list[int]:
        """The words a spelling repair may look at: unknown plain ASCII words (lowercase or
        capitalised), not stretched (`sooo`), not after an apostrophe, not a bracketed
        initial's rest (`(W)hile`)."""
        known = self._lexicon.is_known
        unknown = {form for form in distinct if self._verdicts.repairable(form)}
        if not unknown:
            return []
        bracket = "(" in text
        # a folded look-alike word may still hold a slip: repair it now, not on a second pass
        return [i for i, w in enumerate(words)
                if w.form in unknown and w.rule in (None, "homoglyph")
                and not w.token.after_apostrophe
                and not (bracket and _bracketed_initial(text, w.token.start, w.form, known))]

    def _strays(self, text: str, words: list[Word]) -> dict[int, list[str]]:
        """Words with a stray capital (`lNacks`, `Kbleak`) in mostly lowercase text (counted
        as folded: `7H3` has no capital): the edits at the capital to weigh, or none when
        the lowercase word is known (`goOd`)."""
        known = self._lexicon.is_known
        found: dict[int, list[str]] = {}
        for i, word in enumerate(words):
            at = casing.inner_capital(word.form) if word.rule is None else None
            if at is None or casing.camel(word.form, at, known,
                                          self._lexicon.targets.__contains__):
                continue
            found[i] = [] if known(word.form.lower()) else casing.edits(word.form, at)
        leading = [i for i, w in enumerate(words) if w.rule is None and i > 0
                   and casing.leading_capital(w.form) and not known(w.form.lower())
                   and not casing.after_terminator(text, w.token.start)]
        if leading and casing.lowercase_style(
                [w.form for w in words],
                [i == 0 or casing.after_terminator(text, w.token.start)
                 for i, w in enumerate(words)], known):
            found.update((i, casing.edits(words[i].form, 0)) for i in leading)
        return found

    def _compound(self, text: str, words: list[Word], i: int, lower: bool) -> Word | None:
        """A broken hyphenated word repaired whole, by moving a hyphen back, or in its one
        unknown part (see `compounds`); a stray capital in it only when `lower`."""
        token, form = words[i].token, words[i].form
        left, right = _neighbour(text, words, i, -1), _neighbour(text, words, i, 1)
        known = self._lexicon.is_known
        if form.islower():
            fix = self._speller.assess(form, left, right).fix
            if fix is not None:
                return Word(token, fix.word, "spelling")
        moved = compounds.shifted(form, known)
        if moved is not None:
            return Word(token, moved.lower() if form.islower() else moved, "spelling")
        part = compounds.unknown_part(form, known)
        if part is None:
            return None
        piece = form.split("-")[part.at]
        left = part.left if part.at else left
        right = part.right if part.right is not None else right
        at = casing.inner_capital(piece) if lower else None
        if at is not None and not casing.camel(piece, at, known,
                                               self._lexicon.targets.__contains__):
            new = (piece.lower() if known(piece.lower()) else
                   _fixed(self._speller.assess(piece.lower(), left, right,
                                               casing.edits(piece, at))))
            rule = "case+spelling"
        elif piece.islower() and len(piece) >= _MIN_PART_REPAIR:
            new, rule = _fixed(self._speller.assess(piece, left, right)), "spelling"
        else:
            return None
        return None if new is None else Word(token, compounds.replace_part(form, part.at, new),
                                              rule)

    def _spell_round(self, text: str, words: list[Word], unknown: list[int],
                     misses: dict[int, bool], fixed: set[int],
                     strays: dict[int, list[str]]) -> bool:
        changed = False
        for i in unknown:
            if i in fixed:
                continue
            left = _neighbour(text, words, i, -1)
            right = _neighbour(text, words, i, 1)
            spots = strays.get(i)
            capital = spots is None and capitalised(words[i].form)
            form = words[i].form if spots is None and not capital else words[i].form.lower()
            verdict = self._speller.assess(form, left, right, spots, capital=capital,
                                           names=not _beside_names(text, words, i,
                                                                  self._lexicon.is_name))
            misses[i] = verdict.near_miss
            if verdict.fix is not None:
                rule = ("case+spelling" if spots is not None else "spelling"
                        if words[i].rule is None else f"{words[i].rule}+spelling")
                fix = verdict.fix.word
                words[i] = Word(words[i].token, fix[:1].upper() + fix[1:] if capital else fix,
                                 rule)
                fixed.add(i)
                changed = True
        return changed


def _beside_names(text: str, words: list[Word], i: int, is_name: Callable[[str], bool]) -> bool:
    """A lowercase word in text that uses capitals, whose neighbouring names are written with
    a capital: it is no part of them (`government inestigates Sony`)."""
    if not words[i].form.islower() or text.islower():
        return False
    return all(words[j].form[:1].isupper() for j in (i - 1, i + 1)
               if 0 <= j < len(words) and _neighbour(text, words, i, j - i) is not None
               and is_name(words[j].form.lower()))


def _foreign_phrase(text: str, words: list[Word], i: int, foreign: set[str]) -> bool:
    """A short function word of another language, or a word next to one (`fleur de sel`,
    `sua sponte`). Longer ones (`habe`, `geen`) are as often slips of English words."""
    if words[i].form in foreign:
        return True
    return any(0 <= i + step < len(words) and words[i + step].form in foreign
               and _neighbour(text, words, i, step) is not None for step in (-1, 1))


def _in_name(text: str, words: list[Word], i: int) -> bool:
    """A capitalised neighbour: part of a longer name (`Agence France-Presse`)."""
    return any(0 <= i + step < len(words) and words[i + step].form[:1].isupper()
               and _neighbour(text, words, i, step) is not None for step in (-1, 1))


def _fixed(verdict: Assessment) -> str | None:
    return None if verdict.fix is None else verdict.fix.word


def _neighbour(text: str, words: list[Word], i: int, step: int) -> str | None:
    j = i + step
    if not 0 <= j < len(words):
        return None
    a, b = (words[j].token, words[i].token) if step < 0 else (words[i].token, words[j].token)
    return words[j].form.lower() if adjacent(text, a, b) else None


_INITIAL = re.compile(r"\(\s*([A-Za-z])\s*\)\s*$")


def _bracketed_initial(text: str, start: int, form: str, known: Callable[[str], bool]) -> bool:
    """`(W)hile`, `( d ) oes`: a bracketed first letter, a typographic convention."""
    match = _INITIAL.search(text, max(0, start - 8), start)
    return match is not None and known(match.group(1).lower() + form)
