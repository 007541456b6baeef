"""`llamos audit tail` against the shared Redis (DB 13, a prefix of this test's own)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from typer.testing import CliRunner

from llamos_gateway.cli import build_cli
from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage.redis_audit import RedisStreamSink
from llamos_gateway.storage.redis_client import RedisClient
from tests.storage.redis_helpers import (
    SHARED_URL,
    delete_prefix,
    shared_redis_available,
    unique_prefix,
)

pytestmark = pytest.mark.redis


@pytest.fixture
def prefix() -> Iterator[str]:
    if not shared_redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    value = unique_prefix()
    yield value
    delete_prefix(SHARED_URL, value)


def write(prefix: str, records: list[dict[str, object]]) -> None:
    async def go() -> None:
        client = RedisClient(RedisSettings(url=SHARED_URL, key_prefix=prefix))
        try:
            await RedisStreamSink(client, maxlen=100).append([orjson.dumps(r) for r in records])
        finally:
            await client.aclose()

    asyncio.run(go())


def test_tail_prints_the_newest_records(prefix: str) -> None:
    write(prefix, [{"id": f"req-{i}", "key_id": "team-a", "mode": "enforce", "changed": True,
                    "cache_hit": i == 2, "reasons": ["typo"], "texts": [{}]} for i in range(3)])
    env = {"LLAMOS_REDIS__URL": SHARED_URL, "LLAMOS_REDIS__KEY_PREFIX": prefix}
    result = CliRunner().invoke(build_cli(), ["audit", "tail", "-n", "2"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert "req-1" in lines[0] and "cache=miss" in lines[0]
    assert "req-2" in lines[1] and "cache=hit" in lines[1] and "key=team-a" in lines[1]
    whole = CliRunner().invoke(build_cli(), ["audit", "tail", "-n", "1", "--json"], env=env)
    assert orjson.loads(whole.output)["id"] == "req-2"


def test_tail_without_redis_is_one_clean_error() -> None:
    result = CliRunner().invoke(build_cli(), ["audit", "tail"], env={})
    assert result.exit_code != 0
    assert "redis.url" in str(result.exception)
