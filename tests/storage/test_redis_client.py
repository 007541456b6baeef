from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any, cast

import pytest

from llamos_gateway.settings import RedisSettings
from llamos_gateway.storage import StoreUnavailable
from llamos_gateway.storage.redis_client import Redis, RedisClient
from tests.storage.redis_helpers import OwnRedis, dead_url

pytestmark = pytest.mark.redis


def ping(r: Redis) -> Awaitable[Any]:
    return cast(Awaitable[Any], r.ping())


async def test_commands_run_and_keys_are_prefixed(redis_client: RedisClient) -> None:
    assert await redis_client.run(ping) is True
    assert redis_client.key("cache", "abc") == redis_client.prefix + "cache:abc"
    assert (await redis_client.probe())["ok"] is True


async def test_a_dead_redis_fails_fast_while_marked_down() -> None:
    client = RedisClient(RedisSettings(url=dead_url(), socket_timeout_s=0.2, retry_after_s=60))
    try:
        with pytest.raises(StoreUnavailable):
            await client.run(ping)
        assert not client.up
        started = time.perf_counter()
        for _ in range(100):
            with pytest.raises(StoreUnavailable):
                await client.run(ping)
        assert (time.perf_counter() - started) < 0.05  # no network while marked down
        health = client.health()
        assert health.skipped == 100
        assert health.errors == 1
        probe = await client.probe()
        assert probe["ok"] is False
        assert probe["required"] is False
    finally:
        await client.aclose()


async def test_it_reconnects_when_redis_returns(own_redis: OwnRedis) -> None:
    client = RedisClient(RedisSettings(url=own_redis.url, socket_timeout_s=0.3,
                                       retry_after_s=0.05))
    try:
        await client.run(lambda r: r.set("k", "v"))  # type: ignore[arg-type, return-value]
        own_redis.stop()
        with pytest.raises(StoreUnavailable):
            await client.run(ping)
        assert not client.up
        own_redis.start()
        assert (await client.probe())["ok"] is True  # the probe forces a retry
        assert client.up
        assert await client.run(ping) is True
    finally:
        await client.aclose()


async def test_a_redis_that_stops_answering_times_out(own_redis: OwnRedis) -> None:
    import os
    import signal

    client = RedisClient(RedisSettings(url=own_redis.url, socket_timeout_s=0.2, retry_after_s=60))
    process = own_redis._process
    assert process is not None
    try:
        assert await client.run(ping) is True
        os.kill(process.pid, signal.SIGSTOP)  # up but silent, like a hung server
        started = time.perf_counter()
        with pytest.raises(StoreUnavailable):
            await client.run(ping)
        assert time.perf_counter() - started < 1.0
    finally:
        os.kill(process.pid, signal.SIGCONT)
        await client.aclose()


async def test_a_cancelled_command_is_never_reported_as_done(redis_client: RedisClient) -> None:
    """redis-py can swallow a cancellation that lands during a command; `run` hands it on."""
    finished = 0
    for i in range(100):
        task = asyncio.create_task(redis_client.run(ping))
        await asyncio.sleep(0.00002 * (i % 40))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            continue
        finished += 1
        assert not task.cancelling(), "returned a result although it was cancelled"
    assert finished < 100  # some cancellations did land mid-command


async def test_a_refused_command_does_not_mark_redis_down(redis_client: RedisClient) -> None:
    """Redis answering "no" to one bad argument is not Redis being down: nobody backs off."""
    stream = redis_client.key("audit-test")
    with pytest.raises(StoreUnavailable):
        await redis_client.run(lambda r: cast(Awaitable[Any], r.xrange(stream, min="(1_000")))
    assert redis_client.up
    assert redis_client.health().skipped == 0
    assert await redis_client.run(ping) is True
