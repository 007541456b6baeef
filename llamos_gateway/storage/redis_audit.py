"""The audit trail as a Redis stream, `{prefix}audit`, capped near `stream_maxlen` entries
(approximate trimming, `MAXLEN ~`). Each entry has one field, `r`: the record as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llamos_gateway.storage.redis_client import Redis, RedisClient


class RedisStreamSink:
    def __init__(self, client: RedisClient, *, maxlen: int) -> None:
        self._client = client
        self._maxlen = maxlen
        self.stream = client.key("audit")

    async def append(self, records: Sequence[bytes]) -> None:
        async def add(r: Redis) -> object:
            pipe = r.pipeline(transaction=False)
            for record in records:
                pipe.xadd(self.stream, {"r": record}, maxlen=self._maxlen, approximate=True)
            return await pipe.execute()

        await self._client.run(add)

    async def read(self, *, after: str | None, limit: int) -> list[tuple[str, bytes]]:
        """Raises `storage.StoreUnavailable` when Redis does not answer."""
        if limit <= 0:
            return []
        if after is None:
            rows: Any = await self._client.run(
                lambda r: r.xrevrange(self.stream, count=limit))
            rows = list(reversed(rows))
        else:
            rows = await self._client.run(
                lambda r: r.xrange(self.stream, min=f"({after}", count=limit))
        return [(_text(entry_id), fields[b"r"]) for entry_id, fields in rows if b"r" in fields]


def _text(entry_id: bytes | str) -> str:
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

