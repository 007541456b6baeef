#!/usr/bin/env python3
"""The lexical purifier on realistic traffic (issue 13): harm per domain, bad characters
undone, PromptAttack-style repair on a second task, speed.

Data, all built offline and seeded (`llamos_gateway.corpus`): the realistic corpus
(chat, code, markup, entities, names, languages, news), its perturbation suite, GLUE
SST-2 validation (clean, plus the bundled PromptAttack lists), and C1/C3/S1-style
perturbations of SST-2 and RTE sentences from our own generator.

    .venv/bin/python bench/realistic_bench.py [--runs 3] [--per-kind 300] [--write-sets DIR]

Writes bench/results/realistic.json. `--write-sets DIR` also writes the attacked sets as
`{clean, attacked, kind}` JSON lines for `purify_score.py --sets`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from rapidfuzz.distance.Levenshtein import distance

from llamos_gateway import backends
from llamos_gateway.corpus import build
from llamos_gateway.corpus.perturbations import GROUPS, suite
from llamos_gateway.corpus.promptattack import Style, perturbations
from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
SEED = 13
TARGET_HARM = 0.005
TARGET_GROUP = {"deletions": 0.95, "bidi": 0.95, "zalgo": 0.95, "invisible": 0.99,
                "confusables": 0.99, "broken_words": 0.80}
# Independent detectors of the parts that must come back untouched (not the purifier's).
ITEMS = {
    "code": re.compile(r"```[\s\S]*?```|`[^`\n]+`"),
    "markup": re.compile(r"</?[A-Za-z][\w:-]*(?:\s[^<>\n]*)?/?>|&[a-z]+;"),
    "url": re.compile(r"\b(?:https?|ftp|s3)://\S+"),
    "email": re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
}


def chars(text: str) -> str:
    return " ".join(TOKEN.findall(text.lower()))


def repair(clean: str, attacked: str, purified: str) -> float:
    before = distance(chars(attacked), chars(clean))
    after = distance(chars(purified), chars(clean))
    return 1.0 - after / before if before else (1.0 if after == 0 else 0.0)


# ---------------------------------------------------------------- measures


def harm(purify: Callable[[str], str], corpus: Any) -> dict[str, Any]:
    by_domain: dict[str, list[bool]] = defaultdict(list)
    by_language: dict[str, list[bool]] = defaultdict(list)
    items: dict[str, list[int]] = {k: [0, 0] for k in ITEMS}
    examples: dict[str, list[dict[str, str]]] = defaultdict(list)
    twice = 0
    for text in corpus.texts:
        out = purify(text.text)
        changed = out != text.text
        by_domain[text.domain].append(changed)
        if text.domain == "languages":
            by_language[text.language].append(changed)
        if changed and len(examples[text.domain]) < 5:
            examples[text.domain].append({"clean": text.text[:300], "purified": out[:300]})
        for kind, pattern in ITEMS.items():
            for match in pattern.finditer(text.text):
                items[kind][0] += 1
                items[kind][1] += match.group() not in out
        twice += purify(out) != out
    return {
        "domains": {d: {"n": len(v), "changed": sum(v) / len(v)} for d, v in by_domain.items()},
        "languages": {k: {"n": len(v), "changed": sum(v) / len(v)} for k, v in by_language.items()},
        "protected_items": {k: {"n": n, "changed": bad} for k, (n, bad) in items.items()},
        "not_idempotent": twice,
        "examples": examples,
    }


def restoration(purify: Callable[[str], str], rows: list[dict[str, str]]) -> dict[str, Any]:
    kinds: dict[str, list[tuple[bool, float]]] = defaultdict(list)
    domains: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    misses: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        out = purify(row["attacked"])
        exact = out == row["clean"]
        kinds[row["kind"]].append((exact, repair(row["clean"], row["attacked"], out)))
        domains[row["kind"]][row.get("domain", "-")].append(exact)
        if not exact and len(misses[row["kind"]]) < 5:
            misses[row["kind"]].append({"clean": row["clean"][:200],
                                        "attacked": row["attacked"][:200], "purified": out[:200]})
    out: dict[str, Any] = {"kinds": {}, "groups": {}, "misses": misses}
    for kind, values in kinds.items():
        out["kinds"][kind] = {
            "n": len(values), "exact": sum(v[0] for v in values) / len(values),
            "repair": statistics.mean(v[1] for v in values),
            "domains": {d: sum(v) / len(v) for d, v in domains[kind].items()}}
    for group, members in GROUPS.items():
        values = [v for k in members for v in kinds.get(k.value, [])]
        if values:
            out["groups"][group] = {"n": len(values),
                                    "exact": sum(v[0] for v in values) / len(values)}
    return out


def repair_by_kind(purify: Callable[[str], str], rows: list[dict[str, str]]) -> dict[str, Any]:
    values: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for row in rows:
        out = purify(row["attacked"])
        values[row["kind"]].append((repair(row["clean"], row["attacked"], out),
                                    chars(out) == chars(row["clean"])))
    return {k: {"n": len(v), "repair": statistics.mean(x[0] for x in v),
                "exact": sum(x[1] for x in v) / len(v)} for k, v in values.items()}


def speed(purify: Callable[[str], object], texts: list[str], runs: int) -> dict[str, float]:
    cpu, wall = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            purify(text)
        wall.append(len(texts) / (time.perf_counter() - start))
        cpu.append(len(texts) / max(time.process_time() - start_cpu, 1e-9))
    size = sum(len(t) for t in texts)
    return {"texts": len(texts), "chars": size, "cpu": statistics.median(cpu),
            "wall": statistics.median(wall),
            "chars_per_s": statistics.median(cpu) * size / len(texts)}


# ---------------------------------------------------------------- data


def glue(name: str) -> list[dict[str, Any]]:
    data = resources.files("llamos_gateway") / "data" / "glue" / name
    return [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines()]


def promptattack_sst2(sst2: list[str]) -> list[dict[str, str]]:
    """The bundled PromptAttack C1/C3/S1 lists whose sentence differs from the clean one."""
    data = resources.files("llamos_gateway") / "data" / "promptattack" / "sst-2.json"
    lists = json.loads(data.read_text(encoding="utf-8"))
    rows = []
    for kind in ("C1", "C3", "S1"):
        for strategy in lists[kind].values():
            for row in strategy:
                clean = sst2[row["idx"]]
                if chars(row["sentence"]) != chars(clean):
                    rows.append({"clean": clean, "attacked": row["sentence"], "kind": kind})
    return rows


# ---------------------------------------------------------------- report


def mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def report(s: dict[str, Any]) -> None:
    h = s["harm"]
    print("Clean texts changed, per domain (target <= 0.5% each):")
    print(f"  {'domain':10} {'n':>5} {'changed':>8}")
    for d, v in h["domains"].items():
        print(f"  {d:10} {v['n']:>5} {v['changed']:>8.2%}  {mark(v['changed'] <= TARGET_HARM)}")
    print("  languages: " + ", ".join(f"{k} {v['changed']:.1%} of {v['n']}"
                                      for k, v in h["languages"].items()))
    print("  parts that must come back untouched (target: 0 changed): " + ", ".join(
        f"{k} {v['changed']}/{v['n']}" for k, v in h["protected_items"].items()))
    print(f"  purify(purify(x)) != purify(x): {h['not_idempotent']} texts")
    sst = s["sst2_clean"]
    print(f"SST-2 validation clean changed: {sst:.2%} (target <= 1%, {mark(sst <= 0.01)})")
    r = s["suite"]
    print("Perturbation suite, exact restoration:")
    print(f"  {'group':14} {'n':>5} {'exact':>7} {'target':>7}")
    for g, v in r["groups"].items():
        t = TARGET_GROUP.get(g)
        print(f"  {g:14} {v['n']:>5} {v['exact']:>7.3f} "
              f"{(f'{t:.2f} ' + mark(v['exact'] >= t)) if t else '-':>10}")
    print(f"  {'kind':22} {'n':>5} {'exact':>7} {'repair':>7}")
    for k, v in r["kinds"].items():
        print(f"  {k:22} {v['n']:>5} {v['exact']:>7.3f} {v['repair']:>7.3f}")
    g = s["generated_sst2"]
    print("Generated SST-2 kinds (repair; issue 13: no lower than 0.995/0.998/0.979/0.994/0.789):")
    print("  " + ", ".join(f"{k} {v['repair']:.3f}" for k, v in g.items()))
    p = s["promptattack"]
    print("PromptAttack-style repair (gap target: RTE within 0.1 of SST-2 per kind):")
    print(f"  {'kind':4} {'SST-2 lists':>12} {'SST-2 ours':>11} {'RTE ours':>9} {'gap':>6}")
    for kind in ("C1", "C3", "S1"):
        real, ours, rte = (p[name][kind]["repair"]
                           for name in ("sst2_lists", "sst2_ours", "rte_ours"))
        gap = abs(rte - real)
        print(f"  {kind:4} {real:>12.3f} {ours:>11.3f} {rte:>9.3f} {gap:>6.3f} {mark(gap <= 0.1)}")
    sp = s["speed"]
    print(f"Speed (one core, in process, CPU time, median of {sp['runs']}; load {sp['load']:.1f}):")
    c = sp["sst2"]
    print(f"  SST-2 clean: {c['cpu']:,.0f}/s (target >= 5,000, {mark(c['cpu'] >= 5000)}); "
          f"realistic corpus: {sp['corpus']['cpu']:,.0f} texts/s, "
          f"{sp['corpus']['chars_per_s'] / 1e6:.2f} M chars/s "
          f"(mean {sp['corpus']['chars'] / sp['corpus']['texts']:.0f} chars/text)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--per-kind", type=int, default=300)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "realistic.json")
    ap.add_argument("--write-sets", type=Path, default=None)
    ap.add_argument("--defense", default="lexical",
                    help="a backend that needs no defense model (e.g. ranked)")
    opts = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from lexical_bench import KINDS, generate  # the generated SST-2 kinds, as before

    purifier = LexicalPurifier()
    # any other offline backend (e.g. ranked) goes through its async seam
    backend = (None if opts.defense == "lexical"
               else backends.build_offline(opts.defense, Settings().defense))
    loop = asyncio.new_event_loop()

    def purify(text: str) -> str:
        if backend is None:
            return purifier.purify_text(text).purified
        return loop.run_until_complete(backend.purify(PurifyRequest(text))).purified

    corpus = build(SEED)
    rows = [r.as_dict() for r in suite(corpus, SEED, opts.per_kind)]
    sst2 = [r["sentence"] for r in glue("sst2_validation.jsonl")]
    rte = list(dict.fromkeys(s for r in glue("rte_validation.jsonl")
                             for s in (r["sentence1"], r["sentence2"])))
    ours = {name: [row for style in Style for row in perturbations(texts, style, SEED)]
            for name, texts in (("sst2_ours", sst2), ("rte_ours", rte))}
    lists = promptattack_sst2(sst2)
    summary: dict[str, Any] = {"python": platform.python_version(), "seed": SEED,
                               "corpus": corpus.manifest}
    summary["harm"] = harm(purify, corpus)
    summary["sst2_clean"] = sum(chars(purify(s)) != chars(s) for s in sst2) / len(sst2)
    summary["suite"] = restoration(purify, rows)
    generated = [row for kind in KINDS[:-1] for row in generate(sst2, kind)]
    summary["generated_sst2"] = repair_by_kind(purify, generated)
    summary["promptattack"] = {"sst2_lists": repair_by_kind(purify, lists),
                               **{k: repair_by_kind(purify, v) for k, v in ours.items()}}
    summary["speed"] = {"runs": opts.runs, "load": os.getloadavg()[0],
                        "sst2": speed(purify, sst2, opts.runs),
                        "corpus": speed(purify, [t.text for t in corpus.texts], opts.runs)}
    report(summary)
    if opts.write_sets:
        opts.write_sets.mkdir(parents=True, exist_ok=True)
        for name, data in (("suite", rows), ("sst2_ours", ours["sst2_ours"]),
                           ("rte_ours", ours["rte_ours"])):
            with (opts.write_sets / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
                for row in data:  # kinds named by set: the scorer also reads its own C1, ...
                    handle.write(json.dumps({"clean": row["clean"], "attacked": row["attacked"],
                                             "kind": f"{name}:{row['kind']}"},
                                            ensure_ascii=False) + "\n")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {opts.out.relative_to(ROOT) if opts.out.is_relative_to(ROOT) else opts.out}")


if __name__ == "__main__":
    main()
