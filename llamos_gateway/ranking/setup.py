"""The ranked backend from the `defense.*` settings: scorer, margins, candidate bounds. The
n-gram model and the local GGUF model are loaded on first use, once per backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from llamos_gateway.defense.protocol import Purifier
from llamos_gateway.errors import ConfigError
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.localllm import LocalModel, bundled_model_path
from llamos_gateway.ranking import training
from llamos_gateway.ranking.calibration import CALIBRATED
from llamos_gateway.ranking.candidates import Bounds
from llamos_gateway.ranking.decision import Learned, Margins
from llamos_gateway.ranking.ngram import NgramModel
from llamos_gateway.ranking.purifier import Policy, RankedPurifier
from llamos_gateway.ranking.scorer import CompletionsScorer, LocalScorer, NgramScorer, Scorer

if TYPE_CHECKING:
    from llamos_gateway.settings import DefenseSettings
    from llamos_gateway.upstream import Upstream

# With a causal LM scorer, the n-gram pre-ranking lets a candidate through from this gain on
# (nats): the LM, not the n-gram, then decides.
LM_PREFILTER = 0.0


T = TypeVar("T")


def once(load: Callable[[], T]) -> Callable[[], T]:
    """`load()` on the first call, its result on every later one (thread-safe)."""
    lock = threading.Lock()
    box: list[T] = []

    def get() -> T:
        with lock:
            if not box:
                box.append(load())
            return box[0]

    return get


def policy_for(defense: DefenseSettings) -> Policy:
    base = CALIBRATED[defense.ranked_scorer]
    margins = Margins(
        known=base.known if defense.ranked_margin_known is None else defense.ranked_margin_known,
        unknown=(base.unknown if defense.ranked_margin_unknown is None
                 else defense.ranked_margin_unknown),
        per_distance=base.per_distance)
    learned = (Learned.load(threshold=defense.ranked_threshold_known,
                            threshold_unknown=defense.ranked_threshold_unknown)
               if defense.ranked_decision == "learned" and defense.ranked_scorer == "ngram"
               else None)
    return Policy(margins=margins,
                  bounds=Bounds(per_word=defense.ranked_candidates, words=defense.ranked_words),
                  prefilter=None if defense.ranked_scorer == "ngram" else LM_PREFILTER,
                  learned=learned)


def scorer_for(defense: DefenseSettings, ngram: Callable[[], NgramModel],
               completions: Callable[[], tuple[Upstream, str]] | None) -> Scorer:
    if defense.ranked_scorer == "ngram":
        return NgramScorer(ngram, training.fingerprint())
    if defense.ranked_scorer == "local":
        return LocalScorer(once(lambda: LocalModel(bundled_model_path())))
    if completions is None or defense.ranked_scorer_model is None:
        raise ConfigError("defense.ranked_scorer_model: the completions scorer needs an alias "
                          "from `models` with an api_base")
    upstream, model = completions()
    return CompletionsScorer(upstream, model, prefix=defense.ranked_scorer_prefix,
                             timeout_s=defense.timeout_s,
                             concurrency=defense.concurrency)


def build_ranked(defense: DefenseSettings, lexical: Purifier,
                 completions: Callable[[], tuple[Upstream, str]] | None = None) -> RankedPurifier:
    if not isinstance(lexical, LexicalPurifier):
        raise ConfigError("the ranked backend is built on the lexical purifier")
    ngram = once(training.load_or_train)
    return RankedPurifier(lexical, scorer_for(defense, ngram, completions), ngram,
                          policy_for(defense))
