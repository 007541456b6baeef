"""The shared cache in Redis, with single flight across workers.

Values live at `{prefix}cache:{key}` with a TTL. `once` first coalesces callers inside this
process, then takes `{prefix}lock:{key}` (SET NX PX, a random token) so one worker computes;
the others poll for the value until it lands, the lock goes away (the holder failed: the next
one takes over) or the lock timeout passes (then they compute themselves). When Redis is down
every call degrades to a miss with in-process single flight only.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from llamos_gateway.storage import StoreUnavailable
from llamos_gateway.storage.memory import Flights
from llamos_gateway.storage.redis_client import Redis, RedisClient

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_FIRST_POLL_S = 0.004
_MAX_POLL_S = 0.05


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    waits: int = 0
    errors: int = 0


class RedisCache:
    """Purification results by default; `namespace` keeps other values (the evaluation's target
    answers, `query`) apart from them."""

    def __init__(self, client: RedisClient, *, ttl_s: int, lock_timeout_s: float,
                 namespace: str = "cache") -> None:
        self._client = client
        self._namespace = namespace
        self._lock_namespace = "lock" if namespace == "cache" else f"{namespace}-lock"
        self._ttl_s = ttl_s
        self._lock_ms = max(1, int(lock_timeout_s * 1000))
        self._lock_timeout_s = lock_timeout_s
        self._flights = Flights()
        self.stats = CacheStats()

    async def get(self, key: str) -> bytes | None:
        name = self._client.key(self._namespace, key)
        try:
            value: bytes | None = await self._client.run(lambda r: r.get(name))
        except StoreUnavailable:
            self.stats.errors += 1
            return None
        return value

    async def set(self, key: str, value: bytes) -> None:
        name = self._client.key(self._namespace, key)
        try:
            await self._client.run(lambda r: r.set(name, value, ex=self._ttl_s))
        except StoreUnavailable:
            self.stats.errors += 1

    async def once(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        hit = False

        async def shared() -> bytes:
            nonlocal hit
            value, hit = await self._shared(key, compute)
            return value

        value, followed = await self._flights.run(key, shared)
        if followed:
            self.stats.hits += 1
            return value, True
        if hit:
            self.stats.hits += 1
        else:
            self.stats.misses += 1
        return value, hit

    async def _shared(self, key: str,
                      compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        cached = await self.get(key)
        if cached is not None:
            return cached, True
        lock = self._client.key(self._lock_namespace, key)
        token = secrets.token_hex(8)
        deadline = time.monotonic() + self._lock_timeout_s
        while time.monotonic() < deadline:
            try:
                won = await self._client.run(
                    lambda r: r.set(lock, token, nx=True, px=self._lock_ms))
            except StoreUnavailable:
                self.stats.errors += 1
                break  # degraded: compute without the shared lock
            if won:
                return await self._lead(key, lock, token, compute)
            self.stats.waits += 1
            value = await self._wait(key, lock, deadline)
            if value is not None:
                return value, True
        value = await compute()
        await self.set(key, value)
        return value, False

    async def _lead(self, key: str, lock: str, token: str,
                    compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        name = self._client.key(self._namespace, key)
        try:
            cached = await self.get(key)  # a leader may have finished between our GET and SET NX
            if cached is not None:
                await self._release(lock, token)
                return cached, True
            value = await compute()
        except BaseException:
            await self._release(lock, token)
            raise

        async def store_and_release(r: Redis) -> object:
            pipe = r.pipeline(transaction=True)
            pipe.set(name, value, ex=self._ttl_s)
            pipe.eval(_RELEASE, 1, lock, token)
            return await pipe.execute()

        try:
            await self._client.run(store_and_release)
        except StoreUnavailable:
            self.stats.errors += 1
        return value, False

    async def _release(self, lock: str, token: str) -> None:
        try:
            await self._client.eval(_RELEASE, [lock], [token])
        except StoreUnavailable:
            self.stats.errors += 1  # the lock expires on its own

    async def _wait(self, key: str, lock: str, deadline: float) -> bytes | None:
        """Poll until the value lands (returned) or the lock is gone or time is up (None)."""
        name = self._client.key(self._namespace, key)
        pause = _FIRST_POLL_S
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, _MAX_POLL_S)

            async def look(r: Redis) -> list[object]:
                pipe = r.pipeline(transaction=False)
                pipe.get(name)
                pipe.exists(lock)
                return list(await pipe.execute())

            try:
                value, locked = await self._client.run(look)
            except StoreUnavailable:
                self.stats.errors += 1
                return None
            if isinstance(value, bytes):
                return value
            if not locked:
                return None
        return None
