from __future__ import annotations

import asyncio
import time

import pytest

from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage.redis_cache import RedisCache
from llamos_gateway.storage.redis_client import RedisClient
from tests.storage.redis_helpers import dead_url

pytestmark = pytest.mark.redis


class Counter:
    """A compute function that counts its calls and can be held until released."""

    def __init__(self, value: bytes = b"purified", fail: bool = False) -> None:
        self.calls = 0
        self.value = value
        self.fail = fail
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self) -> bytes:
        self.calls += 1
        self.entered.set()
        await self.release.wait()
        if self.fail:
            raise RuntimeError("defense down")
        return self.value


async def test_get_set_with_ttl(redis_client: RedisClient) -> None:
    cache = RedisCache(redis_client, ttl_s=100, lock_timeout_s=5)
    assert await cache.get("k") is None
    await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    ttl = await redis_client.run(lambda r: r.ttl(redis_client.key("cache", "k")))  # type: ignore[arg-type, return-value]
    assert 90 < ttl <= 100


async def test_single_flight_across_two_workers(redis_settings: RedisSettings) -> None:
    """Two clients = two worker processes: the same key computed concurrently is one call."""
    a, b = RedisClient(redis_settings), RedisClient(redis_settings)
    try:
        cache_a = RedisCache(a, ttl_s=100, lock_timeout_s=5)
        cache_b = RedisCache(b, ttl_s=100, lock_timeout_s=5)
        compute = Counter()
        tasks = [asyncio.create_task(c.once("k", compute))
                 for c in (cache_a, cache_b, cache_a, cache_b)]
        await compute.entered.wait()
        await asyncio.sleep(0.05)  # give the others time to (wrongly) start computing too
        compute.release.set()
        results = await asyncio.gather(*tasks)
        assert compute.calls == 1
        assert sorted(hit for _, hit in results) == [False, True, True, True]
        assert {v for v, _ in results} == {b"purified"}
        assert await cache_b.once("k", compute) == (b"purified", True)
        assert cache_a.stats.hits + cache_b.stats.hits == 4
        lock = await a.run(lambda r: r.exists(a.key("lock", "k")))  # type: ignore[arg-type, return-value]
        assert lock == 0  # released
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_failed_leader_lets_the_next_worker_compute(redis_settings: RedisSettings) -> None:
    a, b = RedisClient(redis_settings), RedisClient(redis_settings)
    try:
        failing, working = Counter(fail=True), Counter(b"second")
        working.release.set()
        leader = asyncio.create_task(RedisCache(a, ttl_s=100, lock_timeout_s=5).once("k", failing))
        await failing.entered.wait()
        follower = asyncio.create_task(
            RedisCache(b, ttl_s=100, lock_timeout_s=5).once("k", working))
        await asyncio.sleep(0.02)
        failing.release.set()
        with pytest.raises(RuntimeError):
            await leader
        assert await follower == (b"second", False)
        assert working.calls == 1
    finally:
        await a.aclose()
        await b.aclose()


async def test_waiters_give_up_after_the_lock_timeout(redis_settings: RedisSettings) -> None:
    a = RedisClient(redis_settings)
    try:
        name = a.key("lock", "k")
        await a.run(lambda r: r.set(name, "someone-else", px=60_000))  # type: ignore[arg-type, return-value]
        compute = Counter(b"mine")
        compute.release.set()
        started = time.perf_counter()
        value = await RedisCache(a, ttl_s=100, lock_timeout_s=0.2).once("k", compute)
        assert value == (b"mine", False)
        assert 0.15 < time.perf_counter() - started < 2.0
    finally:
        await a.aclose()


async def test_a_dead_redis_is_a_miss_with_local_single_flight() -> None:
    client = RedisClient(RedisSettings(url=dead_url(), socket_timeout_s=0.2, retry_after_s=60))
    try:
        cache = RedisCache(client, ttl_s=100, lock_timeout_s=5)
        compute = Counter()
        tasks = [asyncio.create_task(cache.once("k", compute)) for _ in range(3)]
        await asyncio.sleep(0.05)
        compute.release.set()
        results = await asyncio.gather(*tasks)
        assert compute.calls == 1  # still coalesced inside this process
        assert {v for v, _ in results} == {b"purified"}
        assert await cache.get("k") is None
        await cache.set("k", b"v")  # no exception
        assert cache.stats.errors >= 2
    finally:
        await client.aclose()
