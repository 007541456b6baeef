from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage.redis_client import RedisClient
from tests.storage.redis_helpers import (
    SHARED_URL,
    OwnRedis,
    delete_prefix,
    shared_redis_available,
    unique_prefix,
)


@pytest.fixture
def redis_settings() -> Iterator[RedisSettings]:
    """Settings for the shared Redis (DB 13) under a prefix of this test's own."""
    if not shared_redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings = RedisSettings(url=SHARED_URL, key_prefix=unique_prefix(), socket_timeout_s=1.0,
                             retry_after_s=0.2)
    yield settings
    delete_prefix(SHARED_URL, settings.key_prefix)


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
