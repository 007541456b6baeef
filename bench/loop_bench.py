#!/usr/bin/env python3
"""Does a large request block the event loop? `/healthz` latency while one is in flight.

A gateway process (one worker, the lexical backend, the in-memory cache and audit trail on,
as configured by default) in front of a fixed fake upstream. A probe thread asks `/healthz`
every 10 ms on its own connection; meanwhile large requests go through one at a time, each
with text it has not seen before (no cache hit):

- `parts`: a chat request of ~519 KB in 5,200 small text parts (the issue's case);
- `rtl`: `POST /v1/purify` of 1 MB of right-to-left text (Arabic and Hebrew words, bidi
  controls);
- `fullwidth`: `POST /v1/purify` of 1 MB of full-width Latin letters.

For each kind: the `/healthz` latency p50 / p99 / max while the requests were in flight,
the request's own time and its response size. `--before DIR` runs the same against another
checkout of the package (e.g. `git archive main | tar -x -C /tmp/before`) in the same run,
so both rows share the machine's state.

    .venv/bin/python bench/loop_bench.py [--runs 3] [--before /tmp/before]

Writes bench/results/loop.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from llamos_gateway.testing import ServerProcess, fixed_fake_openai, free_port

ROOT = Path(__file__).resolve().parent.parent
_SERVE = "from llamos_gateway.cli import main; main()"
_WORDS = ("the movie was a great and moving story about love loss and hope but the acting "
          "felt flat while the music carried every scene").split()
_RTL = ("مرحبا بالعالم هذا الفيلم رائع جدا والموسيقى جميلة "
        "שלום עולם הסרט הזה נפלא והמוזיקה יפה ").split()


def parts_body(rng: random.Random, size: int = 519_000) -> dict[str, Any]:
    parts, total = [], 0
    while total < size:
        text = " ".join(rng.choice(_WORDS) for _ in range(14)) + f" {rng.random():.8f}"
        parts.append({"type": "text", "text": text})
        total += len(text) + 26
    return {"model": "bench", "messages": [{"role": "user", "content": parts}]}


def rtl_text(rng: random.Random, size: int = 1_000_000) -> str:
    words, total = [], 0
    while total < size:
        word = rng.choice(_RTL)
        if rng.random() < 0.02:
            word = "\u202e" + word + "\u202c"
        words.append(word)
        total += len(word.encode()) + 1
    return " ".join(words)


def fullwidth_text(rng: random.Random, size: int = 1_000_000) -> str:
    words, total = [], 0
    while total < size:
        word = "".join(chr(ord(c) - 0x61 + 0xFF41) for c in rng.choice(_WORDS))
        words.append(word)
        total += len(word.encode()) + 1
    return " ".join(words)


@dataclass
class Row:
    version: str
    kind: str
    requests: int
    request_bytes: int
    response_bytes: int
    request_s: float
    healthz_n: int
    healthz_p50_ms: float
    healthz_p99_ms: float
    healthz_max_ms: float


class Probe(threading.Thread):
    """GET /healthz every `every_s` on its own connection; (start time, latency s) pairs."""

    def __init__(self, url: str, every_s: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                client.get(self.url + "/healthz").raise_for_status()
                self.samples.append((started, time.perf_counter() - started))
                time.sleep(self.every_s)

    def between(self, start: float, end: float) -> list[float]:
        return [lat for t, lat in self.samples if start <= t <= end]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000.0


def measure(version: str, url: str, runs: int, seed: int) -> list[Row]:
    rng = random.Random(seed)
    probe = Probe(url)
    probe.start()
    rows = []
    try:
        time.sleep(1.0)
        idle_end = time.perf_counter()
        idle = probe.between(idle_end - 1.0, idle_end)
        rows.append(Row(version, "idle", 0, 0, 0, 0.0, len(idle), _pct(idle, 0.5),
                        _pct(idle, 0.99), max(idle) * 1000.0))
        kinds = {"parts": lambda: ("/v1/chat/completions", parts_body(rng)),
                 "rtl": lambda: ("/v1/purify", {"texts": [rtl_text(rng)]}),
                 "fullwidth": lambda: ("/v1/purify", {"texts": [fullwidth_text(rng)]})}
        with httpx.Client(timeout=600) as client:
            for kind, build in kinds.items():
                latencies, took, sizes, out = [], [], 0, 0
                for _ in range(runs):
                    path, body = build()
                    raw = json.dumps(body, ensure_ascii=False).encode()
                    started = time.perf_counter()
                    reply = client.post(url + path, content=raw,
                                        headers={"content-type": "application/json"})
                    ended = time.perf_counter()
                    reply.raise_for_status()
                    latencies += probe.between(started, ended)
                    took.append(ended - started)
                    sizes, out = len(raw), len(reply.content)
                rows.append(Row(version, kind, runs, sizes, out, statistics.median(took),
                                len(latencies), _pct(latencies, 0.5), _pct(latencies, 0.99),
                                max(latencies) * 1000.0))
    finally:
        probe.stop.set()
        probe.join(timeout=60)
    return rows


def gateway(package_parent: Path, upstream: str, workdir: Path, name: str) -> ServerProcess:
    config = {"models": {"bench": {"model": "openai/bench-model", "api_base": upstream}},
              "defense": {"backend": "lexical"}, "logging": {"level": "WARNING"}}
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-c", _SERVE, "serve", "--config", str(path), "--host",
               "127.0.0.1", "--port", str(port), "--workers", "1"]
    return ServerProcess(command, port=port, log_path=workdir / f"{name}.log",
                         cwd=package_parent, env={"PYTHONPATH": str(package_parent)})


def table(rows: list[Row]) -> str:
    head = ("| version | request | size in | size out | request s | /healthz n | p50 ms "
            "| p99 ms | max ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r.version} | {r.kind} | {r.request_bytes / 1e3:,.0f} KB "
                     f"| {r.response_bytes / 1e3:,.0f} KB | {r.request_s:.2f} | {r.healthz_n} "
                     f"| {r.healthz_p50_ms:.1f} | {r.healthz_p99_ms:.1f} "
                     f"| {r.healthz_max_ms:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="requests of each kind")
    parser.add_argument("--before", type=Path, help="another checkout to measure first")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    versions = ([("before", args.before.resolve())] if args.before else []) + [("after", ROOT)]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="loop-bench-") as tmp:
        workdir = Path(tmp)
        with fixed_fake_openai(workdir / "fake.log", model="bench-model") as fake:
            for i, (version, parent) in enumerate(versions):
                with gateway(parent, fake.url + "/v1", workdir, version) as gw:
                    rows += measure(version, gw.url, args.runs, args.seed + i)
    print(table(rows))
    out = ROOT / "bench" / "results" / "loop.json"
    out.write_text(json.dumps({"machine": {"python": platform.python_version(),
                                           "cpus": os.cpu_count()},
                               "command": " ".join(["bench/loop_bench.py", *sys.argv[1:]]),
                               "rows": [asdict(r) for r in rows]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
