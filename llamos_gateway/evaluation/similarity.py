"""Semantic similarity for the fidelity floor: BERTScore-style F1 (Zhang et al., ICLR 2020).

Each text becomes one contextual vector per token; every token of one text is matched to its
most similar token (cosine) of the other. Recall averages the best match of each original
token, precision of each candidate token, F1 is their harmonic mean; with idf weighting, rare
tokens weigh more (BERTScore's `idf=True`).

- `HiddenStateSimilarity`: the vectors are the local GGUF model's last hidden states
  (`LocalModel.token_embeddings`), centred on the mean hidden state of a few reference
  sentences: a causal model's states share one large common direction that would make every
  pair look alike (anisotropy), so it is removed before the cosine.
- `BertScoreSimilarity`: the `bert-score` package with a BERT-family model already on disk
  (nothing is downloaded at run time); `SimilarityUnavailable` says what is missing.

The floor is calibrated per similarity on the labelled pairs in `data/judge/` (see
`bench/judge_bench.py --calibrate`); the two scales differ, so each carries its own.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from llamos_gateway.errors import ConfigError, InvalidRequest

# Calibrated on data/judge/labelled.jsonl (bench/judge_bench.py --calibrate): the midpoint of
# the gap between the lowest-scoring pair that must pass and the highest that must fail.
LOCAL_FLOOR = 0.54
Vectors = npt.NDArray[np.float32]


class SimilarityUnavailable(ConfigError):
    """The similarity model cannot run here; the message says what is missing."""

    code = "similarity_unavailable"


@dataclass(frozen=True, slots=True)
class SimilarityScore:
    precision: float
    recall: float
    f1: float


class Similarity(Protocol):
    """Semantic similarity of a candidate to its original, with the floor that suits its scale."""

    @property
    def name(self) -> str: ...

    @property
    def floor(self) -> float: ...

    def score(self, original: str, candidate: str) -> SimilarityScore: ...


class TokenEmbedder(Protocol):
    """What `HiddenStateSimilarity` needs from a model (`LocalModel` is one)."""

    def token_embeddings(self, text: str) -> np.ndarray: ...

    def tokenize(self, text: str) -> list[int]: ...


def greedy_f1(original: Vectors, candidate: Vectors,
              original_weights: Sequence[float] | None = None,
              candidate_weights: Sequence[float] | None = None) -> SimilarityScore:
    """BERTScore's greedy matching on unit-normalised token vectors (rows)."""
    if len(original) == 0 or len(candidate) == 0:
        return SimilarityScore(0.0, 0.0, 0.0)
    a = original / np.maximum(np.linalg.norm(original, axis=1, keepdims=True), 1e-9)
    b = candidate / np.maximum(np.linalg.norm(candidate, axis=1, keepdims=True), 1e-9)
    cosine = a @ b.T
    recall = _weighted_mean(cosine.max(axis=1), original_weights)
    precision = _weighted_mean(cosine.max(axis=0), candidate_weights)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return SimilarityScore(precision, recall, f1)


def _weighted_mean(values: npt.NDArray[Any], weights: Sequence[float] | None) -> float:
    if weights is None:
        return float(values.mean())
    w = np.asarray(weights, dtype=np.float64)
    return float((values * w).sum() / w.sum()) if w.sum() > 0 else float(values.mean())


def idf_weights(documents: Iterable[Sequence[int]]) -> dict[int, float]:
    """BERTScore's idf: log((M + 1) / (df + 1)) per token id over M documents; an unseen token
    gets log(M + 1)."""
    df: Counter[int] = Counter()
    m = 0
    for tokens in documents:
        df.update(set(tokens))
        m += 1
    return ({token: math.log((m + 1) / (count + 1)) for token, count in df.items()}
            | {-1: math.log(m + 1)})


class HiddenStateSimilarity:
    """BERTScore-style F1 over a local model's contextual hidden states (see the module doc).
    `references` give the centring vector (computed on first use); `idf` optional weights
    from `idf_weights`. Embeddings of recent texts are kept (an original is scored against
    many candidates). Blocking: call it from a worker thread on an event loop."""

    def __init__(self, embedder: TokenEmbedder, references: Sequence[str], *,
                 idf: dict[int, float] | None = None, floor: float = LOCAL_FLOOR,
                 cache_size: int = 512) -> None:
        if not references:
            raise ValueError("HiddenStateSimilarity needs reference sentences to centre on")
        self._embedder = embedder
        self._references = tuple(references)
        self._idf = idf
        self._floor = floor
        self._center: Vectors | None = None
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "local-hidden-states" + ("+idf" if self._idf is not None else "")

    @property
    def floor(self) -> float:
        return self._floor

    def score(self, original: str, candidate: str) -> SimilarityScore:
        a, b = self._vectors(original), self._vectors(candidate)
        return greedy_f1(a, b, self._weights(original, len(a)), self._weights(candidate, len(b)))

    def _vectors(self, text: str) -> Vectors:
        with self._lock:
            if self._center is None:
                rows = [self._raw(t) for t in self._references]
                self._center = np.concatenate(rows).mean(axis=0).astype(np.float32)
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vectors = (self._raw(text) - self._center).astype(np.float32)
        with self._lock:
            self._cache[text] = vectors
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vectors

    def _raw(self, text: str) -> Vectors:
        return np.asarray(self._embedder.token_embeddings(text), dtype=np.float32)

    def _weights(self, text: str, rows: int) -> list[float] | None:
        if self._idf is None:
            return None
        unseen = self._idf[-1]
        weights = [self._idf.get(t, unseen) for t in self._embedder.tokenize(text)][:rows]
        return weights if len(weights) == rows else None


# Checked before `bert-score` is imported: a model directory must hold its config and weights.
_MODEL_FILES = ("config.json",)
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class BertScoreSimilarity:
    """`bert-score`'s F1 with a BERT-family model already on disk (`model_dir`, a
    transformers `save_pretrained` folder; `num_layers`: the layer whose states are matched).
    Hub access is switched off, so a missing model fails here instead of downloading."""

    def __init__(self, model_dir: Path, *, num_layers: int, floor: float = 0.92) -> None:
        missing = [f for f in _MODEL_FILES if not (model_dir / f).is_file()]
        if not any((model_dir / f).is_file() for f in _WEIGHT_FILES):
            missing.append(" or ".join(_WEIGHT_FILES))
        if missing:
            raise SimilarityUnavailable(f"bert-score needs a BERT model on disk: {model_dir} has "
                                        f"no {', '.join(missing)} (nothing is downloaded)")
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            bert_score = import_module("bert_score")
        except ImportError as exc:
            raise SimilarityUnavailable(
                "bert-score is not installed: pip install bert-score") from exc
        self._model_dir = model_dir
        self._floor = floor
        self._scorer = bert_score.BERTScorer(model_type=str(model_dir), num_layers=num_layers,
                                             lang=None)
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"bert-score:{self._model_dir.name}"

    @property
    def floor(self) -> float:
        return self._floor

    def score(self, original: str, candidate: str) -> SimilarityScore:
        with self._lock:
            p, r, f = self._scorer.score([candidate], [original])
        return SimilarityScore(float(p[0]), float(r[0]), float(f[0]))


def reference_sentences(n: int = 16) -> list[str]:
    """The first `n` bundled SST-2 training sentences: the centring set of the local similarity."""
    from llamos_gateway.evaluation.datasets import DATA

    with (DATA / "glue" / "sst2_train.jsonl").open(encoding="utf-8") as rows:
        return [str(json.loads(row)["sentence"]).strip()
                for row, _ in zip(rows, range(n), strict=False)]


SIMILARITIES = ("local", "bert-score:<model dir>", "none")


@contextmanager
def open_similarity(spec: str) -> Iterator[tuple[Similarity | None, str]]:
    """The similarity a `--similarity` value names, and why there is none when there is none:
    `local` (the bundled GGUF model, skipped with the reason when it is not installed),
    `bert-score:<dir>` (a BERT model on disk; unavailable is an error: it was asked for by
    name) or `none`."""
    if spec == "none":
        yield None, "switched off (--similarity none)"
        return
    if spec.startswith("bert-score:"):
        model_dir = Path(spec.removeprefix("bert-score:")).expanduser()
        config = model_dir / "config.json"
        layers = (json.loads(config.read_text("utf-8")).get("num_hidden_layers", 12)
                  if config.is_file() else 12)
        yield BertScoreSimilarity(model_dir, num_layers=max(1, round(0.75 * layers))), ""
        return
    if spec != "local":
        raise InvalidRequest(f"--similarity takes {', '.join(SIMILARITIES)}, not {spec!r}",
                             param="similarity")
    from llamos_gateway.localllm import LocalModel, LocalModelUnavailable, bundled_model_path

    try:
        model = LocalModel(bundled_model_path(), n_threads=1)
    except LocalModelUnavailable as exc:
        yield None, f"local model unavailable ({exc.message})"
        return
    try:
        yield HiddenStateSimilarity(model, reference_sentences()), ""
    finally:
        model.close()
