"""`NgramModel`: an interpolated Kneser-Ney word trigram model, trained here, in pure Python.

Why our own model: KenLM's PyPI package can query a model but not build one, and a trigram
model over lowercase words is small enough to train in seconds. Discounting is absolute
(`D = 0.75`) at the trigram and bigram levels; the unigram level mixes the Kneser-Ney
continuation distribution with general English word frequencies, so that a rare but correct
word the training text lacks still has a fair probability. Unknown words get `_OOV`.

Training is deterministic: the sources (`training.sources()`) are read in a fixed order and
every table is built in that order, so two trainings give the same bytes (tested).
"""

from __future__ import annotations

import marshal
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from llamos_gateway.files import atomic_write

DISCOUNT = 0.75
# Share of the unigram level given to general word frequencies (the rest: continuation).
_GENERAL = 0.3
_OOV = math.log(1e-8)
# Trigrams seen once are dropped (they carry little and make the model three times larger).
_MIN_TRIGRAM = 2
BOS, EOS, NUM = "<s>", "</s>", "<num>"
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|'[a-z]+|[0-9]+(?:[.,][0-9]+)*|[^\sa-z0-9]")


def words(text: str) -> list[str]:
    """The model's tokens of `text`: lowercase words (`n't`, `'s` kept as SST-2 splits them),
    numbers as one token, each other non-space character alone."""
    out = _TOKEN.findall(text.lower())
    return [NUM if t[0].isdigit() else t for t in out]


@dataclass(frozen=True, slots=True)
class Counts:
    """What training counts: n-gram counts and general word frequencies."""

    trigrams: dict[str, int]
    bigrams: dict[str, int]
    general: dict[str, int]


class NgramModel:
    """Log-probabilities (natural log) of token sequences. Built by `train` or `load`."""

    def __init__(self, tables: dict[str, dict[str, float]]) -> None:
        self._tables = tables
        self._p3 = tables["p3"]     # "u v w" -> discounted probability max(c - D, 0) / c(u v)
        self._b3 = tables["b3"]     # "u v" -> back-off weight D * N1+(u v .) / c(u v)
        self._p2 = tables["p2"]     # "v w" -> max(c - D, 0) / c(v)
        self._b2 = tables["b2"]     # "v" -> D * N1+(v .) / c(v)
        self._p1 = tables["p1"]     # "w" -> unigram probability

    @classmethod
    def train(cls, sentences: Iterable[str], extra_bigrams: Iterable[tuple[str, str, int]] = (),
              general: Iterable[tuple[str, int]] = ()) -> NgramModel:
        counts = count(sentences, extra_bigrams, general)
        return cls(estimate(counts))

    def logprob(self, tokens: Sequence[str]) -> float:
        """log P(tokens, then the end of the sentence | the start of a sentence)."""
        u, v = BOS, BOS
        total = 0.0
        for w in (*tokens, EOS):
            total += self.word_logprob(u, v, w)
            u, v = v, w
        return total

    def word_logprob(self, u: str, v: str, w: str) -> float:
        p1 = self._p1.get(w)
        if p1 is None:
            return _OOV
        vw = f"{v} {w}"
        b2 = self._b2.get(v)
        p2 = p1 if b2 is None else self._p2.get(vw, 0.0) + b2 * p1
        b3 = self._b3.get(f"{u} {v}")
        p3 = p2 if b3 is None else self._p3.get(f"{u} {vw}", 0.0) + b3 * p2
        return math.log(p3)

    def knows(self, word: str) -> bool:
        return word in self._p1

    def save(self, path: Path) -> None:
        atomic_write(path, marshal.dumps(self._tables))

    @classmethod
    def load(cls, path: Path) -> NgramModel:
        tables = marshal.loads(path.read_bytes())
        return cls(tables)

    def dumps(self) -> bytes:
        return marshal.dumps(self._tables)


def count(sentences: Iterable[str], extra_bigrams: Iterable[tuple[str, str, int]],
          general: Iterable[tuple[str, int]]) -> Counts:
    trigrams: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    for sentence in sentences:
        tokens = [BOS, BOS, *words(sentence), EOS]
        if len(tokens) == 3:
            continue
        for i in range(2, len(tokens)):
            trigrams[f"{tokens[i - 2]} {tokens[i - 1]} {tokens[i]}"] += 1
            bigrams[f"{tokens[i - 1]} {tokens[i]}"] += 1
    for left, right, n in extra_bigrams:
        bigrams[f"{left} {right}"] += n
    return Counts(trigrams=dict(trigrams), bigrams=dict(bigrams), general=dict(general))


def estimate(counts: Counts) -> dict[str, dict[str, float]]:
    """Interpolated absolute discounting, Kneser-Ney continuation counts at the bottom."""
    p2, b2, continuation = _level(counts.bigrams, min_count=1)
    p3, b3, _ = _level(counts.trigrams, min_count=_MIN_TRIGRAM)
    total_cont = sum(continuation.values())
    total_general = sum(counts.general.values()) or 1
    vocabulary = sorted(continuation.keys() | counts.general.keys())
    p1 = {w: (1 - _GENERAL) * continuation.get(w, 0) / total_cont
          + _GENERAL * counts.general.get(w, 0) / total_general for w in vocabulary}
    p1 = {w: p for w, p in p1.items() if p > 0}
    return {"p3": p3, "b3": b3, "p2": p2, "b2": b2, "p1": p1}


def _level(table: dict[str, int], *, min_count: int) -> tuple[
        dict[str, float], dict[str, float], dict[str, int]]:
    """Discounted probabilities of one order, the back-off weight of each context, and how
    many distinct contexts precede each last word (its continuation count)."""
    context_total: dict[str, int] = {}
    context_types: dict[str, int] = {}
    continuation: dict[str, int] = {}
    for gram in sorted(table):
        context, _, last = gram.rpartition(" ")
        n = table[gram]
        context_total[context] = context_total.get(context, 0) + n
        context_types[context] = context_types.get(context, 0) + 1
        continuation[last] = continuation.get(last, 0) + 1
    probs: dict[str, float] = {}
    for gram in sorted(table):
        n = table[gram]
        if n >= min_count:
            context = gram.rpartition(" ")[0]
            probs[gram] = (n - DISCOUNT) / context_total[context]
    weights = {c: DISCOUNT * context_types[c] / context_total[c] for c in sorted(context_total)}
    if min_count > 1:  # the mass of dropped grams goes to the back-off, so P sums to one
        dropped: dict[str, float] = {}
        for gram, n in table.items():
            if n < min_count:
                context = gram.rpartition(" ")[0]
                dropped[context] = dropped.get(context, 0.0) + (n - DISCOUNT)
        for context, mass in dropped.items():
            weights[context] += mass / context_total[context]
    return probs, weights, continuation
