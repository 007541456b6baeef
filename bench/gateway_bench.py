"""Core benchmark: what the gateway adds over calling the upstream directly, and how it compares
with LiteLLM's own proxy, all measured in one run against the same fast fake upstream.

    .venv/bin/python bench/gateway_bench.py               # full run (about 4 minutes)
    .venv/bin/python bench/gateway_bench.py --quick       # one short run per cell

Targets (issue 2): added p50 at concurrency 1 <= 1.5 ms over direct; throughput >= 5x LiteLLM
proxy's; streaming time to first chunk added <= 2 ms p50. Prints a table (median of --runs
runs per cell) and writes bench/results/gateway.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loadgen import RunResult, run  # bench/ is on sys.path when a script in it runs

from llamos_gateway.testing import GatewayProcess, ServerProcess, fixed_fake_openai, free_port
from llamos_gateway.testing.litellm_proxy import LITELLM_VERSION, VENV, ensure_litellm_proxy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
MASTER_KEY = "sk-llamos-bench-master-key-0123456789abcdef"
PROMPT = "it 's a charming and often affecting journey , with a few bad moments . "


@dataclass
class Target:
    name: str
    server: ServerProcess | None  # None: the fake upstream itself, already running
    port: int
    model: str = "bench"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Cell:
    target: str
    concurrency: int
    stream: bool
    runs: list[RunResult]

    def median(self, attr: str) -> float:
        values = [getattr(r, attr) for r in self.runs]
        return statistics.median(v for v in values if v is not None)


def targets(workdir: Path, upstream_port: int, with_litellm: bool) -> list[Target]:
    api_base = f"http://127.0.0.1:{upstream_port}/v1"
    config: dict[str, Any] = {"models": {"bench": {"model": "openai/bench-model",
                                                   "api_base": api_base}}}
    base_env = {"LLAMOS_CACHE__ENABLED": "false", "LLAMOS_AUDIT__ENABLED": "false",
                "LLAMOS_LOGGING__LEVEL": "WARNING"}
    count = 0

    def gateway(name: str, workers: int = 1, **env: str) -> Target:
        nonlocal count
        count += 1
        server = GatewayProcess(config, workdir, name=f"gw{count}", workers=workers,
                                env={**base_env, **env})
        return Target(name, server, server.port)

    out = [
        Target("direct (fake upstream)", None, upstream_port, model="bench-model"),
        gateway("llamos, defense off", LLAMOS_DEFENSE__MODE="off",
                LLAMOS_DEFENSE__BACKEND="passthrough"),
        gateway("llamos, passthrough purifier", LLAMOS_DEFENSE__BACKEND="passthrough"),
        gateway("llamos, lexical purifier", LLAMOS_DEFENSE__BACKEND="lexical"),
        gateway("llamos, passthrough, 2 workers", workers=2, LLAMOS_DEFENSE__BACKEND="passthrough"),
    ]
    binary = None
    if with_litellm:
        print(f"LiteLLM proxy {LITELLM_VERSION} from {VENV} (created on first use)", flush=True)
        binary = ensure_litellm_proxy()
        if binary is None:
            print("could not install LiteLLM's proxy; its rows are skipped", flush=True)
    if binary is not None:
        port = free_port()
        cfg = workdir / "litellm.yaml"
        cfg.write_text(json.dumps({"model_list": [{"model_name": "bench", "litellm_params": {
            "model": "openai/bench-model", "api_base": api_base, "api_key": "sk-fake"}}]}))
        proxy = ServerProcess(
            [str(binary), "--config", str(cfg), "--port", str(port), "--num_workers", "1"],
            port=port, log_path=workdir / "litellm.log", ready_path=None,
            env={"LITELLM_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                 "LITELLM_LOG": "ERROR"})
        out.append(Target("LiteLLM proxy", proxy, port,
                          headers={"Authorization": f"Bearer {MASTER_KEY}"}))
    return out


async def measure(target: Target, *, runs: int, seconds: float) -> list[Cell]:
    chat = {"model": target.model, "messages": [{"role": "user", "content": PROMPT}]}
    body = json.dumps(chat).encode()
    stream_body = json.dumps({**chat, "stream": True}).encode()
    cells = []
    for concurrency, payload, stream in ((1, body, False), (32, body, False),
                                         (1, stream_body, True)):
        results = []
        for _ in range(runs):
            result = await run("127.0.0.1", target.port, "/v1/chat/completions", payload,
                               concurrency=concurrency, seconds=seconds, headers=target.headers,
                               stream=stream)
            if result.errors:
                raise RuntimeError(f"{target.name}: {result.errors} errors at c={concurrency}")
            results.append(result)
        cells.append(Cell(target.name, concurrency, stream, results))
        print(f"  {target.name:34} c={concurrency:<3} {'stream' if stream else 'json  '} "
              f"{statistics.median(r.rps for r in results):9.0f} req/s  "
              f"p50 {statistics.median(r.p50_ms for r in results):7.2f} ms", flush=True)
    return cells


def report(cells: list[Cell]) -> dict[str, object]:
    def cell(name_part: str, concurrency: int, stream: bool = False) -> Cell | None:
        return next((c for c in cells if name_part in c.target and c.concurrency == concurrency
                     and c.stream == stream), None)

    direct1, direct32, direct_stream = (cell("direct", 1), cell("direct", 32),
                                        cell("direct", 1, True))
    litellm32 = cell("LiteLLM", 32)
    rows = []
    print("\n| target | c | req/s | p50 ms | p99 ms | added p50 vs direct (ms) "
          "| req/s vs LiteLLM |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for c in cells:
        if c.stream:
            continue
        base = direct1 if c.concurrency == 1 else direct32
        added = c.median("p50_ms") - base.median("p50_ms") if base else float("nan")
        vs = cell("LiteLLM", c.concurrency)
        ratio = c.median("rps") / vs.median("rps") if vs else float("nan")
        rows.append({"target": c.target, "concurrency": c.concurrency, "rps": c.median("rps"),
                     "p50_ms": c.median("p50_ms"), "p99_ms": c.median("p99_ms"),
                     "added_p50_ms": added, "x_litellm": ratio})
        print(f"| {c.target} | {c.concurrency} | {c.median('rps'):.0f} "
              f"| {c.median('p50_ms'):.2f} | "
              f"{c.median('p99_ms'):.2f} | {added:+.2f} | {ratio:.1f}x |")
    print("\n| streaming, c=1 | time to first chunk p50 ms | added vs direct (ms) |")
    print("|---|---:|---:|")
    for c in cells:
        if c.stream:
            added = (c.median("ttfb_p50_ms") - direct_stream.median("ttfb_p50_ms")
                     if direct_stream else 0)
            rows.append({"target": c.target, "stream": True, "ttfb_p50_ms": c.median("ttfb_p50_ms"),
                         "added_ttfb_ms": added})
            print(f"| {c.target} | {c.median('ttfb_p50_ms'):.2f} | {added:+.2f} |")

    checks: list[tuple[str, str, bool | None]] = []

    def check(label: str, value: float | None, ok: Callable[[float], bool], fmt: str) -> None:
        checks.append((label, "n/a" if value is None else fmt.format(value),
                       None if value is None else ok(value)))

    gw1, gw32 = cell("passthrough purifier", 1), cell("passthrough purifier", 32)
    gws = cell("passthrough purifier", 1, True)
    check("added p50 at c=1, defense on (target <= 1.5 ms)",
          gw1.median("p50_ms") - direct1.median("p50_ms") if gw1 and direct1 else None,
          lambda v: v <= 1.5, "{:+.2f} ms")
    check("throughput at c=32 vs LiteLLM proxy (target >= 5x)",
          gw32.median("rps") / litellm32.median("rps") if gw32 and litellm32 else None,
          lambda v: v >= 5, "{:.1f}x")
    check("streaming: added time to first chunk p50 (target <= 2 ms)",
          gws.median("ttfb_p50_ms") - direct_stream.median("ttfb_p50_ms")
          if gws and direct_stream else None, lambda v: v <= 2, "{:+.2f} ms")
    print("\n| target | measured | met |")
    print("|---|---:|:---:|")
    for label, value, ok in checks:
        print(f"| {label} | {value} | {'yes' if ok else ('n/a' if ok is None else 'NO')} |")
    return {"rows": rows, "checks": [{"check": a, "value": b, "met": c} for a, b, c in checks]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="1 run of 1.5 s per cell")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM proxy rows")
    parser.add_argument("--only", help="comma-separated substrings of target names to run")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "gateway.json")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 1.5
    workdir = Path(tempfile.mkdtemp(prefix="llamos-bench-"))
    upstream = fixed_fake_openai(workdir / "upstream.log")
    cells: list[Cell] = []
    try:
        upstream.start(timeout_s=120)
        for target in targets(workdir, upstream.port, not args.no_litellm):
            if args.only and not any(s in target.name for s in args.only.split(",")):
                continue
            if target.server is not None:
                target.server.start(timeout_s=120)
            try:
                cells += asyncio.run(measure(target, runs=args.runs, seconds=args.seconds))
            finally:
                if target.server is not None:
                    target.server.stop()
    finally:
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    summary = report(cells)
    summary["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "runs": args.runs, "seconds": args.seconds}
    summary["cells"] = [{**asdict(c), "runs": [asdict(r) for r in c.runs]} for c in cells]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
