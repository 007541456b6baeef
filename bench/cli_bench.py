#!/usr/bin/env python3
"""Benchmark of the CLI's own start-up: how long a person waits for each short command.

Each command runs as a fresh process (the console script of this virtualenv), several times;
the table shows the median wall time and its ratio to `llamos version` measured in the same
run (the interpreter and the CLI's imports, the floor every command pays). With `--against
PATH` the same commands also run with another checkout first on the import path (e.g. the
main branch), so a change is measured against its baseline on the same machine, same load.

    .venv/bin/python bench/cli_bench.py [--runs 7] [--against ../main]
        [--out bench/results/cli.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LLAMOS = str(Path(sys.executable).parent / "llamos")
# the README's "put a real model behind it" config
REAL_CONFIG = ("""\
models:
  gpt-4o-mini: {model: openai/gpt-4o-mini, api_base: https://api.openai.com/v1, """
               """api_key_env: OPENAI_API_KEY}
  llama: {model: openai/llama3.1, api_base: http://127.0.0.1:11434/v1}
  claude: {model: anthropic/claude-3-5-haiku-latest, api_key_env: ANTHROPIC_API_KEY}
defense:
  model: gpt-4o-mini
  backend: tiered
""")


def commands(config: Path) -> dict[str, list[str]]:
    return {
        "llamos version": ["version"],
        "llamos models": ["models"],
        "llamos models --config <README real-model config>": ["models", "--config", str(config)],
        "llamos config": ["config"],
        'llamos purify "a tedious flim"': ["purify", "a tedious flim"],
    }


def time_once(args: list[str], tree: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMOS_")}
    env["PYTHONPATH"] = str(tree)
    started = time.perf_counter()
    done = subprocess.run([LLAMOS, *args], capture_output=True, env=env, check=False, cwd=tree)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{args} failed in {tree}: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--against", type=Path, help="another checkout to compare with")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cli.json")
    opts = ap.parse_args()
    trees = {"this tree": ROOT, **({"against": opts.against.resolve()} if opts.against else {})}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "llamos.yaml"
        config.write_text(REAL_CONFIG, encoding="utf-8")
        table = commands(config)
        times: dict[str, dict[str, list[float]]] = {t: {c: [] for c in table} for t in trees}
        for _ in range(opts.runs):  # interleaved, so load changes hit every command alike
            for tree_name, tree in trees.items():
                for name, args in table.items():
                    times[tree_name][name].append(time_once(args, tree))
    medians = {t: {c: statistics.median(v) for c, v in by.items()} for t, by in times.items()}
    header = "| command | median s | vs version |"
    rule = "|---|---:|---:|"
    if opts.against:
        header += " against: median s | this / against |"
        rule += "---:|---:|"
    print(header)
    print(rule)
    for name in table:
        mine = medians["this tree"][name]
        row = f"| {name} | {mine:.2f} | {mine / medians['this tree']['llamos version']:.2f}x |"
        if opts.against:
            theirs = medians["against"][name]
            row += f" {theirs:.2f} | {mine / theirs:.2f}x |"
        print(row)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"runs: {opts.runs}; load average at the end: {load}")
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps({
        "runs": opts.runs, "medians_s": medians, "samples_s": times,
        "against": str(opts.against) if opts.against else None, "load_average": load,
        "python": platform.python_version(), "machine": platform.machine()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
