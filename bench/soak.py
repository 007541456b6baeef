#!/usr/bin/env python3
"""Soak: does the gateway's memory plateau under mixed traffic with the cache and audit on?

One `llamos serve` worker (the lexical backend, the in-memory purification cache and audit
trail on, their default byte bounds unless `--cache-mb` / `--audit-mb` say otherwise) in
front of a fixed fake upstream, driven for `--seconds` by `--concurrency` clients with a mix
of requests, every prompt distinct (no cache hit, so the cache and the trail keep growing
until their bounds):

    35% chat, 1-8 KB          15% chat streamed, 1-8 KB      20% /v1/purify, 1-100 KB
    15% chat, 50-500 KB       10% chat of 200-2,000 parts    5% GET /v1/audit

After a warm-up (the lexicon loaded, `--concurrency` requests of the largest size at once),
the worker's RSS is sampled every second (from /proc). Prints one row per `--every` seconds
and the verdict: the plateau is reached when the RSS of the last third of the run grew by
less than `--tolerance-mb` from its start to its end.

    .venv/bin/python bench/soak.py [--seconds 60] [--concurrency 8]

Writes bench/results/soak.json (every sample).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from llamos_gateway.testing import GatewayProcess, fixed_fake_openai

ROOT = Path(__file__).resolve().parent.parent
_WORDS = ("the movie was a great and moving story about love loss and hope but the acting "
          "felt flat while the music carried every scene i did not enjoy thiss wonderfull "
          "plot").split()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def text(rng: random.Random, size: int) -> str:
    words, total = [f"{rng.random():.12f}"], 0
    while total < size:
        word = rng.choice(_WORDS)
        words.append(word)
        total += len(word) + 1
    return " ".join(words)


def chat(content: Any, *, stream: bool = False) -> dict[str, Any]:
    return {"model": "bench", "stream": stream,
            "messages": [{"role": "user", "content": content}]}


def pick(rng: random.Random) -> tuple[str, str, dict[str, Any] | None]:
    roll = rng.random()
    if roll < 0.35:
        return "chat", "/v1/chat/completions", chat(text(rng, rng.randint(1_000, 8_000)))
    if roll < 0.50:
        return "stream", "/v1/chat/completions", chat(text(rng, rng.randint(1_000, 8_000)),
                                                      stream=True)
    if roll < 0.70:
        return "purify", "/v1/purify", {"texts": [text(rng, rng.randint(1_000, 100_000))]}
    if roll < 0.85:
        return "large", "/v1/chat/completions", chat(text(rng, rng.randint(50_000,
                                                                           500_000)))
    if roll < 0.95:
        parts = [{"type": "text", "text": text(rng, 100)}
                 for _ in range(rng.randint(200, 2_000))]
        return "parts", "/v1/chat/completions", chat(parts)
    return "audit", "/v1/audit?limit=100", None


async def client(url: str, seed: int, until: float, counts: Counter[str],
                 errors: Counter[str]) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        while time.monotonic() < until:
            kind, path, body = pick(rng)
            try:
                if body is None:
                    reply = await http.get(path)
                    status = reply.status_code
                elif kind == "stream":
                    async with http.stream("POST", path, json=body) as streamed:
                        async for _ in streamed.aiter_raw():
                            pass
                        status = streamed.status_code
                else:
                    reply = await http.post(path, json=body)
                    status = reply.status_code
            except httpx.HTTPError as exc:
                errors[f"{kind}: {type(exc).__name__}"] += 1
                continue
            counts[kind] += 1
            if status != 200:
                errors[f"{kind}: {status}"] += 1


async def warm_up(url: str, concurrency: int) -> None:
    """Before sampling: the lexicon loaded, and `concurrency` requests of the largest kind at
    once (the working set of the busiest moment), so the run measures the steady state."""
    rng = random.Random(-1)
    async with httpx.AsyncClient(base_url=url, timeout=300) as http:
        await http.post("/v1/purify", json={"texts": ["warm up"]})
        await asyncio.gather(*(http.post("/v1/chat/completions",
                                         json=chat(text(rng, 500_000)))
                               for _ in range(concurrency)))


async def drive(url: str, pid: int, seconds: float, concurrency: int) -> dict[str, Any]:
    await warm_up(url, concurrency)
    counts: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    started = time.monotonic()
    until = started + seconds
    samples = [(0.0, rss_mb(pid), 0)]
    clients = [asyncio.create_task(client(url, i, until, counts, errors))
               for i in range(concurrency)]
    while time.monotonic() < until:
        await asyncio.sleep(1.0 - (time.monotonic() - started) % 1.0)
        samples.append((round(time.monotonic() - started, 1), rss_mb(pid),
                        sum(counts.values())))
    await asyncio.gather(*clients)
    samples.append((round(time.monotonic() - started, 1), rss_mb(pid), sum(counts.values())))
    return {"samples": samples, "counts": dict(counts), "errors": dict(errors)}


def verdict(samples: list[tuple[float, float, int]], tolerance_mb: float) -> tuple[bool, str]:
    tail = samples[len(samples) * 2 // 3:]
    growth = tail[-1][1] - tail[0][1]
    peak = max(s[1] for s in samples)
    return growth < tolerance_mb, (
        f"last third ({tail[0][0]:.0f}-{tail[-1][0]:.0f} s): {tail[0][1]:.0f} -> "
        f"{tail[-1][1]:.0f} MB ({growth:+.1f} MB); peak {peak:.0f} MB; start "
        f"{samples[0][1]:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--every", type=int, default=5, help="a table row every N seconds")
    parser.add_argument("--cache-mb", type=int, help="cache.max_bytes in MiB (default: its)")
    parser.add_argument("--audit-mb", type=int, help="audit.max_bytes in MiB (default: its)")
    parser.add_argument("--tolerance-mb", type=float, default=15.0)
    args = parser.parse_args()
    cache: dict[str, Any] = {"enabled": True}
    audit: dict[str, Any] = {"enabled": True, "store_text": True}
    if args.cache_mb:
        cache["max_bytes"] = args.cache_mb * 1024 * 1024
    if args.audit_mb:
        audit["max_bytes"] = args.audit_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(tmp)
        with fixed_fake_openai(workdir / "fake.log", model="bench-model") as fake:
            config = {"models": {"bench": {"model": "openai/bench-model",
                                           "api_base": fake.url + "/v1"}},
                      "defense": {"backend": "lexical"}, "cache": cache, "audit": audit,
                      "limits": {"max_body_bytes": 8 * 1024 * 1024},
                      "logging": {"level": "WARNING"}}
            with GatewayProcess(config, workdir, workers=1) as gw:
                result = asyncio.run(drive(gw.url, gw.pid, args.seconds, args.concurrency))
    samples = result["samples"]
    print("| t s | RSS MB | requests |\n|---:|---:|---:|")
    for t, rss, done in samples:
        if t == 0 or int(t) % args.every == 0 or (t, rss, done) == tuple(samples[-1]):
            print(f"| {t:.0f} | {rss:.0f} | {done} |")
    flat, summary = verdict(samples, args.tolerance_mb)
    print(f"\nrequests: {result['counts']}; errors: {result['errors'] or 'none'}")
    print(f"RSS {'plateaus' if flat else 'does NOT plateau'}: {summary}")
    out = ROOT / "bench" / "results" / "soak.json"
    out.write_text(json.dumps({"machine": {"python": platform.python_version(),
                                           "cpus": os.cpu_count()},
                               "command": " ".join(["bench/soak.py", *sys.argv[1:]]),
                               "plateau": flat, "summary": summary, **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()
