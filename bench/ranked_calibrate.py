"""Calibrate the ranked backend's margins on clean text.

For every clean text, the best score gain any candidate repair reaches over the text as it
stands (after the lexical pass), minus the extra a distance-2 candidate needs, is recorded
per kind of word (real word, unknown word). The margin of a kind is then the smallest value
under which at most `--budget` of the texts would change, on every calibration set:

- GLUE SST-2 validation, even-numbered sentences (the odd ones are held out);
- the realistic corpus built with seed 202 (not the benchmark's 13, not training's 101),
  per domain.

    .venv/bin/python bench/ranked_calibrate.py --scorer ngram
    .venv/bin/python bench/ranked_calibrate.py --scorer local --words 4 --candidates 3

Prints the margins and writes bench/results/ranked_calibration_<scorer>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from llamos_gateway.corpus import build
from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.files import atomic_write
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.ranking.decision import Margins
from llamos_gateway.ranking.setup import build_ranked
from llamos_gateway.settings import DefenseSettings

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent / "llamos_gateway" / "data" / "glue"


def calibration_sets(per_domain: int) -> dict[str, list[str]]:
    sst = [json.loads(line)["sentence"] for line in
           (DATA / "sst2_validation.jsonl").read_text().splitlines()]
    sets: dict[str, list[str]] = {"sst2-even": sst[::2]}
    for text in build(seed=202, per_domain=per_domain).texts:
        sets.setdefault(f"realistic-{text.domain}", []).append(text.text)
    return sets


async def best_gains(purifier: Any, text: str) -> dict[str, float]:
    """The best gain (minus the distance extra) per kind of word; -inf when none."""
    first = await purifier.lexical.purify(PurifyRequest(text))
    targets = purifier.targets(first)
    out = {"known": float("-inf"), "unknown": float("-inf")}
    if not targets:
        return out
    body = first.purified
    variants = [body[:t.start] + c.word + body[t.end:] for t in targets for c, _ in t.candidates]
    scores = await purifier.scorer.logprobs([body, *variants])
    k = 1
    per = purifier.policy.margins.per_distance
    for t in targets:
        for c, _ in t.candidates:
            gain = scores[k] - scores[0] - per * max(0, c.distance - 1)
            k += 1
            kind = "known" if t.known else "unknown"
            out[kind] = max(out[kind], gain)
    return out


def margin_for(values: list[float], budget: float) -> float:
    """The smallest margin under which at most `budget` of `values` exceed it."""
    finite = sorted((v for v in values if v != float("-inf")), reverse=True)
    allowed = int(budget * len(values))
    return round(max(0.0, finite[allowed]) if allowed < len(finite) else 0.0, 2)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scorer", default="ngram", choices=["ngram", "local"])
    ap.add_argument("--budget", type=float, default=0.003)
    ap.add_argument("--per-domain", type=int, default=200)
    ap.add_argument("--words", type=int, default=8)
    ap.add_argument("--candidates", type=int, default=6)
    ap.add_argument("--limit", type=int, default=None, help="texts per set")
    opts = ap.parse_args()
    defense = DefenseSettings(ranked_scorer=opts.scorer, ranked_margin_known=0.0,
                              ranked_margin_unknown=0.0, ranked_words=opts.words,
                              ranked_candidates=opts.candidates)
    purifier = build_ranked(defense, LexicalPurifier())
    sets = calibration_sets(opts.per_domain)
    gains: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    started = time.perf_counter()
    for name, texts in sets.items():
        for text in texts[:opts.limit]:
            found = await best_gains(purifier, text)
            for kind, value in found.items():
                gains[name][kind].append(value)
    margins = {kind: max(margin_for(g[kind], opts.budget) for g in gains.values())
               for kind in ("known", "unknown")}
    chosen = Margins(known=margins["known"], unknown=margins["unknown"])
    rows = {}
    for name, g in gains.items():
        n = len(g["known"])
        changed = sum(k > chosen.known or u > chosen.unknown
                      for k, u in zip(g["known"], g["unknown"], strict=True))
        rows[name] = {"n": n, "changed_by_ranking": round(changed / n, 4),
                      "known_margin_alone": margin_for(g["known"], opts.budget),
                      "unknown_margin_alone": margin_for(g["unknown"], opts.budget)}
        print(f"{name:24} n={n:4}  changed={changed / n:.2%}  "
              f"known={rows[name]['known_margin_alone']}  "
              f"unknown={rows[name]['unknown_margin_alone']}")
    print(f"margins ({opts.scorer}, budget {opts.budget:.1%} per set): {chosen}  "
          f"[{time.perf_counter() - started:.0f}s]")
    out = ROOT / "results" / f"ranked_calibration_{opts.scorer}.json"
    atomic_write(out, json.dumps({"scorer": opts.scorer, "budget": opts.budget,
                                  "margins": margins, "sets": rows, "options": vars(opts)},
                                 indent=2).encode())


if __name__ == "__main__":
    asyncio.run(main())
