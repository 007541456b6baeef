"""Benchmark: TextAttack recipes against local/sst2-sentiment, lexical defense off versus on.

    .venv/bin/python bench/eval_bench.py                 # full run: 872 sentences, 4 recipes
    .venv/bin/python bench/eval_bench.py --limit 150     # quicker

Prints the per-run table and the targets (ASR cut, clean-accuracy cost, wall time), writes
bench/results/eval_bench.json and the usual report files under --output-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from llamos_gateway.evaluation.jobs import AttackJob, DataSpec, run_attack_job
from llamos_gateway.evaluation.local_model import MODEL_NAME
from llamos_gateway.evaluation.report import COLUMNS, markdown_table, report_dict, table_rows
from llamos_gateway.evaluation.results import Evaluation, relative_reduction
from llamos_gateway.evaluation.session import TargetSpec
from llamos_gateway.files import atomic_write
from llamos_gateway.settings import Settings

ROOT = Path(__file__).resolve().parent
# recipe -> minimum relative ASR reduction, adaptive mode (transfer: 0.8 for every recipe)
ADAPTIVE_TARGETS = {"deepwordbug": 0.6, "pruthi": 0.5, "homoglyph": 0.5, "invisible": 0.5}
TRANSFER_TARGET = 0.8
CLEAN_COST_POINTS = 0.5
WALL_LIMIT_S = 600.0


def targets(evaluation: Evaluation, defense: str) -> list[dict[str, Any]]:
    rows = []
    for recipe in dict.fromkeys(r.recipe for r in evaluation.runs):
        runs = {(r.defense, r.mode): r for r in evaluation.runs if r.recipe == recipe}
        off = runs["none", "adaptive"]
        for mode, goal in (("adaptive", ADAPTIVE_TARGETS.get(recipe, 0.5)),
                           ("transfer", TRANSFER_TARGET)):
            on = runs.get((defense, mode))
            if on is None:
                continue
            cut = relative_reduction(off.attack_success_rate, on.attack_success_rate)
            rows.append({"recipe": recipe, "mode": mode,
                         "asr_off": round(off.attack_success_rate, 4),
                         "asr_on": round(on.attack_success_rate, 4),
                         "reduction": None if cut is None else round(cut, 4), "target": goal,
                         "met": cut is not None and cut >= goal})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipes", default="deepwordbug,pruthi,homoglyph,invisible")
    parser.add_argument("--defense", default="lexical")
    parser.add_argument("--modes", default="adaptive,transfer")
    parser.add_argument("--workers", type=int, default=2, help="processes (recipes are split)")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/eval-bench"))
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "eval_bench.json")
    args = parser.parse_args()

    started = time.perf_counter()
    command = "python bench/eval_bench.py " + " ".join(sys.argv[1:])
    job = AttackJob(data=DataSpec("sst2", limit=args.limit, seed=args.seed),
                    target=TargetSpec(MODEL_NAME), recipes=tuple(args.recipes.split(",")),
                    defenses=(args.defense,), output_dir=args.output_dir, command=command,
                    modes=tuple(args.modes.split(",")), workers=args.workers)
    evaluation, _files = asyncio.run(run_attack_job(Settings(), job))
    total = time.perf_counter() - started

    print(markdown_table(COLUMNS, table_rows(evaluation)))
    goals = targets(evaluation, args.defense)
    print()
    print(markdown_table(("recipe", "mode", "ASR off", "ASR on", "cut", "target", "met"),
                         [(g["recipe"], g["mode"], f"{g['asr_off']:.3f}", f"{g['asr_on']:.3f}",
                           "-" if g["reduction"] is None else f"{100 * g['reduction']:.1f}%",
                           f">= {100 * g['target']:.0f}%", "yes" if g["met"] else "NO")
                          for g in goals]))
    purified = evaluation.meta["clean_accuracy_purified"][args.defense]
    cost = 100 * (evaluation.clean_accuracy - purified)
    queries = sum(r.queries for r in evaluation.runs)
    attack_s = sum(r.wall_s for r in evaluation.runs)
    print(f"\nclean accuracy {100 * evaluation.clean_accuracy:.2f}% "
          f"-> purified {100 * purified:.2f}% "
          f"(cost {cost:+.2f} points, target <= {CLEAN_COST_POINTS}) "
          f"{'met' if cost <= CLEAN_COST_POINTS else 'NOT MET'}")
    print(f"wall time {total:.1f} s (target < {WALL_LIMIT_S:.0f} s for the full run) with "
          f"{args.workers} worker(s) on {os.cpu_count()} cores; {queries} target queries, "
          f"{queries / total:.0f} queries/s overall")
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"load average at the end: {load} (the cores are shared: timings vary with it)")
    result = {"command": command,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "loadavg_end": load},
              "n": evaluation.n, "workers": args.workers, "wall_s": round(total, 2),
              "queries": queries, "queries_per_s": round(queries / total, 1),
              "attack_queries_per_s": round(queries / attack_s, 1) if attack_s else None,
              "clean_accuracy": round(evaluation.clean_accuracy, 4),
              "clean_accuracy_purified": round(purified, 4), "clean_cost_points": round(cost, 2),
              "targets": goals, "report": report_dict(evaluation, command)}
    atomic_write(args.json, json.dumps(result, indent=2, ensure_ascii=False).encode("utf-8"))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
