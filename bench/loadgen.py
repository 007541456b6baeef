"""A small, low-overhead HTTP/1.1 load generator for the benchmarks (keep-alive, raw asyncio).

Each worker holds one connection and sends requests back to back for a fixed time; latency is
measured per request, and for streamed replies the time to the first SSE event too. It costs
far less CPU per request than an HTTP client library, so on a 2-core machine most CPU goes to
the server being measured.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RunResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    ttfb_p50_ms: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def build_request(host: str, port: int, path: str, body: bytes,
                  headers: dict[str, str] | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader, started: float) -> tuple[int, float]:
    """Read one response; return (status, time to first body byte in s)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    first = 0.0
    if b"transfer-encoding: chunked" in lower:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip().split(b";")[0], 16)
            if not first:
                first = time.perf_counter() - started
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            del data
    else:
        marker = lower.find(b"content-length:")
        end = lower.find(b"\r\n", marker)
        length = int(lower[marker + 15:end].strip())
        await reader.readexactly(length)
        first = time.perf_counter() - started
    return status, first


async def _worker(host: str, port: int, payload: bytes, stop_at: float,
                  latencies: list[float], firsts: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(payload)
            try:
                status, first = await _read_response(reader, started)
            except (asyncio.IncompleteReadError, ConnectionError):
                errors.append(1)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(time.perf_counter() - started)
            firsts.append(first)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def run(host: str, port: int, path: str, body: bytes, *, concurrency: int,
              seconds: float, warmup_s: float = 0.5, headers: dict[str, str] | None = None,
              stream: bool = False) -> RunResult:
    payload = build_request(host, port, path, body, headers)
    if warmup_s:
        await asyncio.gather(*(_worker(host, port, payload, time.perf_counter() + warmup_s,
                                       [], [], []) for _ in range(concurrency)))
    latencies: list[float] = []
    firsts: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, payload, started + seconds, latencies, firsts,
                                   errors) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return RunResult(
        requests=len(latencies), errors=len(errors), seconds=elapsed,
        p50_ms=statistics.median(ordered) * 1000 if ordered else 0.0, p99_ms=p99 * 1000,
        ttfb_p50_ms=statistics.median(firsts) * 1000 if stream and firsts else None)
