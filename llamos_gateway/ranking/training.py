"""What the n-gram model learns from, all bundled with the package or installed with it, and
where the trained model is kept.

- GLUE SST-2 *train* sentences (movie reviews; validation is what the benchmarks measure);
- the realistic corpus (`llamos_gateway.corpus`), built with its own seed (`CORPUS_SEED`), not
  the benchmark's, so the clean-text budget is measured on texts the model has not seen;
- docstrings of the Python standard library (technical English);
- symspellpy's English word and bigram frequencies (general English, Google Books counts):
  the bigrams added as counts scaled to the size of the sentence sources, the words as the
  general part of the unigram level.

The model is trained on first use and cached under `files.cache_dir("ranking")`, named by a
fingerprint of the sources and `MODEL_VERSION`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import sysconfig
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from llamos_gateway.files import cache_dir
from llamos_gateway.ranking.ngram import NgramModel, words

log = logging.getLogger(__name__)

MODEL_VERSION = 1
CORPUS_SEED = 101
CORPUS_PER_DOMAIN = 400
# At most this many standard-library files are read, in sorted order (a few seconds).
_MAX_STDLIB_FILES = 600
_MAX_DOCSTRING_CHARS = 2000


def _data(*parts: str) -> Path:
    return Path(str(resources.files("llamos_gateway").joinpath("data", *parts)))


def _symspell(name: str) -> Path:
    return Path(str(resources.files("symspellpy") / name))


def sst2_train() -> Iterator[str]:
    with _data("glue", "sst2_train.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)["sentence"]


def realistic() -> Iterator[str]:
    from llamos_gateway.corpus import build  # faker: only when training

    for text in build(seed=CORPUS_SEED, per_domain=CORPUS_PER_DOMAIN).texts:
        if text.language == "en":
            yield from (line for line in text.text.splitlines() if line.strip())


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(root.glob("*.py")) if not p.name.startswith("_")]
    files += sorted(p for p in root.glob("*/*.py") if "test" not in p.parts[-2]
                    and not p.name.startswith("_") and "idlelib" not in p.parts[-2])
    return files[:_MAX_STDLIB_FILES]


def stdlib_docstrings() -> Iterator[str]:
    for path in _stdlib_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    yield from _paragraphs(doc[:_MAX_DOCSTRING_CHARS])


def _paragraphs(doc: str) -> Iterator[str]:
    for block in doc.split("\n\n"):
        joined = " ".join(block.split())
        if joined and not joined.startswith((">>>", "..", ":")):
            yield joined


def general_words() -> Iterator[tuple[str, int]]:
    with _symspell("frequency_dictionary_en_82_765.txt").open(encoding="utf-8") as handle:
        for line in handle:
            word, count = line.split()
            yield word, int(count)


def general_bigrams(scale_to: int) -> Iterator[tuple[str, str, int]]:
    """symspellpy's bigrams, counts scaled so that they sum to about `scale_to` (each at
    least 1)."""
    rows = []
    with _symspell("frequency_bigramdictionary_en_243_342.txt").open(encoding="utf-8") as handle:
        for line in handle:
            left, right, count = line.split()
            rows.append((left, right, int(count)))
    total = sum(n for _, _, n in rows)
    for left, right, n in rows:
        yield left, right, max(1, round(n * scale_to / total))


def sentences() -> Iterator[str]:
    yield from sst2_train()
    yield from realistic()
    yield from stdlib_docstrings()


def train() -> NgramModel:
    corpus = list(sentences())
    tokens = sum(len(words(s)) for s in corpus)
    return NgramModel.train(corpus, general_bigrams(tokens), general_words())


def fingerprint() -> str:
    digest = hashlib.sha256(f"v{MODEL_VERSION}|{CORPUS_SEED}|{CORPUS_PER_DOMAIN}".encode())
    for path in (_data("glue", "sst2_train.jsonl"),
                 _symspell("frequency_dictionary_en_82_765.txt"),
                 _symspell("frequency_bigramdictionary_en_243_342.txt")):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    digest.update(sysconfig.get_python_version().encode())  # the stdlib docstrings
    return digest.hexdigest()[:16]


def load_or_train(folder: Path | None = None) -> NgramModel:
    """The cached model, trained and written on first use."""
    path = (folder or cache_dir("ranking")) / f"ngram-{fingerprint()}.marshal"
    if path.is_file():
        try:
            return NgramModel.load(path)
        except (ValueError, EOFError, KeyError) as exc:
            log.warning("ignoring unreadable n-gram model %s: %s", path, exc)
    model = train()
    model.save(path)
    return model
