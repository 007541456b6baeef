from __future__ import annotations

import pytest

from llamos_gateway.errors import RateLimited
from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage import Quota
from llamos_gateway.storage.redis_client import RedisClient
from llamos_gateway.storage.redis_ratelimit import RedisRateLimiter
from tests.storage.redis_helpers import clear_of_window_edge, dead_url

pytestmark = pytest.mark.redis


async def test_requests_per_minute_shared_by_two_workers(redis_settings: RedisSettings) -> None:
    a, b = RedisClient(redis_settings), RedisClient(redis_settings)
    try:
        limiter_a, limiter_b = RedisRateLimiter(a), RedisRateLimiter(b)
        quota = Quota(requests_per_minute=3)
        await clear_of_window_edge()
        await limiter_a.acquire("team", tokens=1, quota=quota)
        await limiter_b.acquire("team", tokens=1, quota=quota)
        await limiter_a.acquire("team", tokens=1, quota=quota)
        with pytest.raises(RateLimited) as refused:
            await limiter_b.acquire("team", tokens=1, quota=quota)
        assert refused.value.status == 429
        assert refused.value.code == "rate_limit_exceeded"
        assert 1 <= int(refused.value.headers["retry-after"]) <= 60
        await limiter_b.acquire("other", tokens=1, quota=quota)
    finally:
        await a.aclose()
        await b.aclose()


async def test_tokens_per_minute(redis_client: RedisClient) -> None:
    limiter = RedisRateLimiter(redis_client)
    quota = Quota(tokens_per_minute=100)
    await clear_of_window_edge()
    await limiter.acquire("k", tokens=70, quota=quota)
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("k", tokens=40, quota=quota)
    assert refused.value.code == "tokens_rate_limit_exceeded"
    await limiter.acquire("k", tokens=30, quota=quota)  # the refused request spent nothing


async def test_no_quota_never_touches_redis() -> None:
    client = RedisClient(RedisSettings(url=dead_url(), socket_timeout_s=0.2))
    try:
        limiter = RedisRateLimiter(client)
        await limiter.acquire("k", tokens=5, quota=Quota())
        assert client.health().errors == 0
    finally:
        await client.aclose()


async def test_fail_open_and_closed_when_redis_is_down() -> None:
    client = RedisClient(RedisSettings(url=dead_url(), socket_timeout_s=0.2, retry_after_s=60))
    try:
        quota = Quota(requests_per_minute=1)
        opened = RedisRateLimiter(client)
        for _ in range(3):
            await opened.acquire("k", tokens=1, quota=quota)
        assert opened.failed_open == 3
        closed = RedisRateLimiter(client, fail_policy="closed", retry_after_s=2)
        with pytest.raises(RateLimited) as refused:
            await closed.acquire("k", tokens=1, quota=quota)
        assert refused.value.code == "rate_limiter_unavailable"
        assert refused.value.headers["retry-after"] == "2"
        assert closed.failed_closed == 1
    finally:
        await client.aclose()
