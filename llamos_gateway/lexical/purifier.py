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
from pathlib import Path

from llamos_gateway import __version__
from llamos_gateway.defense.protocol import ProtectedSpan, PurifyRequest, PurifyResult
from llamos_gateway.lexical import homoglyphs, junk, scripts, spacing
from llamos_gateway.lexical.confusables import Confusables
from llamos_gateway.lexical.context import Context
from llamos_gateway.lexical.languages import FunctionWords
from llamos_gateway.lexical.lexicon import FORMAT_VERSION, Lexicon
from llamos_gateway.lexical.rewrites import Change, Rewrites, coarsen
from llamos_gateway.lexical.screening import Signals, screen
from llamos_gateway.lexical.spans import Span, protected
from llamos_gateway.lexical.spelling import Speller, SpellingModel
from llamos_gateway.lexical.unicode import normalise
from llamos_gateway.lexical.verdicts import Verdicts
from llamos_gateway.lexical.windows import windows

# Bump when the rules change what comes out, so cached results of older rules are not reused.
RULES_VERSION = 4

# Texts longer than this are purified in a worker thread, off the event loop; shorter ones
# take well under a millisecond, less than the hop to a thread would cost.
_INLINE_MAX_CHARS = 2000
_JOIN_ROUNDS = 3
# From this many word edits on, neighbouring edits of one rule are reported as one.
_COARSE_FROM = 64
# A word this frequent in the English counts is English, whatever other languages' lists say.
_COMMON_ENGLISH = 1_000_000
# Windows from this length on are first decided by `Verdicts.window` (shorter ones go
# straight to `Context.words`, which costs less than a try that fails).
_QUICK_FROM = 400
# Plain ASCII words, and letters next to digits or leet symbols (those take the full path).
_PLAIN_WORD = re.compile(r"[a-z]+(?:['’-][a-z]+)*")
_INNER_CAPITAL = re.compile(r"[a-z][A-Z]")
_LEET_CHAR = re.compile(r"[0-9@$|!+]")  # a one-class scan first: most texts have none
_LEETISH = re.compile(r"[A-Za-z][0-9@$|]|[0-9@$|!+][A-Za-z]|[A-Za-z][!+][A-Za-z]")


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
        self._verdicts = Verdicts(self._lexicon, self._confusables, self._function_words)
        self._context = Context(self._lexicon, self._speller, self._confusables,
                                self._function_words, self._verdicts)

    @property
    def lexicon(self) -> Lexicon:
        """The word knowledge this purifier ranks with (shared with the ranked backend)."""
        return self._lexicon

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
        final = rewrites.apply(coarsen(current, changes) if len(changes) > _COARSE_FROM
                               else changes)
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
        self._verdicts.start()
        k = 0
        for start, end in windows(text, spans):
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
            quick = (self._verdicts.window(piece, inside, body - start, piece_seen)
                     if end - start >= _QUICK_FROM else None)
            if quick is not None:
                edits, found = quick
                changes.extend(Change(a + start, b + start, form, rule)
                               for a, b, form, rule in edits)
            else:
                words, found = self._context.words(piece, inside, body - start, piece_seen)
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
