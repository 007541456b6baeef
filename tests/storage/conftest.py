from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage.redis_client import RedisClient
from tests.storage.redis_helpers import (
    OwnRedis,
)


@pytest.fixture
async def redis_client(redis_settings: RedisSettings) -> AsyncIterator[RedisClient]:
    client = RedisClient(redis_settings)
    yield client
    await client.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path).start()
    yield server
    server.stop()
