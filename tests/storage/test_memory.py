from __future__ import annotations

import asyncio

import pytest

from llamos_gateway.errors import RateLimited
from llamos_gateway.storage import Quota
from llamos_gateway.storage.memory import (
    Flights,
    MemoryAuditSink,
    MemoryCache,
    MemoryRateLimiter,
    NearCache,
    parse_cursor,
)


async def test_cache_get_set_and_lru_bound() -> None:
    cache = MemoryCache(ttl_s=60, max_entries=2)
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1"  # a is now the most recent
    await cache.set("c", b"3")
    assert await cache.get("b") is None
    assert await cache.get("a") == b"1"
    assert len(cache) == 2


async def test_cache_entries_expire() -> None:
    cache = MemoryCache(ttl_s=0.0001, max_entries=10)
    await cache.set("a", b"1")
    await asyncio.sleep(0.002)
    assert await cache.get("a") is None


async def test_once_computes_once_for_concurrent_callers() -> None:
    cache = MemoryCache(ttl_s=60, max_entries=10)
    calls = 0
    gate = asyncio.Event()

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        await gate.wait()
        return b"value"

    tasks = [asyncio.create_task(cache.once("k", compute)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert results.count((b"value", False)) == 1
    assert results.count((b"value", True)) == 4
    assert await cache.once("k", compute) == (b"value", True)
    assert calls == 1


async def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = MemoryCache(ttl_s=60, max_entries=10)
    gate = asyncio.Event()

    async def boom() -> bytes:
        await gate.wait()
        raise ValueError("defense down")

    tasks = [asyncio.create_task(cache.once("k", boom)) for _ in range(3)]
    await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)
    assert await cache.get("k") is None


async def test_a_cancelled_leader_hands_over_to_a_waiter() -> None:
    flights = Flights()
    started = asyncio.Event()
    calls = 0

    async def slow() -> bytes:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.sleep(0 if calls > 1 else 10)
        return b"done"

    leader = asyncio.create_task(flights.run("k", slow))
    await started.wait()
    follower = asyncio.create_task(flights.run("k", slow))
    await asyncio.sleep(0)
    leader.cancel()
    assert await follower == (b"done", False)  # took over and computed
    assert calls == 2
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_rate_limiter_requests_per_minute() -> None:
    now = [120.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    quota = Quota(requests_per_minute=2)
    await limiter.acquire("a", tokens=1, quota=quota)
    await limiter.acquire("a", tokens=1, quota=quota)
    now[0] = 135.2
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("a", tokens=1, quota=quota)
    assert refused.value.status == 429
    assert refused.value.headers["retry-after"] == "45"
    await limiter.acquire("b", tokens=1, quota=quota)  # another key has its own budget
    now[0] = 180.0  # the next window
    await limiter.acquire("a", tokens=1, quota=quota)


async def test_rate_limiter_tokens_per_minute() -> None:
    limiter = MemoryRateLimiter(clock=lambda: 60.0)
    quota = Quota(tokens_per_minute=100)
    await limiter.acquire("a", tokens=60, quota=quota)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("a", tokens=60, quota=quota)
    assert refused.value.code == "tokens_rate_limit_exceeded"
    await limiter.acquire("a", tokens=40, quota=quota)
    await limiter.acquire("a", tokens=10**6, quota=Quota())  # no quota: never refused


async def test_audit_sink_cursors() -> None:
    sink = MemoryAuditSink(maxlen=3)
    await sink.append([b"1", b"2", b"3", b"4"])
    newest = await sink.read(after=None, limit=2)
    assert [r for _, r in newest] == [b"3", b"4"]
    everything = await sink.read(after=None, limit=10)
    assert [r for _, r in everything] == [b"2", b"3", b"4"]  # capped at maxlen
    first = everything[0][0]
    later = await sink.read(after=first, limit=10)
    assert [r for _, r in later] == [b"3", b"4"]
    assert parse_cursor(first) < parse_cursor(later[0][0])
    assert await sink.read(after=later[-1][0], limit=10) == []


async def test_near_cache_serves_local_copies_and_fills_from_the_shared_one() -> None:
    shared = MemoryCache(ttl_s=60, max_entries=10)
    near_a = NearCache(shared, local_ttl_s=60, max_entries=10)
    near_b = NearCache(shared, local_ttl_s=60, max_entries=10)
    calls = 0

    async def compute() -> bytes:
        nonlocal calls
        calls += 1
        return b"v"

    assert await near_a.once("k", compute) == (b"v", False)
    assert await near_b.once("k", compute) == (b"v", True)  # from the shared cache
    assert await near_b.once("k", compute) == (b"v", True)  # from its own copy
    assert calls == 1
    assert near_b.local_hits == 1
    assert await near_b.local.get("k") == b"v"
    await near_a.set("x", b"y")
    assert await shared.get("x") == b"y"
    assert await near_b.get("x") == b"y"


async def test_cache_is_bounded_by_bytes_least_recent_first() -> None:
    cache = MemoryCache(ttl_s=60, max_entries=1000, max_bytes=10_000)
    for i in range(20):
        await cache.set(f"k{i}", bytes(1000))
        assert cache.bytes <= 10_000
    assert len(cache) < 10
    assert await cache.get("k19") == bytes(1000)
    assert await cache.get("k0") is None
    before = cache.bytes
    await cache.set("k19", b"x")  # replacing an entry gives its bytes back
    assert await cache.get("k19") == b"x"
    assert cache.bytes == before - 999


async def test_a_value_larger_than_the_whole_cache_is_not_kept() -> None:
    cache = MemoryCache(ttl_s=60, max_entries=1000, max_bytes=10_000)
    await cache.set("small", b"1")
    await cache.set("huge", bytes(20_000))
    assert await cache.get("huge") is None
    assert await cache.get("small") == b"1"


async def test_expired_entries_give_their_bytes_back() -> None:
    cache = MemoryCache(ttl_s=0.0001, max_entries=10, max_bytes=10_000)
    await cache.set("a", bytes(100))
    await asyncio.sleep(0.002)
    assert await cache.get("a") is None
    assert cache.bytes == 0


async def test_audit_sink_is_bounded_by_bytes_oldest_first() -> None:
    sink = MemoryAuditSink(maxlen=1000, max_bytes=5_000)
    await sink.append([bytes([65 + i]) * 1000 for i in range(10)])
    assert sink.bytes <= 5_000
    rows = await sink.read(after=None, limit=100)
    assert 1 <= len(rows) < 5
    assert rows[-1][1] == b"J" * 1000  # the newest is kept
    assert all(raw[:1] != b"A" for _, raw in rows)
