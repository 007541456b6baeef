#!/usr/bin/env python3
"""Verdicts (issue 20): what `defense.action: block` would refuse at each `block_threshold`,
and what computing the verdict costs.

    .venv/bin/python bench/verdict_bench.py [--per-kind 100] [--runs 5]

(a) the share of clean texts blocked (false positives): the 872 SST-2 validation sentences
    and the realistic corpus (`llamos_gateway.corpus`: chat, code, markup, entities, names,
    languages, news), per threshold;
(b) the share of each generated perturbation kind blocked (true positives): the corpus's
    perturbation suite (its kinds), PromptAttack-style C1/C3/S1 of SST-2 from our generator,
    and the lexical benchmark's generated SST-2 kinds;
(c) the verdict's latency: `Defense.purify` with the lexical backend on SST-2 sentences, one
    text a request as on the chat path, with vs without computing the verdict and the score
    (what the request path adds: the other headers were computed before); median of `--runs`
    runs, interleaved, and the ratio; and that computation timed alone.

Scores are the lexical screen's (the default backend's). Writes bench/results/verdict.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

from llamos_gateway.corpus import build
from llamos_gateway.corpus.perturbations import suite
from llamos_gateway.corpus.promptattack import Style, perturbations
from llamos_gateway.defense import Defense
from llamos_gateway.defense.policy import DEFAULT_BLOCK_THRESHOLD
from llamos_gateway.lexical import LexicalPurifier

ROOT = Path(__file__).resolve().parent.parent
SEED = 13
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def sst2() -> list[str]:
    data = resources.files("llamos_gateway") / "data" / "glue" / "sst2_validation.jsonl"
    return [json.loads(line)["sentence"] for line in data.read_text("utf-8").splitlines()]


def shares(scores: list[float]) -> dict[str, float]:
    return {f"{t:g}": sum(s >= t for s in scores) / len(scores) for t in THRESHOLDS}


def attacked_sets(corpus: Any, sentences: list[str], per_kind: int) -> dict[str, list[str]]:
    sys.path.insert(0, str(ROOT / "bench"))
    from lexical_bench import KINDS, generate  # the generated SST-2 kinds

    sets: dict[str, list[str]] = defaultdict(list)
    for row in suite(corpus, SEED, per_kind):
        if row.attacked != row.clean:
            sets[f"suite:{row.kind}"].append(row.attacked)
    for style in Style:
        sets[f"sst2:{style}"] = [r["attacked"] for r in perturbations(sentences, style, SEED)]
    for kind in KINDS:
        sets[f"sst2:{kind}"] = [r["attacked"] for r in generate(sentences, kind)
                                if r["attacked"] != r["clean"]]
    return {k: v[:per_kind * 3] for k, v in sets.items()}


async def latency(texts: list[str], runs: int) -> dict[str, float]:
    # the cache is off: every request is purified, as on a miss
    defense = Defense(LexicalPurifier())

    async def one_pass(verdict: bool) -> float:
        started = time.perf_counter()
        for text in texts:
            outcome = await defense.purify([text])
            if verdict:
                _ = (outcome.verdict, outcome.score)
        return (time.perf_counter() - started) / len(texts) * 1e6

    await one_pass(True)  # warm the lexicon and the purifier's caches
    with_v, without = [], []
    for run in range(runs):  # alternate which goes first (ABBA): drift hits both alike
        for verdict in (False, True) if run % 2 == 0 else (True, False):
            (with_v if verdict else without).append(await one_pass(verdict))
    outcomes = [await defense.purify([text]) for text in texts]
    started = time.perf_counter()
    for _ in range(20):
        for outcome in outcomes:
            _ = (outcome.verdict, outcome.score)
    alone = (time.perf_counter() - started) / (20 * len(outcomes)) * 1e6
    return {"without_us": statistics.median(without), "with_us": statistics.median(with_v),
            "ratio": statistics.median(with_v) / statistics.median(without),
            "spread_without_us": max(without) - min(without), "verdict_alone_us": alone}


def report(summary: dict[str, Any]) -> None:
    default = f"{DEFAULT_BLOCK_THRESHOLD:g}"
    head = " | ".join(f"**{t:g}**" if f"{t:g}" == default else f"{t:g}" for t in THRESHOLDS)
    print("\n(a) clean texts blocked, by block_threshold (bold: the default)\n")
    print(f"| set | texts | {head} |")
    print("|---|---:|" + "---:|" * len(THRESHOLDS))
    for name, row in summary["clean"].items():
        cells = " | ".join(f"{row['blocked'][f'{t:g}']:.1%}" for t in THRESHOLDS)
        print(f"| {name} | {row['texts']} | {cells} |")
    print("\n(b) attacked texts blocked, by kind and block_threshold\n")
    print(f"| kind | texts | {head} |")
    print("|---|---:|" + "---:|" * len(THRESHOLDS))
    for name, row in summary["attacked"].items():
        cells = " | ".join(f"{row['blocked'][f'{t:g}']:.1%}" for t in THRESHOLDS)
        print(f"| {name} | {row['texts']} | {cells} |")
    lat = summary["latency"]
    print(f"\n(c) lexical Defense.purify per one-text request, median of {summary['runs']} runs: "
          f"without verdict {lat['without_us']:.1f} us, with verdict {lat['with_us']:.1f} us, "
          f"ratio {lat['ratio']:.3f} (run-to-run spread without: "
          f"{lat['spread_without_us']:.1f} us); the verdict and score alone: "
          f"{lat['verdict_alone_us']:.2f} us a request")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-kind", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "verdict.json")
    opts = ap.parse_args()
    purifier = LexicalPurifier()

    def scores(texts: list[str]) -> list[float]:
        return [purifier.purify_text(t).score for t in texts]

    corpus = build(SEED)
    sentences = sst2()
    clean = {"sst2 validation": sentences}
    by_domain: dict[str, list[str]] = defaultdict(list)
    for text in corpus.texts:
        by_domain[f"corpus:{text.domain}"].append(text.text)
    clean |= {"corpus (all)": [t.text for t in corpus.texts], **dict(sorted(by_domain.items()))}
    summary: dict[str, Any] = {"python": platform.python_version(), "seed": SEED,
                               "runs": opts.runs, "default_threshold": DEFAULT_BLOCK_THRESHOLD,
                               "thresholds": THRESHOLDS}
    summary["clean"] = {name: {"texts": len(texts), "blocked": shares(scores(texts))}
                        for name, texts in clean.items()}
    summary["attacked"] = {name: {"texts": len(texts), "blocked": shares(scores(texts))}
                           for name, texts in sorted(attacked_sets(corpus, sentences,
                                                                   opts.per_kind).items())}
    summary["latency"] = asyncio.run(latency(sentences[:300], opts.runs))
    report(summary)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
