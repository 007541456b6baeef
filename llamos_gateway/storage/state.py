"""Opens the shared state the gateway needs: Redis-backed when `redis.url` is set, in-memory
(single process) otherwise. Called by the composition root (`wiring.open_components`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from llamos_gateway.settings import Settings
from llamos_gateway.storage import Cache, RateLimiter
from llamos_gateway.storage.audit import AuditTrail
from llamos_gateway.storage.memory import (
    MemoryAuditSink,
    MemoryCache,
    MemoryRateLimiter,
    NearCache,
)
from llamos_gateway.storage.redis_audit import RedisStreamSink
from llamos_gateway.storage.redis_cache import RedisCache
from llamos_gateway.storage.redis_client import RedisClient
from llamos_gateway.storage.redis_ratelimit import RedisRateLimiter

NEAR_TTL_S = 300  # how long a worker keeps its own copy of a shared cache entry


@dataclass
class SharedState:
    kind: str  # "redis" or "memory"
    cache: Cache
    limiter: RateLimiter
    audit: AuditTrail | None
    redis: RedisClient | None = None

    async def probe(self) -> dict[str, Any]:
        """Readiness check of the shared store (a PING, which also retries a down Redis),
        with the degradation counters."""
        if self.redis is None:
            return {"ok": True, "required": False, **self.info()}
        return {**await self.redis.probe(), **self.info()}

    def info(self) -> dict[str, Any]:
        """For `/readyz`: what is shared and the degradation counters."""
        out: dict[str, Any] = {"kind": self.kind}
        stats = getattr(self.cache, "stats", None)
        if stats is not None:
            out["stats"] = {**vars(stats), "local_hits": getattr(self.cache, "local_hits", 0)}
        if isinstance(self.limiter, RedisRateLimiter):
            out["rate_limit_failed_open"] = self.limiter.failed_open
            out["rate_limit_failed_closed"] = self.limiter.failed_closed
        if self.audit is not None:
            out["audit"] = self.audit.stats()
        if self.redis is not None:
            out["redis"] = _health(self.redis)
        return out


def _health(client: RedisClient) -> dict[str, Any]:
    h = client.health()
    return {"up": h.up, "errors": h.errors, "skipped": h.skipped, "last_error": h.last_error,
            "down_for_s": h.down_for_s}


@asynccontextmanager
async def open_shared_state(settings: Settings) -> AsyncIterator[SharedState]:
    async with AsyncExitStack() as stack:
        audit_settings = settings.audit
        if settings.redis.url:
            client = RedisClient(settings.redis)
            stack.push_async_callback(client.aclose)
            state = SharedState(
                kind="redis",
                cache=NearCache(RedisCache(client, ttl_s=settings.cache.ttl_s,
                                           lock_timeout_s=settings.cache.lock_timeout_s),
                                local_ttl_s=min(settings.cache.ttl_s, NEAR_TTL_S),
                                max_entries=settings.cache.max_entries,
                                max_bytes=settings.cache.max_bytes),
                limiter=RedisRateLimiter(client, fail_policy=settings.rate_limit.fail_policy,
                                         retry_after_s=settings.redis.retry_after_s),
                audit=None, redis=client)
            sink: Any = RedisStreamSink(client, maxlen=audit_settings.stream_maxlen)
        else:
            state = SharedState(
                kind="memory",
                cache=MemoryCache(ttl_s=settings.cache.ttl_s,
                                  max_entries=settings.cache.max_entries,
                                  max_bytes=settings.cache.max_bytes),
                limiter=MemoryRateLimiter(), audit=None)
            sink = MemoryAuditSink(audit_settings.stream_maxlen, audit_settings.max_bytes)
        if audit_settings.enabled:
            state.audit = await stack.enter_async_context(
                AuditTrail(sink, audit_settings, retry_after_s=settings.redis.retry_after_s))
        yield state
