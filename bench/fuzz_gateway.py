#!/usr/bin/env python3
"""Fuzz the gateway for minutes: every route and field (the strategies of
`llamos_gateway.testing.fuzz`), the app in-process with the lexical defense, both upstream
paths on a fake provider, auth, audit and metrics on.

A request may be refused (4xx) or fail upstream (502); a failure is a 500, an exception out
of the app, a logged traceback or ERROR line, or a response larger than 16x its request plus
16 KB (4 MB for GET routes, which answer about the gateway, not the request). Hypothesis
generates; nothing is shrunk here (tests/api/test_fuzz.py does that on a bounded run), so
every failure is listed as it was found.

    .venv/bin/python bench/fuzz_gateway.py [--seconds 180] [--batch 500]

Prints a table per route (requests, statuses, max response/request ratio of POST routes,
failures) and writes bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import time
from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import load_settings
from llamos_gateway.testing import FakeOpenAI, ServedApp
from llamos_gateway.testing.fuzz import (
    FuzzRequest,
    FuzzStats,
    TracebackCatcher,
    fuzz_config,
    requests,
    send,
)

ROOT = Path(__file__).resolve().parent.parent


def run(seconds: float, batch: int) -> tuple[FuzzStats, float]:
    stats = FuzzStats()
    catcher = TracebackCatcher()
    logging.getLogger().addHandler(catcher)
    deadline = time.monotonic() + seconds
    started = time.monotonic()
    with ServedApp(FakeOpenAI()) as served:
        app = create_app(load_settings(**fuzz_config(served.url + "/v1")))
        with TestClient(app, raise_server_exceptions=True) as client:
            while time.monotonic() < deadline:

                @seed(random.getrandbits(64))
                @settings(max_examples=batch, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
                @given(request=requests())
                def one(request: FuzzRequest) -> None:
                    if time.monotonic() >= deadline:
                        return
                    catcher.caught.clear()
                    send(client, request, stats)
                    for line in catcher.caught:
                        stats.fail(request, f"logged {line} on {request.describe()}")

                one()
    logging.getLogger().removeHandler(catcher)
    return stats, time.monotonic() - started


def table(stats: FuzzStats, elapsed: float) -> str:
    rows = ["| route | requests | statuses | max response/request | failures |",
            "|---|---:|---|---:|---:|"]
    for route in sorted(stats.requests):
        statuses = sorted((s, n) for (r, s), n in stats.statuses.items() if r == route)
        shown = ", ".join(f"{s}: {n}" for s, n in statuses)
        ratio = stats.max_ratio.get(route)
        rows.append(f"| {route} | {stats.requests[route]} | {shown} | "
                    f"{'-' if ratio is None else f'{ratio:.1f}x'} | {stats.failed[route]} |")
    total = sum(stats.requests.values())
    errors = sum(n for (_, s), n in stats.statuses.items() if s == 500)
    rows.append(f"| **all** | {total} | 500: {errors} | "
                f"{max(stats.max_ratio.values(), default=0):.1f}x | {len(stats.failures)} |")
    rows.append(f"\n{total} requests in {elapsed:.0f} s ({total / max(elapsed, 1e-9):.0f}/s)")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--batch", type=int, default=500, help="examples per hypothesis run")
    args = parser.parse_args()
    stats, elapsed = run(args.seconds, args.batch)
    print(table(stats, elapsed))
    for failure in stats.failures[:20]:
        print("FAILURE", failure[:600])
    out = ROOT / "bench" / "results" / "fuzz.json"
    out.write_text(json.dumps({
        "seconds": round(elapsed, 1), "machine": platform.platform(),
        "requests": dict(stats.requests),
        "statuses": {f"{r} {s}": n for (r, s), n in sorted(stats.statuses.items())},
        "max_ratio": {r: round(v, 2) for r, v in stats.max_ratio.items()},
        "failures": stats.failures[:200]}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
