"""Arena benchmark: the offline attacker against the local TF-IDF target, round after round,
with the lexical defense and without any defense.

    .venv/bin/python bench/arena_bench.py               # 200 SST-2 validation sentences, 5 rounds
    .venv/bin/python bench/arena_bench.py --limit 40    # a quick look

Target (issue 7): 200 sentences x 5 rounds finishes in under 5 minutes on 2 cores (both arenas,
one process, TextAttack imported once). Every round runs (`patience=0`), so the ASR curve has
five points. Prints a table and writes bench/results/arena.json; the arena output folders
(arena.json, transcript.jsonl, arena.md, arena.png) go under --runs-dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from llamos_gateway.arena.config import ArenaConfig
from llamos_gateway.arena.setup import run_arena
from llamos_gateway.settings import load_settings

HERE = Path(__file__).resolve().parent

DEFENSES = ("none", "lexical")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    out: dict[str, Any] = {"limit": args.limit, "rounds": args.rounds, "seed": args.seed,
                           "query_budget": args.query_budget, "attempts": args.attempts,
                           "cpus": os.cpu_count(), "python": platform.python_version(),
                           "runs": {}}
    started = time.perf_counter()
    for defense in DEFENSES:
        config = ArenaConfig(dataset="sst2", target="local/sst2-sentiment", attacker="offline",
                             defense=defense, rounds=args.rounds, limit=args.limit,
                             seed=args.seed, attempts=args.attempts,
                             query_budget=args.query_budget, patience=0,
                             output_dir=args.runs_dir / defense, fresh=True,
                             similarity=args.similarity)
        t0 = time.perf_counter()
        result = await run_arena(settings, config, live=not args.quiet,
                                 command=f"bench/arena_bench.py ({defense})")
        out["runs"][defense] = {"wall_s": round(time.perf_counter() - t0, 1),
                                "rounds": [asdict(r) for r in result.rounds],
                                "attacker_weights": result.meta["attacker"].get("weights"),
                                "defender_pool": len(result.meta["defender"].get(
                                    "missed_edits", []))}
    out["total_wall_s"] = round(time.perf_counter() - started, 1)
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["| defense | round | ASR | robust acc | fidelity pass | clean changed | "
             "defense calls | attack queries | round s |", "|" + "---|" * 9]
    for defense, run in result["runs"].items():
        for r in run["rounds"]:
            lines.append(f"| {defense} | {r['round']} | {r['attack_success_rate']:.3f} | "
                         f"{r['robust_accuracy']:.3f} | {r['fidelity_pass_rate']:.3f} | "
                         f"{r['clean_changed_rate']:.3f} | {r['defense_calls']} | "
                         f"{r['attack_queries']} | {r['seconds']:.1f} |")
    walls = ", ".join(f"{d} {run['wall_s']} s" for d, run in result["runs"].items())
    lines.append(f"\nwall time: {result['total_wall_s']} s in all ({walls}); "
                 f"target < 300 s on 2 cores")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--attempts", type=int, default=2)
    parser.add_argument("--query-budget", type=int, default=80)
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/arena-bench"))
    parser.add_argument("--results", type=Path, default=HERE / "results" / "arena.json")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--similarity", default="none",
                        help="the judge's similarity floor: none (as the documented table was "
                             "measured), local (a model pass per candidate) or bert-score:<dir>")
    args = parser.parse_args()
    result = asyncio.run(bench(args))
    print(table(result))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {args.results}")


if __name__ == "__main__":
    main()
