#!/usr/bin/env python3
"""Score a purifier command on clean and attacked sentences.

The purifier is any command that reads JSON lines with a "text" field on stdin and
writes, in the same order, JSON lines with at least "text" and "purified" fields
(e.g. `llamos purify --jsonl --defense lexical`). Only the standard library is used.

Usage:
  purify_score.py [--sets DIR_OR_FILE ...] [--json OUT] -- COMMAND [ARGS...]

With no --sets it scores the bundled data (see Provenance below):
  * clean   : GLUE SST-2 validation. Metric: share of sentences the purifier changed
              ("harm"; lower is better). Comparison ignores case and spacing.
  * attacked: PromptAttack SST-2 lists (9 instructions x 2 strategies), entries that
              differ from their clean sentence. Metric per instruction: "repair", the
              mean share of the token-level edit distance to the clean sentence that
              purification removed (1 = fully restored, 0 = untouched, <0 = made worse),
              and "exact", the share restored exactly.
A --sets file may also be a JSONL of {"clean": ..., "attacked": ..., "kind": ...} rows;
they are scored like the attacked lists, grouped by "kind".

Provenance: this is the scorer provided with the project's task data
(`shared/tools/purify_score.py` next to `shared/data/external/`), shipped here so a fresh
clone can run the README's lexical benchmark. One change: with no --sets it reads the copies
of the same data bundled in the package (`llamos_gateway/data/glue/sst2_validation.jsonl`
and `llamos_gateway/data/promptattack/sst-2.json`, byte-identical to
`data/external/glue/...` and `data/external/PromptAttack/...`; see the README files there).
The metrics and their code are unchanged.

    .venv/bin/python bench/purify_score.py -- .venv/bin/llamos purify --jsonl --defense lexical
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "llamos_gateway" / "data"  # was HERE.parent / "data" / "external"
try:  # optional speed-up; the pure-Python fallback gives the same numbers
    from rapidfuzz.distance.Levenshtein import distance as _fast
except ImportError:
    try:
        from Levenshtein import distance as _fast
    except ImportError:
        _fast = None
TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def edit_distance(a: list[str], b: list[str]) -> int:
    if _fast is not None:
        return _fast("".join(a), "".join(b))
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def char_tokens(text: str) -> list[str]:
    # characters of the normalised token string, so a repaired typo counts partially
    return list(" ".join(tokens(text)))


def run_purifier(cmd: list[str], texts: list[str]) -> tuple[list[str], float]:
    payload = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=payload, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"purifier failed ({proc.returncode}): {proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    if len(rows) != len(texts):
        sys.exit(f"purifier returned {len(rows)} rows for {len(texts)} inputs")
    for row, text in zip(rows, texts):
        if row.get("text") != text:
            sys.exit("purifier output is out of order or altered the 'text' field")
    return [row["purified"] for row in rows], seconds


def load_default_sets() -> tuple[list[str], list[dict]]:
    dev = [json.loads(l) for l in (DATA / "glue" / "sst2_validation.jsonl").open()]
    clean = [r["sentence"] for r in dev]
    attacked = []
    pa = json.loads((DATA / "promptattack" / "sst-2.json").read_text())  # was "PromptAttack"
    for kind, strategies in pa.items():
        for rows in strategies.values():
            for r in rows:
                c = clean[r["idx"]]
                if tokens(r["sentence"]) != tokens(c):
                    attacked.append({"kind": kind, "clean": c, "attacked": r["sentence"]})
    return clean, attacked


def load_extra(path: Path) -> list[dict]:
    rows = [json.loads(l) for l in path.open() if l.strip()]
    return [r for r in rows if tokens(r["attacked"]) != tokens(r["clean"])]


def main() -> None:
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit(__doc__)
    cut = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", nargs="*", default=[])
    ap.add_argument("--json")
    ap.add_argument("--no-default", action="store_true")
    opts = ap.parse_args(argv[:cut])
    cmd = argv[cut + 1 :]

    clean, attacked = ([], []) if opts.no_default else load_default_sets()
    for s in opts.sets:
        attacked += load_extra(Path(s))
    texts = clean + [r["attacked"] for r in attacked]
    purified, seconds = run_purifier(cmd, texts)

    summary: dict = {"inputs": len(texts), "seconds": round(seconds, 3),
                     "texts_per_s": round(len(texts) / seconds, 1)}
    if clean:
        changed = sum(tokens(p) != tokens(c) for p, c in zip(purified, clean))
        summary["clean_changed_share"] = round(changed / len(clean), 4)
    by_kind: dict[str, list[tuple[float, bool]]] = {}
    for r, p in zip(attacked, purified[len(clean):]):
        c, a = char_tokens(r["clean"]), char_tokens(r["attacked"])
        d0 = edit_distance(a, c)
        d1 = edit_distance(char_tokens(p), c)
        by_kind.setdefault(r["kind"], []).append((1 - d1 / d0, d1 == 0))
    summary["repair"] = {k: {"n": len(v), "repair": round(statistics.mean(x for x, _ in v), 3),
                             "exact": round(sum(e for _, e in v) / len(v), 3)}
                         for k, v in sorted(by_kind.items())}
    print(f"inputs {summary['inputs']}  {summary['texts_per_s']} texts/s (whole command)")
    if "clean_changed_share" in summary:
        print(f"clean SST-2 validation changed: {summary['clean_changed_share']:.2%}")
    print(f"{'kind':12} {'n':>6} {'repair':>8} {'exact':>7}")
    for k, v in summary["repair"].items():
        print(f"{k:12} {v['n']:>6} {v['repair']:>8.3f} {v['exact']:>7.3f}")
    if opts.json:
        Path(opts.json).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
