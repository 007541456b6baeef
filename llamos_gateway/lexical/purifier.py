"""`LexicalPurifier`: the deterministic, offline purifier and screening pass.

Order of work: characters first (`unicode`: deletion controls, bidi order, invisible
characters, Zalgo marks, compatibility forms); then the scope of every part of the text
(`spans`: code, markup, URLs, e-mails, paths, identifiers, hashtags, handles, numbers are
protected from word rules); spaced-out and punctuated words joined (`spacing`); per word
outside the protected spans: look-alike folding, leetspeak, repeated letters, stray and
random capitals, and context-ranked spelling repair of unknown lowercase English words;
finally junk at the end of the text. Clean text comes back byte for byte.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from llamos_gateway import __version__
from llamos_gateway.defense.protocol import ProtectedSpan, PurifyRequest, PurifyResult
from llamos_gateway.lexical import (
    casing,
    compounds,
    homoglyphs,
    junk,
    leetspeak,
    repeats,
    scripts,
    spacing,
)
from llamos_gateway.lexical.confusables import Confusables
from llamos_gateway.lexical.languages import ENGLISH_CORE, FunctionWords
from llamos_gateway.lexical.lexicon import FORMAT_VERSION, Lexicon
from llamos_gateway.lexical.rewrites import Change, Rewrites, coarsen
from llamos_gateway.lexical.screening import Signals, screen
from llamos_gateway.lexical.spans import Span, protected
from llamos_gateway.lexical.spelling import Assessment, Speller, SpellingModel
from llamos_gateway.lexical.tokens import Token, adjacent, tokenize, tokens_of, words_of
from llamos_gateway.lexical.unicode import normalise

# Bump when the rules change what comes out, so cached results of older rules are not reused.
RULES_VERSION = 3

# Spelling repair is skipped for text taken for another language or for code: more than
# this share of unknown words, or, from `_STOPWORD_MIN_WORDS` words on, less than
# `_STOPWORD_SHARE` English function words (every English sentence of that length has some).
_FOREIGN_SHARE = 0.5
_STOPWORD_MIN_WORDS = 5
_STOPWORD_SHARE = 0.1
_STOPWORDS = ENGLISH_CORE
_SPELLING_ROUNDS = 3
# A lowercase part of a compound is repaired from this length on (`docu-makers` stays).
_MIN_PART_REPAIR = 5
# Texts longer than this are purified in a worker thread, off the event loop; shorter ones
# take well under a millisecond, less than the hop to a thread would cost.
_INLINE_MAX_CHARS = 2000
_SHORT_FUNCTION_WORD = 3
_JOIN_ROUNDS = 3
# Long texts are looked at in windows of about this many characters (see `_windows`).
_WINDOW = 2000
# From this many word edits on, neighbouring edits of one rule are reported as one.
_COARSE_FROM = 64
_MIN_CAPITALISED = 5
# A word this frequent in the English counts is English, whatever other languages' lists say.
_COMMON_ENGLISH = 1_000_000
# At most this many unknown words of one text are weighed for spelling repair (the rest are
# left as they are), so that the time per text stays linear in its length.
_MAX_SPELLING = 2000
# Chat register: emoji, emoticons, doubled `!`/`?` (slang words count too, see `_informal`).
# Spelling there is the register, not an attack: spelling and case repair are off.
_INFORMAL = scripts.compile(r"\p{Extended_Pictographic}|[!?]{2}|(?<!\w)[:;=][-']?[()DPp/](?!\w)|<3")


# Plain ASCII words, and letters next to digits or leet symbols (those take the full path).
_PLAIN_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)*")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_LEET_CHAR = re.compile(r"[0-9@$|!+]")  # a one-class scan first: most texts have none
_LEETISH = re.compile(r"[A-Za-z][0-9@$|]|[0-9@$|!+][A-Za-z]|[A-Za-z][!+][A-Za-z]")


_ASCII_CAPITAL = re.compile(r"[A-Z]")
# The verdicts on words are remembered across texts, up to this many forms in all.
_MEMO_FORMS = 200_000
# Windows from this length on first try `_quick` (shorter ones go straight to `_words`).
_QUICK_FROM = 400


class _Memo:
    """What the word rules found for each distinct form (a pure function of the form and the
    lexicon), kept across windows and texts: a long text repeats its words, and so does
    traffic; each is looked at once."""

    __slots__ = ("folds", "random", "repairable", "foreign", "settled")

    def bounded(self) -> _Memo:
        """This memo, emptied first when it holds more than `_MEMO_FORMS` forms (each entry is
        a pure function of the form and the lexicon, so any entry may go at any time)."""
        if (sum(map(len, self.folds.values())) + len(self.random) + len(self.repairable)
                + len(self.foreign) + len(self.settled)) > _MEMO_FORMS:
            self.folds, self.random, self.repairable = {}, {}, {}
            self.foreign, self.settled = {}, {}
        return self

    def __init__(self) -> None:
        self.settled: dict[str, bool] = {}
        self.folds: dict[tuple[bool, bool], dict[str, tuple[str, str | None]]] = {}
        self.random: dict[str, bool] = {}
        self.repairable: dict[str, bool] = {}
        self.foreign: dict[str, bool] = {}


class _Word(NamedTuple):
    token: Token
    form: str
    rule: str | None


class LexicalPurifier:
    """Implements `Purifier`. Loads its lexicon once, in the constructor (cache on disk)."""

    name = "lexical"

    def __init__(self, *, screen_threshold: float = 0.5, lexicon: Lexicon | None = None,
                 cache_dir: Path | None = None, use_cache: bool = True,
                 spelling: SpellingModel | None = None,
                 confusables: Confusables | None = None,
                 function_words: FunctionWords | None = None) -> None:
        self._lexicon = lexicon or Lexicon(cache_dir=cache_dir, use_cache=use_cache)
        self._speller = Speller(self._lexicon, spelling)
        self._confusables = confusables or Confusables()
        self._function_words = function_words or FunctionWords(
            lambda word: self._lexicon.count(word) >= _COMMON_ENGLISH)
        self.screen_threshold = screen_threshold
        self._memo = _Memo()

    @property
    def cache_identity(self) -> str:
        """What decides the result besides the text (for `CachingPurifier` keys). The code's
        version and the lexicon format, not file times: replicas must share cache entries."""
        return (f"lexical|{__version__}|lexicon-v{FORMAT_VERSION}|rules-v{RULES_VERSION}"
                f"|threshold={self.screen_threshold}")

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        started = time.perf_counter()
        if len(request.text) > _INLINE_MAX_CHARS:
            result = await asyncio.to_thread(self.purify_text, request.text)
        else:
            result = self.purify_text(request.text)
        return result.with_timing(started)

    def purify_text(self, text: str) -> PurifyResult:
        norm = normalise(text)
        rewrites = norm.rewrites
        seen = self._confusables.skeleton(rewrites.text)
        spans = protected(seen)
        joined: list[Change] = []
        for _ in range(_JOIN_ROUNDS):  # a join can make another (`s t u p i d`f` -> ...)
            found = spacing.joins(rewrites.text, spans, self._lexicon.is_known,
                                  self._lexicon.is_target, seen)
            if not found:
                break
            joined.extend(found)
            rewrites = rewrites.apply(found)
            seen = self._confusables.skeleton(rewrites.text)
            spans = protected(seen)
        current = rewrites.text
        ending = junk.ending(current, self._lexicon.is_known, spans, seen)
        body = len(current) if ending is None else ending.start  # what the writer wrote
        changes, counts = self._word_changes(current, spans, body, seen)
        in_spans = self._lookalikes_in_spans(current, spans)
        counts["homoglyph"] = counts.get("homoglyph", 0) + len(in_spans)
        changes.extend(in_spans)
        if ending is not None:
            changes = [c for c in changes if c.end <= ending.start]
            changes.append(Change(ending.start, ending.end, ending.after, ending.rule))
        changes.sort(key=lambda c: c.start)
        final = rewrites.apply(coarsen(current, changes) if len(changes) > _COARSE_FROM else changes)
        skipped = _reported(rewrites, spans, final)
        signals = Signals(
            words=counts.get("words", 0),
            invisible=norm.invisible,
            deletion=norm.deletions,
            bidi=norm.reordered,
            zalgo=norm.zalgo,
            mixed_script=counts.get("homoglyph", 0) + norm.folded,
            leetspeak=counts.get("leetspeak", 0),
            repeats=counts.get("repeats", 0),
            spelling=counts.get("spelling", 0),
            case=counts.get("case", 0),
            spacing=sum(1 for c in joined),
            near_miss=counts.get("near_miss", 0),
            unknown=counts.get("unknown", 0),
            junk_suffix=ending is not None and ending.rule == "junk_suffix",
            handle=ending is not None and ending.rule == "junk_handle",
        )
        verdict = screen(signals)
        return PurifyResult(
            original=text, purified=final.text, backend=self.name, edits=final.edits,
            reasons=verdict.reasons, suspicious=verdict.score >= self.screen_threshold,
            score=verdict.score, protected=skipped,
        )

    def _word_changes(self, text: str, spans: list[Span], body: int,
                      seen: str) -> tuple[list[Change], dict[str, int]]:
        """Word rules over the text; a long text window by window (a paragraph or about
        `_WINDOW` characters), so that the windows of plain known words cost one scan."""
        changes: list[Change] = []
        counts: dict[str, int] = {}
        memo = self._memo.bounded()
        k = 0
        for start, end in _windows(text, spans):
            first = k
            while k < len(spans) and spans[k].end <= end:
                k += 1
            piece = text if (start, end) == (0, len(text)) else text[start:end]
            plain = self._plain(piece)
            if plain is not None:
                counts["words"] = counts.get("words", 0) + plain
                continue
            inside = ([Span(s.start - start, s.end - start, s.kind) for s in spans[first:k]]
                      if start or end < len(text) else spans)
            piece_seen = seen if piece is text else seen[start:end]
            quick = (self._quick(piece, inside, body - start, piece_seen, memo)
                     if end - start >= _QUICK_FROM else None)
            if quick is not None:
                edits, found = quick
                changes.extend(Change(a + start, b + start, form, rule) for a, b, form, rule in edits)
            else:
                words, found = self._words(piece, inside, body - start, piece_seen, memo)
                found["words"] = len(words)
                changes.extend(Change(w.token.start + start, w.token.end + start, w.form, w.rule)
                               for w in words if w.rule is not None)
            for key, value in found.items():
                counts[key] = counts.get(key, 0) + value
        return changes, counts

    def _lookalikes_in_spans(self, text: str, spans: list[Span]) -> list[Change]:
        """Look-alikes mixed into Latin words inside protected spans (`pаypal.com`)."""
        changes: list[Change] = []
        if text.isascii():
            return changes
        for span in spans:
            piece = text[span.start:span.end]
            if piece.isascii():
                continue
            for run in _LETTERS.finditer(piece):
                folded = homoglyphs.fold_mixed(run.group(), self._confusables,
                                               self._lexicon.is_known)
                if folded is not None and len(run.group()) >= 3:
                    start = span.start + run.start()
                    changes.append(Change(start, start + len(run.group()), folded, "homoglyph"))
        return changes

    def _plain(self, text: str) -> int | None:
        """The number of words when every word is a plain known word, else None."""
        if (not text.isascii() or _LEET_CHAR.search(text) is not None
                and _LEETISH.search(text) is not None
                or not text.islower() and _INNER_CAPITAL.search(text) is not None):
            return None
        found = _PLAIN_WORD.findall(text.lower())
        for word in set(found).difference(self._lexicon.words):
            if "-" not in word or not all(map(self._lexicon.is_known, word.split("-"))):
                return None
        return len(found)

    def _quick(self, text: str, spans: list[Span], body: int, seen: str,
               memo: _Memo) -> tuple[list[tuple[int, int, str, str]], dict[str, int]] | None:
        """The outcome of `_words` from each distinct word's own verdict, when no word needs
        its neighbours: no spelling candidate (or too many: a foreign text), no stray or
        random capital, no broken compound. None: the full path must decide."""
        latin = homoglyphs.latin_share(text, self._confusables, seen) >= 0.5
        texts = tokens_of(text, spans)
        times = Counter(texts)
        informal = self._informal_forms(text[:body], times)
        folded = memo.folds.setdefault((latin, informal), {})
        known = self._lexicon.is_known
        forms: Counter[str] = Counter()
        counts: dict[str, int] = {"words": len(texts)}
        changed: dict[str, tuple[str, str]] = {}
        misspelt = 0
        candidates: set[str] = set()
        for token, n in times.items():
            found = folded.get(token)
            if found is None:
                found = folded[token] = self._fold(token, latin, informal)
            form, rule = found
            forms[form] += n
            if rule is not None:
                changed[token] = (form, rule)
                counts[rule] = counts.get(rule, 0) + n
            elif not self._settled(form, memo):
                return None
            if rule in (None, "homoglyph") and self._repairable_form(form, memo):
                if not form.islower():
                    return None  # a capitalised word: a name decides (`_in_name`)
                misspelt += n
                candidates.add(token)
        if misspelt:
            if "'" in text or "’" in text or "(" in text:
                return None  # the characters before a word decide whether it is weighed
            foreign = self._short_foreign(set(forms), memo)
            if foreign:
                misspelt -= _foreign_phrases(text, spans, candidates, {
                    token for token in times if folded[token][0] in foreign}, times)
            if not (_foreign_counts(len(texts), misspelt, forms) or informal
                    or self._function_words.foreign_counts(forms)):
                return None  # spelling repair: the full path
            counts["unknown"] = misspelt
        edits = [(*m.span(), *changed[m.group()])
                 for m in words_of(text, spans) if m.group() in changed] if changed else []
        return edits, counts

    def _settled(self, form: str, memo: _Memo) -> bool:
        """A word left as it is whatever its neighbours: no random or stray capital, no
        capitalised unknown word, no broken compound."""
        found = memo.settled.get(form)
        if found is None:
            lexicon = self._lexicon
            known = lexicon.is_known
            found = memo.settled[form] = not (
                (not form[1:].islower() and casing.random_capitals(
                    form, known, lexicon.is_target, lexicon.cased))
                or casing.inner_capital(form) is not None
                or (casing.leading_capital(form) and not known(form.lower()))
                or ("-" in form and compounds.broken(form, known)))
        return found

    def _repairable_form(self, form: str, memo: _Memo) -> bool:
        found = memo.repairable.get(form)
        if found is None:
            known = self._lexicon.is_known
            found = memo.repairable[form] = (
                form.isascii() and form.isalpha() and (form.islower() or _capitalised(form))
                and not known(form) and not known(form.lower()) and not repeats.stretched(form))
        return found

    def _words(self, text: str, spans: list[Span], body: int | None = None,
               seen: str | None = None,
               memo: _Memo | None = None) -> tuple[list[_Word], dict[str, int]]:
        memo = memo or _Memo()
        latin = homoglyphs.latin_share(text, self._confusables, seen) >= 0.5
        tokens = tokenize(text, spans)
        informal = self._informal(text if body is None else text[:body], tokens)
        folded = memo.folds.setdefault((latin, informal), {})  # one look per distinct token
        words = []
        for token in tokens:
            found = folded.get(token.text)
            if found is None:
                found = folded[token.text] = self._fold(token.text, latin, informal)
            words.append(_Word(token, *found))
        self._capitals(text, words, {w.form for w in words}, memo)
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
        candidates = self._repairable(text, words, distinct, memo)
        short_foreign = self._short_foreign(distinct, memo) if candidates else set()
        unknown = sorted({i for i in candidates
                          if not (short_foreign and _foreign_phrase(text, words, i, short_foreign))
                          and not (_capitalised(words[i].form) and _in_name(text, words, i))}
                         | strays.keys())
        misspelt = sum(1 for i in unknown if i not in strays and words[i].form.islower())
        if (_foreign(words, misspelt)  # a stray capital or a name is no foreign word
                or informal or self._function_words.foreign_text(forms)):
            counts["unknown"] = len(unknown)
            return words, counts
        for i, spots in list(strays.items()):
            if not spots:  # `goOd`: lowercase, it is a known word
                words[i] = _Word(words[i].token, words[i].form.lower(), "case")
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

    def _short_foreign(self, distinct: set[str], memo: _Memo) -> set[str]:
        """The forms that are short function words of another language (`de`, `sua`)."""
        found = set()
        for form in distinct:
            foreign = memo.foreign.get(form)
            if foreign is None:
                foreign = memo.foreign[form] = (len(form) <= _SHORT_FUNCTION_WORD
                                                and self._function_words.is_foreign(form))
            if foreign:
                found.add(form)
        return found

    def _informal(self, text: str, tokens: list[Token]) -> bool:
        """Chat register: emoji, emoticons, `!!`, or a slang word that is no dictionary word
        (`lol`, `omg`; not `mood`, `wow`). A junk ending (`. :)`) is no sign of it."""
        return self._informal_forms(text, {t.text for t in tokens})

    def _informal_forms(self, text: str, tokens: Iterable[str]) -> bool:
        slang, dictionary = self._lexicon.slang, self._lexicon.in_dictionary
        return _INFORMAL.search(text) is not None or any(
            low in slang and len(low) > 1 and not dictionary(low)
            for low in {t.lower() for t in tokens})

    def _fold(self, form: str, latin: bool, informal: bool) -> tuple[str, str | None]:
        """The word with look-alikes, leetspeak and planted letter runs undone, and the rule."""
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

    def _capitals(self, text: str, words: list[_Word], distinct: set[str], memo: _Memo) -> None:
        """Random capitals undone: `mOvIe`, `TUesDAy` alone, `MoViE` when two words of the
        text are so."""
        lexicon = self._lexicon
        random = set()
        for form in distinct:
            if form[1:].islower():
                continue
            found = memo.random.get(form)
            if found is None:
                found = memo.random[form] = casing.random_capitals(
                    form, lexicon.is_known, lexicon.is_target, lexicon.cased)
            if found:
                random.add(form)
        found = [i for i, w in enumerate(words) if w.form in random and w.rule is None] if random else []
        if len(found) < 2:
            found = [i for i in found if casing.strewn(words[i].form, lexicon.is_known,
                                                       lexicon.targets.__contains__)]
        for i in found:  # the first letter is as it was written: planted capitals come later
            form = words[i].form
            words[i] = _Word(words[i].token, form[0] + form[1:].lower(), "case")

    def _repairable(self, text: str, words: list[_Word], distinct: set[str],
                    memo: _Memo) -> list[int]:
        """The words a spelling repair may look at: unknown plain ASCII words (lowercase or
        capitalised), not stretched (`sooo`), not after an apostrophe, not a bracketed
        initial's rest (`(W)hile`)."""
        known = self._lexicon.is_known
        unknown = {form for form in distinct if self._repairable_form(form, memo)}
        if not unknown:
            return []
        bracket = "(" in text
        # a folded look-alike word may still hold a slip: repair it now, not on a second pass
        return [i for i, w in enumerate(words)
                if w.form in unknown and w.rule in (None, "homoglyph")
                and not w.token.after_apostrophe
                and not (bracket and _bracketed_initial(text, w.token.start, w.form, known))]

    def _strays(self, text: str, words: list[_Word]) -> dict[int, list[str]]:
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

    def _compound(self, text: str, words: list[_Word], i: int, lower: bool) -> _Word | None:
        """A broken hyphenated word repaired whole, by moving a hyphen back, or in its one
        unknown part (see `compounds`); a stray capital in it only when `lower`."""
        token, form = words[i].token, words[i].form
        left, right = _neighbour(text, words, i, -1), _neighbour(text, words, i, 1)
        known = self._lexicon.is_known
        if form.islower():
            fix = self._speller.assess(form, left, right).fix
            if fix is not None:
                return _Word(token, fix.word, "spelling")
        moved = compounds.shifted(form, known)
        if moved is not None:
            return _Word(token, moved.lower() if form.islower() else moved, "spelling")
        part = compounds.unknown_part(form, known)
        if part is None:
            return None
        piece = form.split("-")[part.at]
        left = part.left if part.at else left
        right = part.right if part.right is not None else right
        at = casing.inner_capital(piece) if lower else None
        if at is not None and not casing.camel(piece, at, known, self._lexicon.targets.__contains__):
            new = (piece.lower() if known(piece.lower()) else
                   _fixed(self._speller.assess(piece.lower(), left, right,
                                               casing.edits(piece, at))))
            rule = "case+spelling"
        elif piece.islower() and len(piece) >= _MIN_PART_REPAIR:
            new, rule = _fixed(self._speller.assess(piece, left, right)), "spelling"
        else:
            return None
        return None if new is None else _Word(token, compounds.replace_part(form, part.at, new),
                                              rule)

    def _spell_round(self, text: str, words: list[_Word], unknown: list[int],
                     misses: dict[int, bool], fixed: set[int],
                     strays: dict[int, list[str]]) -> bool:
        changed = False
        for i in unknown:
            if i in fixed:
                continue
            left = _neighbour(text, words, i, -1)
            right = _neighbour(text, words, i, 1)
            spots = strays.get(i)
            capital = spots is None and _capitalised(words[i].form)
            form = words[i].form if spots is None and not capital else words[i].form.lower()
            verdict = self._speller.assess(form, left, right, spots, capital=capital)
            misses[i] = verdict.near_miss
            if verdict.fix is not None:
                rule = ("case+spelling" if spots is not None else "spelling"
                        if words[i].rule is None else f"{words[i].rule}+spelling")
                fix = verdict.fix.word
                words[i] = _Word(words[i].token, fix[:1].upper() + fix[1:] if capital else fix,
                                 rule)
                fixed.add(i)
                changed = True
        return changed


_BREAK = re.compile(r"\n|(?<=[.!?])\s")
_SPACE = re.compile(r"\s")


def _windows(text: str, spans: list[Span]) -> list[tuple[int, int]]:
    """Cut points of a long text: at a line break or after a sentence (else at a space),
    past every `_WINDOW` characters, never inside a protected span."""
    if len(text) <= _WINDOW:
        return [(0, len(text))]
    out: list[tuple[int, int]] = []
    start = 0
    k = 0
    while start < len(text):
        cut = (_BREAK.search(text, start + _WINDOW, start + 2 * _WINDOW)
               or _SPACE.search(text, start + _WINDOW))
        end = len(text) if cut is None else cut.end()
        while k < len(spans) and spans[k].end <= end:
            k += 1
        if k < len(spans) and spans[k].start < end:  # inside a span: cut after it
            end = spans[k].end
        out.append((start, end))
        start = end
    return out


def _foreign_phrase(text: str, words: list[_Word], i: int, foreign: set[str]) -> bool:
    """A short function word of another language, or a word next to one (`fleur de sel`,
    `sua sponte`). Longer ones (`habe`, `geen`) are as often slips of English words."""
    if words[i].form in foreign:
        return True
    return any(0 <= i + step < len(words) and words[i + step].form in foreign
               and _neighbour(text, words, i, step) is not None for step in (-1, 1))


def _capitalised(form: str) -> bool:
    """`Mascow`: a capital, then four lowercase letters or more (a slipped name or a slip at
    the start of a sentence)."""
    return len(form) >= _MIN_CAPITALISED and form[0].isupper() and form[1:].islower()


def _in_name(text: str, words: list[_Word], i: int) -> bool:
    """A capitalised neighbour: part of a longer name (`Agence France-Presse`)."""
    return any(0 <= i + step < len(words) and words[i + step].form[:1].isupper()
               and _neighbour(text, words, i, step) is not None for step in (-1, 1))


def _fixed(verdict: Assessment) -> str | None:
    return None if verdict.fix is None else verdict.fix.word


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


def _foreign_counts(total: int, unknown: int, forms: Counter[str]) -> bool:
    """`_foreign` from the counts of the forms."""
    if total >= 3 and unknown > _FOREIGN_SHARE * total:
        return True
    if total < _STOPWORD_MIN_WORDS:
        return False
    common = sum(n for form, n in forms.items() if form.lower() in _STOPWORDS)
    return common < _STOPWORD_SHARE * total


def _foreign(words: list[_Word], unknown: int) -> bool:
    if len(words) >= 3 and unknown > _FOREIGN_SHARE * len(words):
        return True
    if len(words) < _STOPWORD_MIN_WORDS:
        return False
    common = sum(map(_STOPWORDS.__contains__, map(str.lower, [w.form for w in words])))
    return common < _STOPWORD_SHARE * len(words)


def _neighbour(text: str, words: list[_Word], i: int, step: int) -> str | None:
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


def _like(original: str, plain: str) -> str:
    """`plain` with the capital first letter of `original`, if it had one."""
    return plain[:1].upper() + plain[1:] if original[:1].isupper() else plain


_LETTERS = scripts.compile(r"\p{L}+")
# A run of words in scripts other than Latin (punctuation, digits and spaces between them).
_OTHER_SCRIPT = scripts.compile(r"[^\P{L}\p{Latin}](?:[\p{L}\p{M}\p{N}\s,.;:!?'’·、。，！？：；-]*"
                                r"[^\P{L}\p{Latin}])?")


def _reported(rewrites: Rewrites, spans: list[Span], final: Rewrites) -> tuple[ProtectedSpan, ...]:
    """The protected spans, and runs of words in other scripts, in input coordinates."""
    found = [ProtectedSpan(*rewrites.source(s.start, s.end), s.kind) for s in spans]
    if not final.text.isascii():
        found.extend(ProtectedSpan(*final.source(*m.span()), "script")
                     for m in _OTHER_SCRIPT.finditer(final.text))
        found.sort(key=lambda p: (p.start, p.end))
    return tuple(found)
