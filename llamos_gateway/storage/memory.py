"""In-memory versions of the storage protocols: single process only.

Used when `redis.url` is unset. Each worker process gets its own cache, limits and audit
trail, so with `--workers N` a key gets N times its quota and each worker calls the defense
once per prompt. Run Redis for anything beyond one process.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence

from llamos_gateway.storage import Cache, Quota
from llamos_gateway.storage.quota import refusal, seconds_left, window_of


class Flights:
    """In-process single flight: concurrent calls for one key share the first caller's work."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[bytes]] = {}

    async def run(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        """(value, True) when this call waited on another's work, (value, False) when it led."""
        while (running := self._running.get(key)) is not None:
            try:
                return await asyncio.shield(running), True
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not running.cancelled() or (task is not None and task.cancelling()):
                    raise
                # the leader was cancelled (its client went away): the next caller takes over
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # followers re-raise it; the leader's copy must not warn
            raise
        else:
            future.set_result(value)
            return value, False
        finally:
            del self._running[key]


# what one entry costs besides its key and value bytes (the tuple, the float, the dict slot,
# the object headers), so that many tiny entries count too
ENTRY_OVERHEAD_BYTES = 160


class MemoryCache:
    """LRU with a TTL, bounded by `max_entries` and by `max_bytes` (keys + values + a fixed
    overhead per entry). A value larger than `max_bytes` on its own is not kept."""

    def __init__(self, *, ttl_s: float, max_entries: int,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._max_bytes = max_bytes
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._flights = Flights()
        self.bytes = 0

    async def get(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._drop(key)
            return None
        self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes) -> None:
        if key in self._items:
            self._drop(key)
        size = _size(key, value)
        if size > self._max_bytes:
            return
        self._items[key] = (time.monotonic() + self._ttl_s, value)
        self.bytes += size
        while len(self._items) > self._max or self.bytes > self._max_bytes:
            self._drop(next(iter(self._items)))

    def _drop(self, key: str) -> None:
        _, value = self._items.pop(key)
        self.bytes -= _size(key, value)

    async def once(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        cached = await self.get(key)
        if cached is not None:
            return cached, True

        async def compute_and_store() -> bytes:
            value = await compute()
            await self.set(key, value)
            return value

        return await self._flights.run(key, compute_and_store)

    def __len__(self) -> int:
        return len(self._items)


def _size(key: str, value: bytes) -> int:
    return len(key) + len(value) + ENTRY_OVERHEAD_BYTES


class MemoryRateLimiter:
    """Requests and tokens per key per one-minute window, in this process only."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[int, int, int]] = {}

    async def acquire(self, key_id: str, *, tokens: int, quota: Quota) -> None:
        rpm, tpm = quota.requests_per_minute, quota.tokens_per_minute
        if rpm is None and tpm is None:
            return
        now = self._clock()
        window = window_of(now)
        start, used_requests, used_tokens = self._windows.get(key_id, (window, 0, 0))
        if start != window:
            used_requests = used_tokens = 0
        if rpm is not None and used_requests + 1 > rpm:
            raise refusal(key_id, "requests", rpm, seconds_left(now))
        if tpm is not None and used_tokens + tokens > tpm:
            raise refusal(key_id, "tokens", tpm, seconds_left(now))
        self._windows[key_id] = (window, used_requests + 1, used_tokens + tokens)


class MemoryAuditSink:
    """The newest records of this process, at most `maxlen` of them and `max_bytes` in all,
    with stream-like cursors (`ms-seq`)."""

    def __init__(self, maxlen: int, max_bytes: int = 32 * 1024 * 1024) -> None:
        self._records: deque[tuple[tuple[int, int], bytes]] = deque()
        self._maxlen = maxlen
        self._max_bytes = max_bytes
        self._last = (0, 0)
        self.bytes = 0

    async def append(self, records: Sequence[bytes]) -> None:
        for record in records:
            ms = int(time.time() * 1000)
            self._last = (ms, 0) if ms > self._last[0] else (self._last[0], self._last[1] + 1)
            self._records.append((self._last, record))
            self.bytes += len(record) + ENTRY_OVERHEAD_BYTES
            while len(self._records) > self._maxlen or (
                    self.bytes > self._max_bytes and len(self._records) > 1):
                _, dropped = self._records.popleft()
                self.bytes -= len(dropped) + ENTRY_OVERHEAD_BYTES

    async def read(self, *, after: str | None, limit: int) -> list[tuple[str, bytes]]:
        if after is None:
            chosen = list(itertools.islice(reversed(self._records), limit))[::-1]
        else:
            cursor = parse_cursor(after)
            chosen = list(itertools.islice(
                (item for item in self._records if item[0] > cursor), limit))
        return [(f"{ms}-{seq}", record) for (ms, seq), record in chosen]


_CURSOR = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?", re.ASCII)


def parse_cursor(text: str) -> tuple[int, int]:
    """`1700000000000-3` or `1700000000000` -> (ms, seq); ValueError when malformed. Strict:
    ASCII digits only (int() would take "1_000", " 7" or "٣"), each part a Redis stream id's
    64-bit number, so a cursor that passes here is one Redis accepts too."""
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise ValueError(f"not a cursor: {text[:40]!r}")
    ms, seq = int(match[1]), int(match[2] or 0)
    if ms >= 1 << 64 or seq >= 1 << 64:
        raise ValueError("cursor out of range")
    return ms, seq


class NearCache:
    """A per-process copy in front of a shared cache. Entries are immutable (the key covers
    everything the value depends on), so a worker serves its hot prompts without a round trip,
    and keeps serving them while the shared store is down. Local entries live at most
    `local_ttl_s` (never longer than the shared TTL), bounded by `max_entries` and `max_bytes`."""

    def __init__(self, shared: Cache, *, local_ttl_s: float, max_entries: int,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.shared = shared
        self.local = MemoryCache(ttl_s=local_ttl_s, max_entries=max_entries, max_bytes=max_bytes)
        self.local_hits = 0

    @property
    def stats(self) -> object | None:
        return getattr(self.shared, "stats", None)

    async def get(self, key: str) -> bytes | None:
        value = await self.local.get(key)
        if value is None:
            value = await self.shared.get(key)
            if value is not None:
                await self.local.set(key, value)
        return value

    async def set(self, key: str, value: bytes) -> None:
        await self.local.set(key, value)
        await self.shared.set(key, value)

    async def once(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        value = await self.local.get(key)
        if value is not None:
            self.local_hits += 1
            return value, True
        value, hit = await self.shared.once(key, compute)
        await self.local.set(key, value)
        return value, hit
