"""The ranked backend's decision rules side by side, in one process, on the issue-17 figures
that need no attack run: clean SST-2 validation changed (all, and the odd-numbered half that
no calibration saw), PromptAttack repair per kind (`bench/purify_score.py`'s metric, all
16,277 inputs), generated SST-2 typos (`bench/realistic_bench.py`'s `typo` kind and metric)
and the realistic benchmark corpus (seed 13) changed per domain. `lexical` is the baseline.

    PYTHONPATH=. nice -n 19 .venv/bin/python bench/ranked_decision_compare.py
    PYTHONPATH=. .venv/bin/python bench/ranked_decision_compare.py --scorer local \
        --rules lexical margin --limit 200 --out bench/results/ranked/local_compare.json

Prints a table and writes bench/results/ranked/decision_compare.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from llamos_gateway import backends
from llamos_gateway.corpus import build
from llamos_gateway.defense.protocol import Purifier, PurifyRequest
from llamos_gateway.ranking.calibration import CALIBRATED
from llamos_gateway.ranking.decision import Learned
from llamos_gateway.settings import DefenseSettings

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
import purify_score  # noqa: E402
from lexical_bench import generate  # noqa: E402
from realistic_bench import SEED, repair  # noqa: E402


async def measure(purifier: Purifier, sets: dict[str, Any]) -> dict[str, Any]:
    done: dict[str, str] = {}

    async def purify(text: str) -> str:
        if text not in done:
            done[text] = (await purifier.purify(PurifyRequest(text))).purified
        return done[text]

    tokens, chars = purify_score.tokens, purify_score.char_tokens
    clean = sets["sst2"]
    changed = [tokens(await purify(s)) != tokens(s) for s in clean]
    out: dict[str, Any] = {"sst2_changed": sum(changed) / len(changed),
                           "sst2_odd_changed": sum(changed[1::2]) / len(changed[1::2])}
    kinds: dict[str, list[float]] = defaultdict(list)
    for row in sets["promptattack"]:
        c, a = chars(row["clean"]), chars(row["attacked"])
        d0 = purify_score.edit_distance(a, c)
        d1 = purify_score.edit_distance(chars(await purify(row["attacked"])), c)
        kinds[row["kind"]].append(1 - d1 / d0)
    out["promptattack"] = {k: round(statistics.mean(v), 4) for k, v in sorted(kinds.items())}
    out["typo_repair"] = statistics.mean(
        [repair(r["clean"], r["attacked"], await purify(r["attacked"])) for r in sets["typo"]])
    domains: dict[str, list[bool]] = defaultdict(list)
    for text in sets["corpus"]:
        domains[text.domain].append(await purify(text.text) != text.text)
    out["corpus_changed"] = {d: round(sum(v) / len(v), 4) for d, v in domains.items()}
    return out


def settings(rule: str, candidates: int, words: int, scorer: str = "ngram") -> DefenseSettings:
    """`margin`, `learned`, or either with a change of its calibrated values for a trade-off
    curve: `margin*0.8` (both margins scaled), `learned+0.5` (both thresholds shifted)."""
    base = DefenseSettings(ranked_candidates=candidates, ranked_words=words,
                           ranked_scorer=scorer)
    if rule.startswith("margin*"):
        scale = float(rule.removeprefix("margin*"))
        cal = CALIBRATED[scorer]
        return base.model_copy(update={"ranked_margin_known": cal.known * scale,
                                       "ranked_margin_unknown": cal.unknown * scale})
    if rule.startswith("learned") and rule != "learned":
        shift = float(rule.removeprefix("learned"))
        cal = Learned.load()
        return base.model_copy(update={"ranked_decision": "learned",
                                       "ranked_threshold_known": cal.threshold + shift,
                                       "ranked_threshold_unknown": cal.threshold_unknown + shift})
    return base.model_copy(update={"ranked_decision": rule} if rule != "lexical" else {})


def limited(sets: dict[str, Any], n: int) -> dict[str, Any]:
    """A reduced run, for a slow scorer: the same sets cut down the same way for every rule."""
    by_kind: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in sets["promptattack"]:
        by_kind[row["kind"]].append(row)
    rng = random.Random(7)
    corpus: dict[str, list[Any]] = defaultdict(list)
    for text in sets["corpus"]:
        if len(corpus[text.domain]) < n:
            corpus[text.domain].append(text)
    return {"sst2": sets["sst2"][:n], "typo": sets["typo"][:n],
            "promptattack": [r for rows in by_kind.values()
                             for r in rng.sample(rows, min(n, len(rows)))],
            "corpus": [t for texts in corpus.values() for t in texts]}


def lowest(result: dict[str, Any]) -> float:
    return min(v for k, v in result["promptattack"].items() if k not in ("C1", "C2"))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", nargs="*", default=["lexical", "margin", "learned"])
    ap.add_argument("--candidates", type=int, default=6, help="defense.ranked_candidates")
    ap.add_argument("--words", type=int, default=8, help="defense.ranked_words")
    ap.add_argument("--scorer", default="ngram", choices=["ngram", "local"],
                    help="defense.ranked_scorer (the learned rule is the n-gram's only)")
    ap.add_argument("--limit", type=int, default=None,
                    help="the first N of SST-2, of the generated typos and of each corpus "
                         "domain, and N random PromptAttack rows per kind (seed 7)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "ranked" /
                    "decision_compare.json")
    opts = ap.parse_args()
    clean, attacked = purify_score.load_default_sets()
    sets = {"sst2": clean, "promptattack": attacked, "typo": generate(clean, "typo"),
            "corpus": build(SEED).texts}
    if opts.limit is not None:
        sets = limited(sets, opts.limit)
    results: dict[str, Any] = {}
    for rule in opts.rules:
        started = time.perf_counter()
        purifier = backends.build_offline("lexical" if rule == "lexical" else "ranked",
                                          settings(rule, opts.candidates, opts.words,
                                                   opts.scorer))
        results[rule] = await measure(purifier, sets)
        results[rule]["seconds"] = round(time.perf_counter() - started, 1)
        print(rule, json.dumps(results[rule]), flush=True)
    print(f"\n{'figure':28}" + "".join(f"{r:>13}" for r in results))
    rows = [("SST-2 changed", lambda r: f"{r['sst2_changed']:.2%}"),
            ("SST-2 odd changed", lambda r: f"{r['sst2_odd_changed']:.2%}"),
            ("PromptAttack C1", lambda r: f"{r['promptattack']['C1']:.3f}"),
            ("PromptAttack C2", lambda r: f"{r['promptattack']['C2']:.3f}"),
            ("lowest other kind", lambda r: f"{lowest(r):.3f}"),
            ("generated typos", lambda r: f"{r['typo_repair']:.3f}"),
            ("corpus worst domain", lambda r: "{}:{:.2%}".format(
                *max(r["corpus_changed"].items(), key=lambda kv: kv[1])))]
    for name, cell in rows:
        print(f"{name:28}" + "".join(f"{cell(r):>13}" for r in results.values()))
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
