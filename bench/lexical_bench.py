#!/usr/bin/env python3
"""Benchmark of the lexical purifier: harm, repair, screening and speed.

Data (bundled in the package): GLUE SST-2 validation (clean), the PromptAttack SST-2 lists
(attacked), and perturbations generated here from SST-2 validation, seeded, two words per
sentence: homoglyph, invisible, leetspeak, typo (keyboard neighbour), repeats, mix.
Repair is the share of the edit distance to the clean sentence that purification
removed, the metric of `purify_score.py`.

    .venv/bin/python bench/lexical_bench.py [--runs 5] [--cli] [--out bench/results/lexical.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

from rapidfuzz.distance.Levenshtein import distance

from llamos_gateway.lexical import LexicalPurifier

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
KINDS = ("homoglyph", "invisible", "leetspeak", "typo", "repeats", "mix")
TARGETS_REPAIR = {"C1": 0.50, "C3": 0.85, "S1": 0.45, "homoglyph": 0.95, "invisible": 0.95,
                  "repeats": 0.85, "leetspeak": 0.80, "typo": 0.60}
TARGETS_FLAG = {"C1": 0.75, "C3": 0.90, "S1": 0.90, **{k: 0.90 for k in KINDS}}


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def chars(text: str) -> str:
    return " ".join(tokens(text))


# ---------------------------------------------------------------- data


def load() -> tuple[list[str], list[dict[str, str]]]:
    data = resources.files("llamos_gateway") / "data"
    lines = (data / "glue" / "sst2_validation.jsonl").read_text(encoding="utf-8").splitlines()
    clean = [json.loads(line)["sentence"] for line in lines]
    attacked = []
    lists = json.loads((data / "promptattack" / "sst-2.json").read_text(encoding="utf-8"))
    for kind, strategies in lists.items():
        for rows in strategies.values():
            for row in rows:
                original = clean[row["idx"]]
                if tokens(row["sentence"]) != tokens(original):
                    attacked.append({"kind": kind, "clean": original, "attacked": row["sentence"]})
    return clean, attacked


# The Cyrillic look-alikes of the hand-made table the purifier used before it read Unicode's
# confusables data (rules v2); frozen here so that the generated rows stay comparable.
_LOOKALIKE = {"a": "а", "b": "в", "e": "ѐ", "k": "к", "m": "м", "h": "һ", "o": "о", "p": "р",
              "c": "с", "t": "т", "y": "у", "x": "х", "i": "ї", "j": "ј", "s": "ѕ", "l": "ӏ",
              "v": "ѵ"}
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\u200e", "\ufeff"]
_LEET = {"a": "4", "e": "3", "o": "0", "i": "1", "s": "5", "t": "7"}
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _neighbours(char: str) -> str:
    for r, row in enumerate(_ROWS):
        if char in row:
            i = row.index(char)
            near = row[max(0, i - 1):i] + row[i + 1:i + 2]
            for other in (r - 1, r + 1):
                if 0 <= other < 3:
                    near += _ROWS[other][max(0, i - 1):i + 1]
            return near
    return ""


def perturb_word(word: str, kind: str, rng: random.Random) -> str | None:
    if kind == "homoglyph":
        spots = [i for i, c in enumerate(word) if c in _LOOKALIKE]
        if not spots:
            return None
        for i in rng.sample(spots, min(2, len(spots))):
            word = word[:i] + _LOOKALIKE[word[i]] + word[i + 1:]
        return word
    if kind == "invisible":
        i = rng.randrange(1, len(word))
        return word[:i] + rng.choice(_INVISIBLE) + word[i:]
    if kind == "leetspeak":
        spots = [i for i, c in enumerate(word) if c in _LEET]
        if not spots:
            return None
        for i in rng.sample(spots, min(2, len(spots))):
            word = word[:i] + _LEET[word[i]] + word[i + 1:]
        return word
    if kind == "typo":
        spots = [i for i, c in enumerate(word) if _neighbours(c)]
        if len(word) < 4 or not spots:
            return None
        i = rng.choice(spots)
        return word[:i] + rng.choice(_neighbours(word[i])) + word[i + 1:]
    if kind == "repeats":
        i = rng.randrange(len(word))
        return word[:i + 1] + word[i] * rng.randint(2, 4) + word[i + 1:]
    raise ValueError(kind)


def generate(clean: list[str], kind: str, seed: int = 2405) -> list[dict[str, str]]:
    rng = random.Random(f"{seed}:{kind}")
    rows = []
    for sentence in clean:
        parts = sentence.split(" ")
        spots = [i for i, p in enumerate(parts) if p.isalpha() and len(p) >= 3]
        rng.shuffle(spots)
        done = 0
        for i in spots:
            use = rng.choice(KINDS[:-1]) if kind == "mix" else kind
            new = perturb_word(parts[i], use, rng)
            if new is not None and new != parts[i]:
                parts[i] = new
                done += 1
            if done == 2:
                break
        if done:
            rows.append({"kind": kind, "clean": sentence, "attacked": " ".join(parts)})
    return rows


# ---------------------------------------------------------------- measures


def evaluate(purifier: LexicalPurifier, clean: list[str],
             rows: list[dict[str, str]]) -> dict[str, Any]:
    results = [purifier.purify_text(s) for s in clean]
    out: dict[str, Any] = {
        "clean": {"n": len(clean),
                  "changed": sum(tokens(r.purified) != tokens(s)
                                 for r, s in zip(results, clean, strict=False)) / len(clean),
                  "byte_changed": sum(r.purified != s
                                      for r, s in zip(results, clean, strict=False)) / len(clean),
                  "passed": sum(not r.suspicious for r in results) / len(clean)},
        "kinds": {},
    }
    by_kind: dict[str, list[tuple[float, bool, bool]]] = {}
    for row in rows:
        result = purifier.purify_text(row["attacked"])
        target, before = chars(row["clean"]), chars(row["attacked"])
        d0 = distance(before, target)
        d1 = distance(chars(result.purified), target)
        by_kind.setdefault(row["kind"], []).append((1 - d1 / d0, d1 == 0, result.suspicious))
    for kind, values in by_kind.items():
        out["kinds"][kind] = {
            "n": len(values),
            "repair": statistics.mean(v[0] for v in values),
            "exact": sum(v[1] for v in values) / len(values),
            "flagged": sum(v[2] for v in values) / len(values),
        }
    return out


def speed(purifier: LexicalPurifier, texts: list[str], runs: int) -> dict[str, float]:
    """Texts per second by wall clock and by this process's CPU time (one core; the CPU
    figure is the one that does not move when other processes share the machine)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        for text in texts:
            purifier.purify_text(text)
        wall.append(len(texts) / (time.perf_counter() - start))
        cpu.append(len(texts) / max(time.process_time() - start_cpu, 1e-9))
    return {"wall": statistics.median(wall), "cpu": statistics.median(cpu)}


def startup(runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        cold = LexicalPurifier(cache_dir=Path(tmp))
        cold.purify_text("a tedious flim")  # the lazily loaded parts too
        build = time.perf_counter() - start
        warm = []
        for _ in range(runs):
            start = time.perf_counter()
            LexicalPurifier(cache_dir=Path(tmp))
            warm.append(time.perf_counter() - start)
        start = time.perf_counter()
        again = LexicalPurifier(cache_dir=Path(tmp))
        again.purify_text("a tedious flim and a poissed fancful")
        warm_full = time.perf_counter() - start
    return {"cold_build_s": build, "warm_constructor_s": statistics.median(warm),
            "warm_with_lazy_parts_s": warm_full}


def cli(texts: list[str]) -> dict[str, float]:
    llamos = str(Path(sys.executable).with_name("llamos"))
    payload = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    start = time.perf_counter()
    proc = subprocess.run([llamos, "purify", "--jsonl", "--defense", "lexical"], input=payload,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": proc.stderr[-500:]}  # type: ignore[dict-item]
    start = time.perf_counter()
    subprocess.run([llamos, "purify", "it 's a charming journey . "], capture_output=True,
                   check=False)
    one = time.perf_counter() - start
    return {"texts": len(texts), "seconds": seconds, "texts_per_s": len(texts) / seconds,
            "single_text_s": one}


# ---------------------------------------------------------------- report


def mark(ok: bool) -> str:
    return "ok" if ok else "MISS"


def report(summary: dict[str, Any]) -> None:
    c = summary["quality"]["clean"]
    print(f"clean SST-2 validation: changed {c['changed']:.2%} "
          f"(target <= 1%, {mark(c['changed'] <= 0.01)}), "
          f"bytes changed {c['byte_changed']:.2%}, passed screening {c['passed']:.2%} "
          f"(target >= 95%, {mark(c['passed'] >= 0.95)})")
    print(f"{'kind':10} {'n':>5} {'repair':>7} {'target':>7} {'exact':>6} {'flagged':>8} "
          f"{'target':>7}")
    for kind, v in summary["quality"]["kinds"].items():
        rt, ft = TARGETS_REPAIR.get(kind), TARGETS_FLAG.get(kind)
        rep = (f"{rt:.2f} {mark(v['repair'] >= rt)}" if rt
               else ("> -0.02 " + mark(v["repair"] > -0.02)))
        flag = f"{ft:.2f} {mark(v['flagged'] >= ft)}" if ft else "-"
        print(f"{kind:10} {v['n']:>5} {v['repair']:>7.3f} {rep:>11} {v['exact']:>6.3f} "
              f"{v['flagged']:>8.3f} {flag:>9}")
    s = summary["speed"]
    print(f"speed (one core, in process, median of {s['runs']} runs; texts/s by CPU time, "
          f"wall clock in brackets; load average {s['load_average']:.1f} on {s['cores']} cores):")
    for name, label in (("clean", "SST-2 validation, clean"), ("c1", "PromptAttack C1"),
                        ("attacked", "all PromptAttack lists")):
        v = s[name]
        extra = f" (target >= 5,000, {mark(v['cpu'] >= 5000)})" if name == "clean" else ""
        print(f"  {label:26} {v['cpu']:>8,.0f}/s  [{v['wall']:,.0f}/s]{extra}")
    st = summary["startup"]
    print(f"startup: cold build {st['cold_build_s']:.2f}s, "
          f"warm constructor {st['warm_constructor_s']:.3f}s, "
          f"warm incl. lazy parts {st['warm_with_lazy_parts_s']:.3f}s")
    if "cli" in summary:
        k = summary["cli"]
        if "error" in k:
            print(f"cli: failed: {k['error']}")
        else:
            print(f"cli end-to-end: {k['texts']} texts in {k['seconds']:.2f}s "
                  f"= {k['texts_per_s']:,.0f}/s; "
                  f"one text {k['single_text_s']:.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cli", action="store_true", help="also time `llamos purify --jsonl`")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "lexical.json")
    opts = ap.parse_args()
    clean, attacked = load()
    generated = [row for kind in KINDS for row in generate(clean, kind)]
    purifier = LexicalPurifier()
    summary: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    summary["quality"] = evaluate(purifier, clean, attacked + generated)
    c1 = [r["attacked"] for r in attacked if r["kind"] == "C1"]
    summary["speed"] = {"runs": opts.runs, "load_average": os.getloadavg()[0],
                        "cores": os.cpu_count(), "clean": speed(purifier, clean, opts.runs),
                        "c1": speed(purifier, c1, opts.runs),
                        "attacked": speed(purifier, [r["attacked"] for r in attacked], 1)}
    summary["startup"] = startup(3)
    if opts.cli:
        summary["cli"] = cli(clean + [r["attacked"] for r in attacked])
    report(summary)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {opts.out.relative_to(ROOT) if opts.out.is_relative_to(ROOT) else opts.out}")


if __name__ == "__main__":
    main()
