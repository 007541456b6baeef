"""The realistic evaluation corpus and its seeded perturbation suite.

    from llamos_gateway.corpus import build
    corpus = build()                 # seed 13, 400 texts per domain (faker needed)
    for text in corpus.texts: ...    # Text(id, domain, language, source, text)

`python -m llamos_gateway.corpus --out DIR` writes `corpus.jsonl` and `manifest.json`.
"""

from llamos_gateway.corpus.builder import (
    CORPUS_VERSION,
    LANGUAGES,
    PER_DOMAIN,
    SEED,
    Corpus,
    Domain,
    Text,
    build,
)

__all__ = ["CORPUS_VERSION", "LANGUAGES", "PER_DOMAIN", "SEED", "Corpus", "Domain", "Text",
           "build"]
