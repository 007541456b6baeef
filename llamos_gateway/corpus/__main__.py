"""Build the evaluation corpus and its perturbation suite into a folder.

    python -m llamos_gateway.corpus --out bench/corpus [--seed 13] [--per-domain 400]
    python -m llamos_gateway.corpus --out bench/corpus --check   # rebuilt == manifest?

Writes `corpus.jsonl` (one `{id, domain, language, source, text}` per line), `manifest.json`
(seed, pinned versions and file hashes, counts, a hash of all texts) and `perturbed.jsonl`
(`{clean, attacked, kind, domain, id}` rows, the format `purify_score.py --sets` reads).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from llamos_gateway.corpus import PER_DOMAIN, SEED, build
from llamos_gateway.corpus.perturbations import suite


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m llamos_gateway.corpus", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--per-domain", type=int, default=PER_DOMAIN)
    ap.add_argument("--check", action="store_true",
                    help="compare with the manifest already in --out instead of writing")
    opts = ap.parse_args(argv)
    corpus = build(opts.seed, opts.per_domain)
    if opts.check:
        old = json.loads((opts.out / "manifest.json").read_text(encoding="utf-8"))
        same = old["texts_sha256"] == corpus.manifest["texts_sha256"]
        print("same texts" if same
              else "texts differ: compare the pinned versions in the manifests")
        return 0 if same else 1
    corpus.write(opts.out)
    rows = suite(corpus, opts.seed)
    with (opts.out / "perturbed.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row.as_dict(), ensure_ascii=False) + "\n")
    print(f"{len(corpus.texts)} texts and {len(rows)} perturbed rows in {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
