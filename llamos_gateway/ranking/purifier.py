"""`RankedPurifier`: the lexical pass, then language-model-ranked repair of the words that
context makes unlikely.

For each lowercase word outside the protected spans, its candidates (`candidates`) are
pre-ranked by the n-gram model on the three trigrams the word takes part in (microseconds);
the words whose best candidate gains the most go on, at most `bounds.words` of them with
`bounds.per_word` candidates each, and the scorer scores the text with each candidate in
place, in one batch. `decision.choose` keeps a candidate only past its margin, or
`decision.choose_learned` past the learned model's threshold. With the n-gram scorer the
pre-ranking is the ranking; with a causal LM the LM has the last word.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from llamos_gateway.defense.protocol import Edit, PurifyRequest, PurifyResult, output_spans
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.repeats import has_run
from llamos_gateway.lexical.spans import protected
from llamos_gateway.lexical.tokens import tokenize
from llamos_gateway.ranking.candidates import Bounds, Candidate, Neighbours
from llamos_gateway.ranking.decision import (
    Choice,
    Learned,
    Margins,
    choose,
    choose_learned,
    probability,
)
from llamos_gateway.ranking.features import Pair
from llamos_gateway.ranking.ngram import BOS, EOS, NgramModel
from llamos_gateway.ranking.scorer import Scorer

RANKED_VERSION = 3  # bumped when the same settings give other repairs (cached results go stale)
_MIN_LENGTH = 3
# Text taken for another language: more than this share of its words unknown to the n-gram.
_FOREIGN_SHARE = 0.4
# Longer texts are weighed in a worker thread, off the event loop.
_INLINE_MAX_CHARS = 2000
_LETTERS = re.compile(r"[^\W\d_]+")
_NGRAM_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|'[a-z]+|[0-9]+(?:[.,][0-9]+)*|[^\sa-z0-9]")


@dataclass(frozen=True, slots=True)
class Policy:
    margins: Margins
    bounds: Bounds = Bounds()
    prefilter: float | None = None  # n-gram gain a candidate needs to reach the scorer
    learned: Learned | None = None  # None: the margin rule decides

    def identity(self) -> str:
        rule = self.learned.identity() if self.learned is not None else self.margins.identity()
        return f"{rule}|{self.bounds.identity()}|pre={self.prefilter}"


@dataclass(frozen=True, slots=True)
class _Target:
    start: int       # in the lexical pass's output
    end: int
    word: str
    known: bool
    written: str     # the word as written, before the lexical pass's repair
    candidates: tuple[tuple[Candidate, float], ...]  # with their n-gram gain, best first
    best: float      # the best candidate's pre-ranking value (`RankedPurifier.prior`)
    pairs: tuple[Pair, ...]  # what the learned decision weighs, one per candidate


class RankedPurifier:
    """Implements `Purifier`. `ngram` is loaded (trained on first use) when first needed."""

    name = "ranked"

    def __init__(self, lexical: LexicalPurifier, scorer: Scorer,
                 ngram: Callable[[], NgramModel], policy: Policy) -> None:
        self.lexical = lexical
        self.scorer = scorer
        self._ngram = ngram
        self.policy = policy
        lexicon = lexical.lexicon
        self._lexicon = lexicon
        self._loaded = False
        self._neighbours = Neighbours(lexicon.targets, lexicon.count, lexicon.within,
                                      lexicon.is_name)

    @property
    def cache_identity(self) -> str:
        return (f"ranked-v{RANKED_VERSION}|{self.lexical.cache_identity}|{self.scorer.identity}"
                f"|{self.policy.identity()}")

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        started = time.perf_counter()
        if not self._loaded:  # the first use may train the model: never on the event loop
            await asyncio.to_thread(self._ngram)
            self._loaded = True
        first = await self.lexical.purify(request)
        if len(first.purified) > _INLINE_MAX_CHARS:
            targets = await asyncio.to_thread(self.targets, first)
        else:
            targets = self.targets(first)
        result = replace(first, backend=self.name)
        if targets:
            result = await self._rank(first, targets)
        return result.with_timing(started)

    def targets(self, first: PurifyResult) -> list[_Target]:
        """The words worth a scorer's look, best first (`prior`), within the bounds."""
        text = first.purified
        model = self._ngram()
        spans = protected(text)
        lowered = text.lower()
        found = list(_NGRAM_TOKEN.finditer(lowered))
        tokens = [m.group() if not m.group()[0].isdigit() else "<num>" for m in found]
        index = {m.start(): i for i, m in enumerate(found)}
        plain = [t for t in tokens if t[0].isalpha()]
        if not plain or sum(not model.knows(t) for t in plain) > _FOREIGN_SHARE * len(plain):
            return []
        repaired = _lexical_words(first)
        foreign = self.foreign(lowered)
        out: list[_Target] = []
        threshold = self._threshold()
        for token in tokenize(text, spans):
            i = index.get(token.start)
            word = token.text
            if (i is None or found[i].end() != token.end or not word.isascii()
                    or not word.isalpha() or not word.islower() or len(word) < _MIN_LENGTH
                    or token.after_apostrophe or has_run(word)):
                # (a run of three letters, `whyyy`, is stretched on purpose: what to do with
                # it is the lexical pass's `repeats` rule's call)
                continue
            before = repaired.get(token.start)
            known = before is None and self._lexicon.is_known(word)
            base = _local_logprob(model, tokens, i, word)
            # no candidate can gain more than the word's own trigrams cost (log P <= 0)
            if before is None and -base <= threshold:
                continue
            pool = self._neighbours.of(before or word, known=known, bounds=self.policy.bounds,
                                       lexical=word if before else None)
            if not pool:
                continue
            written = before or word
            gains = [(c, _local_logprob(model, tokens, i, c.word) - base)
                     for c in pool if c.word != word]
            floor = threshold if known else self._floor_unknown()
            pairs = [(c, self._pair(written, c, g, gains, known=known, repaired=bool(before),
                                    foreign=foreign)) for c, g in gains if g > floor]
            ranked = sorted(((self.prior(pair, c), c, pair) for c, pair in pairs),
                            key=lambda item: (self._reach(item[1]), -item[0])
                            )[:self.policy.bounds.per_word]
            if ranked:
                out.append(_Target(token.start, token.end, word, known, written,
                                   tuple((c, pair.gain) for _, c, pair in ranked),
                                   ranked[0][0], tuple(pair for _, _, pair in ranked)))
        out.sort(key=lambda t: -t.best)
        return out[:self.policy.bounds.words]

    def foreign(self, lowered: str) -> float:
        """The share of the text's words (any script) that the lexicon does not know."""
        found = _LETTERS.findall(lowered)
        return sum(not self._lexicon.is_known(w) for w in found) / len(found) if found else 0.0

    def _pair(self, written: str, candidate: Candidate, gain: float,
              gains: list[tuple[Candidate, float]], *, known: bool, repaired: bool,
              foreign: float) -> Pair:
        # a farther candidate is a less likely slip: it competes with the nearer ones, not
        # they with it
        rivals = [g for c, g in gains if c is not candidate and c.distance <= candidate.distance]
        return Pair(written, candidate.word, gain, known, repaired, self._lexicon.count(written),
                    self._lexicon.count(candidate.word), 0, foreign,
                    gap=gain - max(rivals, default=gain - 20.0), rivals=len(rivals),
                    distance=candidate.distance)

    def prior(self, pair: Pair, candidate: Candidate) -> float:
        """How a candidate is pre-ranked: by how far its n-gram gain clears its margin, or
        by the learned logit (without the text-level `others`, which needs every target)."""
        learned = self.policy.learned
        if learned is None:
            return pair.gain - self.policy.margins.needed(known=pair.known, candidate=candidate)
        return learned.logit(pair)

    def _reach(self, candidate: Candidate) -> int:
        """What goes first when a word's candidates are cut to `bounds.per_word`: with a
        causal LM deciding, the nearest slips (the n-gram's gain, which ranks the rest, would
        put `none` before `song` for `dance , sonh , and`); with the n-gram, its own ranking."""
        return candidate.distance if self.policy.prefilter is not None else 0

    def _floor_unknown(self) -> float:
        learned = self.policy.learned
        return self._threshold() if learned is None else learned.floor_unknown

    def _threshold(self) -> float:
        if self.policy.prefilter is not None:
            return self.policy.prefilter
        if self.policy.learned is not None:
            return self.policy.learned.floor
        return min(self.policy.margins.known, self.policy.margins.unknown)

    async def pairs(self, first: PurifyResult,
                    targets: list[_Target]) -> list[tuple[_Target, list[tuple[Candidate, Pair]]]]:
        """Each target's candidates, scored in one batch, with what the decision weighs."""
        text = first.purified
        variants = [text[:t.start] + c.word + text[t.end:]
                    for t in targets for c, _ in t.candidates]
        scores = await self.scorer.logprobs([text, *variants])
        baseline, k = scores[0], 1
        # other signs of an attack: the lexical pass's edits, unknown words it left alone
        suspects = [not t.known and t.written == t.word for t in targets]
        lexical = len(first.edits)
        out = []
        for n, target in enumerate(targets):
            repaired = target.written != target.word
            others = lexical - repaired + sum(suspects) - suspects[n]
            scored = []
            for (c, _), pair in zip(target.candidates, target.pairs, strict=True):
                scored.append((c, replace(pair, gain=scores[k] - baseline, others=others)))
                k += 1
            out.append((target, scored))
        return out

    async def _rank(self, first: PurifyResult, targets: list[_Target]) -> PurifyResult:
        choices: list[tuple[_Target, Choice]] = []
        learned = self.policy.learned
        for target, scored in await self.pairs(first, targets):
            if learned is not None:
                choice = choose_learned(scored, learned=learned)
            else:
                choice = choose(0.0, [(c, p.gain) for c, p in scored], known=target.known,
                                margins=self.policy.margins)
            if choice is not None:
                choices.append((target, choice))
        if not choices:
            return replace(first, backend=self.name)
        choices.sort(key=lambda tc: tc[0].start)
        return _applied(first, choices, self.name)


def _local_logprob(model: NgramModel, tokens: list[str], i: int, word: str) -> float:
    """The log-probability of the trigrams that contain position `i`, with `word` there:
    the only part of the sequence's log-probability that depends on it."""
    n = len(tokens)
    padded = [BOS, BOS, *tokens[max(0, i - 2):i], word, *tokens[i + 1:i + 3]]
    if i + 3 > n:
        padded.append(EOS)
    start = 2 + min(i, 2)  # where `word` sits in `padded`
    return sum(model.word_logprob(padded[j - 2], padded[j - 1], padded[j])
               for j in range(start, min(start + 3, len(padded))))




def _lexical_words(first: PurifyResult) -> dict[int, str]:
    """Words the lexical pass repaired by spelling, by where they start in its output, with
    the word as it was written."""
    return {start: edit.before.lower()
            for edit, (start, _) in zip(first.edits, output_spans(first.edits), strict=True)
            if "spelling" in edit.rule and edit.before.isalpha() and edit.before.isascii()}


def _applied(first: PurifyResult, choices: list[tuple[_Target, Choice]],
             name: str) -> PurifyResult:
    """`first` with the chosen replacements, edits in the caller's coordinates: a word the
    lexical pass had edited keeps its edit's span, with the new word and rule."""
    text = first.purified
    pieces: list[str] = []
    cut = 0
    for target, choice in choices:
        pieces += [text[cut:target.start], choice.candidate.word]
        cut = target.end
    purified = "".join([*pieces, text[cut:]])
    edits = list(first.edits)
    for target, choice in choices:
        n, edit = _located(first.edits, target, choice, first.original)
        if n is None:
            edits.append(edit)
        else:
            edits[n] = edit
    edits.sort(key=lambda e: e.start)
    detail = [{"before": t.word, "after": c.candidate.word, "rule": c.rule,
               "gain": round(c.gain, 3), "margin": round(c.margin, 3),
               "distance": c.candidate.distance,
               **({} if c.score is None else {"score": round(c.score, 3),
                                              "probability": round(probability(c.score), 4)})}
              for t, c in choices]
    return replace(first, purified=purified, backend=name, edits=tuple(edits),
                   extra={**first.extra, "ranked": detail})


def _located(edits: tuple[Edit, ...], target: _Target, choice: Choice,
             original: str) -> tuple[int | None, Edit]:
    """The edit that puts `choice` at `target` (output coordinates of the lexical pass,
    mapped back through its edits), and which lexical edit it replaces, if any."""
    shift = 0  # output minus input position after the edits before `target`
    for n, (edit, (out_start, out_end)) in enumerate(zip(edits, output_spans(edits),
                                                         strict=True)):
        if out_start <= target.start and target.end <= out_end:
            after = (edit.after[:target.start - out_start] + choice.candidate.word
                     + edit.after[target.end - out_start:])
            return n, Edit(edit.start, edit.end, edit.before, after, choice.rule)
        if out_start > target.start:
            break
        shift = out_end - edit.end
    start = target.start - shift
    end = start + (target.end - target.start)
    return None, Edit(start, end, original[start:end], choice.candidate.word, choice.rule)
