"""Shared state behind protocols: purification cache, rate limits, audit trail.

Redis versions are shared by every worker and replica; the in-memory versions are the
same interfaces for a single process. Only `storage/redis*` modules import redis.
"""

from __future__ import annotations

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
