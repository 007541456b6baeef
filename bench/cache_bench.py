"""Cache benchmark: what a purification-cache hit costs, measured in one run against the same
fast fake upstream as the core benchmark.

    .venv/bin/python bench/cache_bench.py            # full run (about 5 minutes)
    .venv/bin/python bench/cache_bench.py --quick    # one short run per cell

Targets (issue 5): at concurrency 1, the cache-hit path adds <= 1 ms p50 over the passthrough
purifier; at a 100% hit rate, throughput is >= 80% of the defense-off throughput. Every gateway
is a `llamos serve` process (1 worker); the hit rows wrap the lexical purifier in the cache and
are warmed with the benchmark prompt first, so every measured request is a hit. Runs are
interleaved across targets (run 1 of every target, then run 2, ...; the order rotates) and
the checks use per-run paired differences and ratios, so that load from other processes on
the machine falls on all of them alike. Prints a table (median of --runs runs per
cell) and writes bench/results/cache.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from loadgen import RunResult, run  # bench/ is on sys.path when a script in it runs

from llamos_gateway.testing import GatewayProcess, fixed_fake_openai

HERE = Path(__file__).resolve().parent
PROMPT = "it 's a charming and often affecting journey , with a few bad moments . "
BODY = json.dumps({"model": "bench",
                   "messages": [{"role": "user", "content": PROMPT}]}).encode()


@dataclass
class Target:
    name: str
    env: dict[str, str]
    server: GatewayProcess | None = None
    results: dict[int, list[RunResult]] = field(default_factory=dict)

    @property
    def port(self) -> int:
        assert self.server is not None, "not started"
        return self.server.port

    def median(self, concurrency: int, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.results[concurrency])


def targets(redis_url: str, prefix: str) -> list[Target]:
    off = {"LLAMOS_CACHE__ENABLED": "false", "LLAMOS_AUDIT__ENABLED": "false"}
    hit = {"LLAMOS_DEFENSE__BACKEND": "lexical", "LLAMOS_CACHE__ENABLED": "true",
           "LLAMOS_AUDIT__ENABLED": "false"}
    redis_env = {"LLAMOS_REDIS__URL": redis_url, "LLAMOS_REDIS__KEY_PREFIX": prefix}
    return [
        Target("defense off", {**off, "LLAMOS_DEFENSE__MODE": "off",
                               "LLAMOS_DEFENSE__BACKEND": "passthrough"}),
        Target("passthrough purifier", {**off, "LLAMOS_DEFENSE__BACKEND": "passthrough"}),
        Target("cache hit, in-memory", hit),
        Target("cache hit, Redis", {**hit, **redis_env}),
        Target("cache hit, Redis + audit stream", {**hit, **redis_env,
                                                   "LLAMOS_AUDIT__ENABLED": "true"}),
    ]


def start(target: Target, config: dict[str, Any], workdir: Path, index: int) -> None:
    target.server = GatewayProcess(config, workdir, name=f"gw{index}",
                                   env={**target.env, "LLAMOS_LOGGING__LEVEL": "WARNING"})
    target.server.start(timeout_s=120)


def warm(target: Target) -> None:
    """One request through the real path fills the cache; check the next one is a hit."""
    for _ in range(2):
        request = urllib.request.Request(f"http://127.0.0.1:{target.port}/v1/chat/completions",
                                         data=BODY, headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            cache = response.headers.get("x-llamos-cache")
    if "hit" in target.name and cache != "hit":
        raise RuntimeError(f"{target.name}: warm-up request was not a cache hit ({cache})")


async def measure(targets_: list[Target], concurrencies: tuple[int, ...], runs: int,
                  seconds: float) -> None:
    for target in targets_:  # a short unmeasured run: connections, caches, JIT-free warm-up
        await run("127.0.0.1", target.port, "/v1/chat/completions", BODY, concurrency=4,
                  seconds=0.5)
    for i in range(runs):
        order = targets_[i % len(targets_):] + targets_[:i % len(targets_)]  # rotate positions
        for concurrency in concurrencies:
            for target in order:
                result = await run("127.0.0.1", target.port, "/v1/chat/completions", BODY,
                                   concurrency=concurrency, seconds=seconds)
                if result.errors:
                    raise RuntimeError(f"{target.name}: {result.errors} errors at c={concurrency}")
                target.results.setdefault(concurrency, []).append(result)
                print(f"  run {i + 1} {target.name:34} c={concurrency:<3} {result.rps:8.0f} req/s"
                      f"  p50 {result.p50_ms:6.2f} ms", flush=True)


async def hit_path_us(redis_url: str, prefix: str, calls: int = 3000) -> dict[str, float]:
    """In-process p50 of one `purify` call, per cache layer, without HTTP: what a hit costs
    when the worker's near copy is missing and the entry comes from Redis (one GET)."""
    from llamos_gateway.defense.caching import CachingPurifier
    from llamos_gateway.defense.protocol import PassthroughPurifier, PurifyRequest
    from llamos_gateway.settings import RedisSettings
    from llamos_gateway.storage.memory import MemoryCache
    from llamos_gateway.storage.redis_cache import RedisCache
    from llamos_gateway.storage.redis_client import RedisClient

    class Named(PassthroughPurifier):
        name = cache_identity = "bench-inner"

    client = RedisClient(RedisSettings(url=redis_url, key_prefix=prefix))
    layers = {"passthrough purifier": PassthroughPurifier(),
              "hit, in-memory cache": CachingPurifier(Named(), MemoryCache(ttl_s=600,
                                                                           max_entries=10)),
              "hit, Redis GET (no near copy)": CachingPurifier(
                  Named(), RedisCache(client, ttl_s=600, lock_timeout_s=5))}
    out = {}
    try:
        request = PurifyRequest(PROMPT)
        for name, purifier in layers.items():
            await purifier.purify(request)
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                await purifier.purify(request)
                samples.append((time.perf_counter() - started) * 1e6)
            out[name] = statistics.median(samples)
    finally:
        await client.aclose()
    return out


def report(targets_: list[Target], high: int) -> dict[str, object]:
    by = {t.name: t for t in targets_}
    base_p50 = by["passthrough purifier"].median(1, "p50_ms")
    off_rps = by["defense off"].median(high, "rps")
    rows = []
    print(f"\n| target | p50 ms c=1 | added p50 vs passthrough (ms) | req/s c={high} "
          f"| vs defense off |")
    print("|---|---:|---:|---:|---:|")
    for t in targets_:
        p50, rps = t.median(1, "p50_ms"), t.median(high, "rps")
        rows.append({"target": t.name, "p50_ms_c1": p50, "added_p50_ms": p50 - base_p50,
                     "p99_ms_c1": t.median(1, "p99_ms"), f"rps_c{high}": rps,
                     "vs_defense_off": rps / off_rps})
        print(f"| {t.name} | {p50:.2f} | {p50 - base_p50:+.2f} | {rps:.0f} | "
              f"{rps / off_rps:.0%} |")
    hit, passthrough, off = by["cache hit, Redis"], by["passthrough purifier"], by["defense off"]
    # paired per run (the cells of one run are measured back to back), then the median:
    # slow drifts in the machine's load cancel out
    added = statistics.median(h.p50_ms - p.p50_ms for h, p in zip(
        hit.results[1], passthrough.results[1], strict=True))
    ratio = statistics.median(h.rps / o.rps for h, o in zip(
        hit.results[high], off.results[high], strict=True))
    checks = [
        ("cache hit (Redis) added p50 at c=1 over passthrough, paired (target <= 1 ms)",
         f"{added:+.2f} ms", added <= 1.0),
        (f"100% hit (Redis) throughput at c={high} / defense off, paired (target >= 80%)",
         f"{ratio:.0%}", ratio >= 0.8),
    ]
    print("\n| check | measured | met |")
    print("|---|---:|:---:|")
    for label, value, ok in checks:
        print(f"| {label} | {value} | {'yes' if ok else 'NO'} |")
    return {"rows": rows, "checks": [{"check": a, "value": b, "met": c} for a, b, c in checks]}


def forget(redis_url: str, prefix: str) -> None:
    """Delete the benchmark's own keys (and nothing else)."""
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=32, help="the throughput cell")
    parser.add_argument("--quick", action="store_true", help="1 run of 1.5 s per cell")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "cache.json")
    parser.add_argument("--only", help="comma-separated substrings of target names to run "
                                       "(the table needs 'defense off' and 'passthrough')")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 1, 1.5
    prefix = f"llamos-bench:{uuid.uuid4().hex[:8]}:"
    workdir = Path(tempfile.mkdtemp(prefix="llamos-cache-bench-"))
    upstream = fixed_fake_openai(workdir / "upstream.log").start(timeout_s=120)
    config = {"models": {"bench": {"model": "openai/bench-model",
                                   "api_base": upstream.url + "/v1"}}}
    chosen = [t for t in targets(args.redis_url, prefix)
              if not args.only or any(part in t.name for part in args.only.split(","))]
    try:
        for index, target in enumerate(chosen):
            start(target, config, workdir, index)
            warm(target)
        asyncio.run(measure(chosen, (1, args.concurrency), args.runs, args.seconds))
    finally:
        for target in chosen:
            if target.server is not None:
                target.server.stop()
        upstream.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        forget(args.redis_url, prefix)
    if not {"defense off", "passthrough purifier", "cache hit, Redis"} <= {t.name for t in chosen}:
        for t in chosen:
            print(f"{t.name}: c=1 p50 {t.median(1, 'p50_ms'):.2f} ms, "
                  f"c={args.concurrency} {t.median(args.concurrency, 'rps'):.0f} req/s")
        return
    summary = report(chosen, args.concurrency)
    layers = asyncio.run(hit_path_us(args.redis_url, prefix))
    print("\n| purify call, in-process, c=1 | p50 us |")
    print("|---|---:|")
    for name, value in layers.items():
        print(f"| {name} | {value:.0f} |")
    summary["in_process_p50_us"] = layers
    forget(args.redis_url, prefix)
    summary["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "runs": args.runs, "seconds": args.seconds,
                          "note": "loadgen, fake upstream, Redis and the gateways share the CPUs"}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
