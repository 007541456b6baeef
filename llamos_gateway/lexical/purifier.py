"""`LexicalPurifier`: the deterministic, offline purifier and screening pass.

Order of work: invisible/bidi characters out and NFKC (character level); then per word:
homoglyph folding, leetspeak folding, repeated-letter runs, stray capitals planted in
lowercase words, and context-ranked spelling repair of unknown lowercase words; finally
junk at the end of the text (random handles, emoticons, stray punctuation). Clean text
comes back byte for byte.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from llamos_gateway import __version__
from llamos_gateway.defense.protocol import Edit, PurifyRequest, PurifyResult
from llamos_gateway.lexical import casing, compounds, homoglyphs, junk, leetspeak, repeats
from llamos_gateway.lexical.lexicon import FORMAT_VERSION, Lexicon
from llamos_gateway.lexical.screening import Signals, screen
from llamos_gateway.lexical.spelling import Assessment, Speller, SpellingModel
from llamos_gateway.lexical.tokens import Token, adjacent, tokenize
from llamos_gateway.lexical.unicode import Normalised, normalise

# Bump when the rules change what comes out, so cached results of older rules are not reused.
RULES_VERSION = 2

# Spelling repair is skipped for text taken for another language or for code: more than
# this share of unknown words, or, from `_STOPWORD_MIN_WORDS` words on, less than
# `_STOPWORD_SHARE` English function words (every English sentence of that length has some).
_FOREIGN_SHARE = 0.5
_STOPWORD_MIN_WORDS = 5
_STOPWORD_SHARE = 0.1
_STOPWORDS = frozenset(
    "a an the and or but nor of to in on at by for with from as is are was were be been am "
    "it its this that these those i you he she we they me him her us them my your his our "
    "their not no so if than then too very can will would should could do does did have has "
    "had n't 's".split())
_SPELLING_ROUNDS = 3
# A lowercase part of a compound is repaired from this length on (`docu-makers` stays).
_MIN_PART_REPAIR = 5
# Texts longer than this are purified in a worker thread, off the event loop; shorter ones
# take well under a millisecond, less than the hop to a thread would cost.
_INLINE_MAX_CHARS = 2000


# Plain ASCII words, and letters next to digits or leet symbols (those take the full path).
_PLAIN_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)*")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_LEETISH = re.compile(r"[A-Za-z][0-9@$|]|[0-9@$|!+][A-Za-z]|[A-Za-z][!+][A-Za-z]")


class _Word(NamedTuple):
    token: Token
    form: str
    rule: str | None


class LexicalPurifier:
    """Implements `Purifier`. Loads its lexicon once, in the constructor (cache on disk)."""

    name = "lexical"

    def __init__(self, *, screen_threshold: float = 0.5, lexicon: Lexicon | None = None,
                 cache_dir: Path | None = None, use_cache: bool = True,
                 spelling: SpellingModel | None = None) -> None:
        self._lexicon = lexicon or Lexicon(cache_dir=cache_dir, use_cache=use_cache)
        self._speller = Speller(self._lexicon, spelling)
        self.screen_threshold = screen_threshold

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
        plain = self._plain(norm.text)
        words, counts = ([], {}) if plain is not None else self._words(norm.text)
        cuts = [junk.Cut(w.token.start, w.token.end, w.form, w.rule)
                for w in words if w.rule is not None]
        ending = junk.ending(norm.text, self._lexicon.is_known)
        if ending is not None:
            cuts.append(ending)
        purified = _apply(norm.text, cuts)
        edits = _edits(text, norm, cuts)
        signals = Signals(
            words=len(words) if plain is None else plain,
            invisible=norm.invisible,
            mixed_script=counts.get("homoglyph", 0) + _folded_letters(norm),
            leetspeak=counts.get("leetspeak", 0),
            repeats=counts.get("repeats", 0),
            spelling=counts.get("spelling", 0),
            case=counts.get("case", 0),
            near_miss=counts.get("near_miss", 0),
            unknown=counts.get("unknown", 0),
            junk_suffix=ending is not None and ending.rule == "junk_suffix",
            handle=ending is not None and ending.rule == "junk_handle",
        )
        verdict = screen(signals)
        return PurifyResult(
            original=text, purified=purified, backend=self.name, edits=edits,
            reasons=verdict.reasons, suspicious=verdict.score >= self.screen_threshold,
            score=verdict.score,
        )

    def _plain(self, text: str) -> int | None:
        """The number of words when every word is a plain known word, else None."""
        if (not text.isascii() or _LEETISH.search(text) is not None
                or not text.islower() and _INNER_CAPITAL.search(text) is not None):
            return None
        found = _PLAIN_WORD.findall(text.lower())
        for word in set(found).difference(self._lexicon.words):
            if "-" not in word or not all(map(self._lexicon.is_known, word.split("-"))):
                return None
        return len(found)

    def _words(self, text: str) -> tuple[list[_Word], dict[str, int]]:
        latin = homoglyphs.latin_share(text) >= 0.5
        words = [self._fold(token, latin) for token in tokenize(text)]
        counts: dict[str, int] = {}
        for word in words:
            if word.rule is not None:
                counts[word.rule] = counts.get(word.rule, 0) + 1
        lower = not text.islower() and casing.mostly_lowercase([w.form for w in words])
        strays = self._strays(text, words) if lower else {}
        unknown = sorted({i for i, w in enumerate(words) if self._repairable(w, text)}
                         | strays.keys())
        if _foreign(words, len(unknown) - len(strays)):  # a stray capital is no foreign word
            counts["unknown"] = len(unknown)
            return words, counts
        for i, spots in list(strays.items()):
            if not spots:  # `goOd`: lowercase, it is a known word
                words[i] = _Word(words[i].token, words[i].form.lower(), "case")
                del strays[i]
                unknown.remove(i)
                counts["case"] = counts.get("case", 0) + 1
        for i, word in enumerate(words):
            if ("-" in word.form and word.rule is None
                    and compounds.broken(word.form, self._lexicon.is_known)):
                repaired = self._compound(text, words, i, lower)
                if repaired is not None and repaired.rule is not None:
                    words[i] = repaired
                    counts[repaired.rule] = counts.get(repaired.rule, 0) + 1
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

    def _fold(self, token: Token, latin: bool) -> _Word:
        form, rule = token.text, None
        known = self._lexicon.is_known
        if form.isalpha() and form.isascii() and (len(form) < 3 or known(form.lower())):
            return _Word(token, form, None)  # the common case: a plain known word
        folded = homoglyphs.fold(form, latin, known)
        if folded is not None:
            form, rule = folded, "homoglyph"
        if not form.isalpha() and not known(form.lower()):
            plain = leetspeak.unleet(form, self._lexicon.count, known)
            if plain is not None:
                form, rule = _like(form, plain), rule or "leetspeak"
        if repeats.has_run(form) and not known(form.lower()):
            shorter = repeats.collapse(form, self._lexicon.count, known)
            if shorter is not None:
                form, rule = shorter, rule or "repeats"
        return _Word(token, form, rule)

    def _repairable(self, word: _Word, text: str) -> bool:
        form = word.form
        known = self._lexicon.is_known
        # a folded look-alike word may still hold a slip: repair it now, not on a second pass
        return (word.rule in (None, "homoglyph") and not word.token.after_apostrophe
                and form.isascii()
                and form.isalpha() and form.islower() and not known(form)
                and not _bracketed_initial(text, word.token.start, form, known))

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
            form = words[i].form if spots is None else words[i].form.lower()
            verdict = self._speller.assess(form, left, right, spots)
            misses[i] = verdict.near_miss
            if verdict.fix is not None:
                rule = ("case+spelling" if spots is not None else "spelling"
                        if words[i].rule is None else f"{words[i].rule}+spelling")
                words[i] = _Word(words[i].token, verdict.fix.word, rule)
                fixed.add(i)
                changed = True
        return changed


def _fixed(verdict: Assessment) -> str | None:
    return None if verdict.fix is None else verdict.fix.word


def _foreign(words: list[_Word], unknown: int) -> bool:
    if len(words) >= 3 and unknown > _FOREIGN_SHARE * len(words):
        return True
    if len(words) < _STOPWORD_MIN_WORDS:
        return False
    common = sum(w.form.lower() in _STOPWORDS for w in words)
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


def _folded_letters(norm: Normalised) -> int:
    return sum(1 for e in norm.edits if e.rule == "nfkc" and any(c.isalnum() for c in e.after))


def _apply(text: str, cuts: list[junk.Cut]) -> str:
    out, last = [], 0
    for cut in sorted(cuts, key=lambda c: c.start):
        out.append(text[last:cut.start])
        out.append(cut.after)
        last = cut.end
    out.append(text[last:])
    return "".join(out)


def _edits(original: str, norm: Normalised, cuts: list[junk.Cut]) -> tuple[Edit, ...]:
    """Word and ending cuts in input coordinates; character edits inside them are merged."""
    edits: list[Edit] = []
    absorbed: set[int] = set()
    for cut in cuts:
        start, end = norm.span(cut.start, cut.end)
        inner = [k for k, e in enumerate(norm.edits) if start <= e.start and e.end <= end]
        absorbed.update(inner)
        rules = [norm.edits[k].rule for k in inner] + [cut.rule]
        rule = "+".join(dict.fromkeys(rules))
        edits.append(Edit(start, end, original[start:end], cut.after, rule))
    edits.extend(e for k, e in enumerate(norm.edits) if k not in absorbed)
    return tuple(sorted(edits, key=lambda e: (e.start, e.end)))
