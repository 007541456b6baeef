"""A cache of target answers, so repeating a query (same model, prompt version, text) is free.

`QueryCache` is the seam: Redis when `redis.url` is set (`storage.redis_cache.RedisCache` with
the `query` namespace implements the same two methods), `DiskQueryCache` (SQLite in the user
cache dir) otherwise; `open_query_cache` picks one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

from llamos_gateway.files import cache_dir
from llamos_gateway.settings import Settings
from llamos_gateway.storage.redis_cache import RedisCache
from llamos_gateway.storage.redis_client import RedisClient


class QueryCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...


class DiskQueryCache:
    """SQLite file; calls run in a worker thread, off the event loop."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir("queries") / "llm-targets.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value BLOB)")

    def _get(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return bytes(row[0]) if row else None

    def _set(self, key: str, value: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, value))

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def set(self, key: str, value: bytes) -> None:
        await asyncio.to_thread(self._set, key, value)

    def close(self) -> None:
        with self._lock:
            self._db.close()


class MemoryQueryCache:
    """In-process dict; for tests and single runs."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self._data.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self._data[key] = value


@asynccontextmanager
async def open_query_cache(settings: Settings) -> AsyncIterator[QueryCache]:
    """Where the evaluation keeps its target answers: Redis (`{prefix}query:<key>`, for
    `cache.ttl_s`) when `redis.url` is set, so runs and machines share them, else SQLite in
    the user cache directory."""
    if settings.redis.url:
        client = RedisClient(settings.redis)
        try:
            yield RedisCache(client, ttl_s=settings.cache.ttl_s,
                             lock_timeout_s=settings.cache.lock_timeout_s, namespace="query")
        finally:
            await client.aclose()
        return
    disk = DiskQueryCache()
    try:
        yield disk
    finally:
        disk.close()
