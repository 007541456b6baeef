"""The Redis connection: the only module that imports redis.

Every command runs through `RedisClient.run` with a deadline (`socket_timeout_s`). A failure
marks the store down for `retry_after_s`; while it is down, calls fail at once with
`StoreUnavailable` (no network wait on the request path), and the first call after the
back-off tries again, so the gateway reconnects on its own when Redis returns.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Redis = aioredis.Redis
Command = Callable[[Redis], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class RedisHealth:
    up: bool
    errors: int
    skipped: int
    last_error: str | None
    down_for_s: float


class RedisClient:
    def __init__(self, settings: RedisSettings, *, url: str | None = None) -> None:
        target = url or settings.url
        if not target:
            raise ValueError("RedisClient needs a URL")
        self.prefix = settings.key_prefix
        self.timeout_s = settings.socket_timeout_s
        self._retry_after_s = settings.retry_after_s
        self._redis: Redis = aioredis.from_url(  # type: ignore[no-untyped-call]
            target, socket_timeout=self.timeout_s, socket_connect_timeout=self.timeout_s,
            retry=Retry(NoBackoff(), 0), retry_on_error=[], health_check_interval=30)
        self._down_since: float | None = None
        self._next_try = 0.0
        self._errors = 0
        self._skipped = 0
        self._last_error: str | None = None

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def up(self) -> bool:
        return self._down_since is None

    async def run(self, command: Command[T], *, force: bool = False) -> T:
        """Run one command (or pipeline) under the deadline; `StoreUnavailable` on any failure.
        While the store is marked down the call fails at once unless `force` (probes)."""
        if self._down_since is not None and not force:
            now = time.monotonic()
            if now < self._next_try:
                self._skipped += 1
                raise StoreUnavailable("redis is marked down")
            self._next_try = now + self._retry_after_s  # this call is the one retry
        task = asyncio.current_task()
        cancelling = task.cancelling() if task is not None else 0
        try:
            # socket_timeout bounds each read; this bounds the whole exchange (connect included).
            async with asyncio.timeout(self.timeout_s * 2):
                result = await command(self._redis)
        except ResponseError as exc:
            # Redis answered, refusing this one command (a bad argument, a script error): the
            # store is up, so nothing is marked down and no other caller backs off.
            self._errors += 1
            self._last_error = type(exc).__name__
            raise StoreUnavailable(f"redis refused a command: {type(exc).__name__}") from exc
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            # idle pooled connections may be stale (a restarted server): drop them so the
            # next try opens fresh ones
            await self._redis.connection_pool.disconnect(inuse_connections=False)
            if task is not None and task.cancelling() > cancelling:
                raise asyncio.CancelledError from exc
            raise StoreUnavailable(f"redis: {type(exc).__name__}") from exc
        if task is not None and task.cancelling() > cancelling:
            # redis-py (6.4) sometimes returns a result although this task was cancelled
            # during the command; hand the cancellation on instead of losing it.
            raise asyncio.CancelledError
        if self._down_since is not None:
            log.warning("redis is back after %.1f s", time.monotonic() - self._down_since)
            self._down_since = None
        return result

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._errors += 1
        self._last_error = type(exc).__name__
        self._next_try = now + self._retry_after_s
        if self._down_since is None:
            self._down_since = now
            log.warning("redis unavailable (%s); degrading, next try in %.1f s",
                        self._last_error, self._retry_after_s)

    async def eval(self, script: str, keys: Sequence[str], args: Sequence[str | int | float],
                   *, force: bool = False) -> Any:
        """Run a Lua script (EVAL) through `run`."""
        return await self.run(
            lambda r: cast(Awaitable[Any], r.eval(script, len(keys), *keys, *map(str, args))),
            force=force)

    def health(self) -> RedisHealth:
        down = 0.0 if self._down_since is None else time.monotonic() - self._down_since
        return RedisHealth(self.up, self._errors, self._skipped, self._last_error, round(down, 3))

    async def probe(self) -> dict[str, Any]:
        """Readiness check: a PING that also serves as a reconnect attempt."""
        started = time.perf_counter()
        try:
            await self.run(lambda r: cast(Awaitable[Any], r.ping()), force=True)
        except StoreUnavailable:
            h = self.health()
            return {"ok": False, "required": False, "error": h.last_error,
                    "down_for_s": h.down_for_s, "errors": h.errors}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 2),
                "errors": self._errors}

    async def aclose(self) -> None:
        await self._redis.aclose()
