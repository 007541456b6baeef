"""Shared state behind protocols: purification cache, rate limits, audit trail.

Redis versions are shared by every worker and replica; the in-memory versions are the
same interfaces for a single process. Only `storage/redis*` modules import redis.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Quota:
    """Per-key limits; None = unlimited."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


class RateLimiter(Protocol):
    async def acquire(self, key_id: str, *, tokens: int, quota: Quota) -> None:
        """Raise `RateLimited` (with a Retry-After header) when the key is over its quota."""


class Unlimited:
    async def acquire(self, key_id: str, *, tokens: int, quota: Quota) -> None:
        return None


class StoreUnavailable(Exception):
    """The shared store (Redis) did not answer in time or is marked down. Never reaches a
    client: each caller degrades (cache miss, fail-open limit, buffered audit record)."""


class Cache(Protocol):
    """Bytes by key, shared by every worker that opens the same store; entries expire."""

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def once(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        """The value for `key`, computed by at most one caller across all workers while the
        others wait for it (single flight). The bool is True when it came from the cache."""
        ...


class AuditReader(Protocol):
    """Where `llamos audit tail` reads the trail: the Redis stream, or a gateway's API."""

    async def read(self, *, after: str | None, limit: int) -> list[tuple[str, bytes]]:
        """(cursor, record) pairs: the oldest `limit` after `after`, else the newest `limit`."""
        ...


class AuditSink(Protocol):
    """Where audit records (JSON bytes) go, and where `GET /v1/audit` reads them back."""

    async def append(self, records: Sequence[bytes]) -> None:
        """Store the records in order; raise `StoreUnavailable` to have them kept and retried."""

    async def read(self, *, after: str | None, limit: int) -> list[tuple[str, bytes]]:
        """(cursor, record) pairs: the oldest `limit` after `after`, else the newest `limit`."""
        ...
