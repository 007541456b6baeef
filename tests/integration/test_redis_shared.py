"""Several gateways sharing one Redis, and a Redis that goes away mid-run.

Shared Redis tests use DB 13 of the server on 127.0.0.1:6379 under a key prefix of their own
(deleted afterwards). Outage tests run a private redis-server on a free port and stop that
one; the shared server is never stopped.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.defense.protocol import Purifier
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI, GatewayProcess, Reply, ServedApp, SlowPurifier
from tests.conftest import factory_with
from tests.storage.redis_helpers import (
    SHARED_URL,
    OwnRedis,
    clear_of_window_edge,
    delete_prefix,
    shared_redis_available,
    unique_prefix,
)

pytestmark = pytest.mark.redis
CHAT = "/v1/chat/completions"


def chat(text: str, model: str = "fake") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


@pytest.fixture
def shared_prefix() -> Iterator[str]:
    if not shared_redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = unique_prefix()
    yield prefix
    delete_prefix(SHARED_URL, prefix)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path).start()
    yield server
    server.stop()


@asynccontextmanager
async def gateway(settings: Settings, purifier: Purifier) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, components=factory_with(purifier))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


# -- two gateways in one process, each with its own Components and Redis connections --------


async def test_one_defense_call_across_two_gateways(settings_for: Callable[..., Settings],
                                                    fake_upstream: FakeOpenAI,
                                                    shared_prefix: str) -> None:
    purifier = SlowPurifier(0.3)  # shared only to count: each gateway wraps it in its own cache
    settings = settings_for(redis={"url": SHARED_URL, "key_prefix": shared_prefix})
    async with gateway(settings, purifier) as a, gateway(settings, purifier) as b:
        together = await asyncio.gather(a.post(CHAT, json=chat("bad film")),
                                        b.post(CHAT, json=chat("bad film")))
        assert len(purifier.history) == 1
        assert sorted(r.headers["x-llamos-cache"] for r in together) == ["hit", "miss"]
        first = await a.post(CHAT, json=chat("bad plot"))
        second = await b.post(CHAT, json=chat("bad plot"))
        assert len(purifier.history) == 2
        assert (first.headers["x-llamos-cache"], second.headers["x-llamos-cache"]) == (
            "miss", "hit")
    answers = [r.json()["choices"][0]["message"]["content"] for r in [*together, first, second]]
    assert answers == ["[clean] good film"] * 2 + ["[clean] good plot"] * 2


async def test_rate_limit_across_two_gateways(settings_for: Callable[..., Settings],
                                              fake_upstream: FakeOpenAI,
                                              shared_prefix: str) -> None:
    settings = settings_for(redis={"url": SHARED_URL, "key_prefix": shared_prefix},
                            auth={"api_keys": [{"key": "sk-a", "id": "team-a",
                                                "requests_per_minute": 3}]})
    key = {"authorization": "Bearer sk-a"}
    async with gateway(settings, SlowPurifier(0)) as a, gateway(settings, SlowPurifier(0)) as b:
        await clear_of_window_edge()
        statuses = [(await gw.post(CHAT, json=chat("hi"), headers=key)).status_code
                    for gw in (a, b, a, b)]
    assert statuses == [200, 200, 200, 429]


# -- Redis goes away and comes back ---------------------------------------------------------


async def wait_until_redis_ready(client: httpx.AsyncClient, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (await client.get("/readyz")).json()["checks"]["redis"]["ok"]:
        assert time.monotonic() < deadline, "the gateway did not reconnect to Redis"
        await asyncio.sleep(0.05)


async def test_redis_outage_fails_no_request_and_recovers(settings_for: Callable[..., Settings],
                                                          fake_upstream: FakeOpenAI,
                                                          own_redis: OwnRedis) -> None:
    purifier = SlowPurifier(0)
    settings = settings_for(
        redis={"url": own_redis.url, "socket_timeout_s": 0.2, "retry_after_s": 0.2},
        auth={"api_keys": [{"key": "sk-a", "id": "ops", "admin": True,
                            "requests_per_minute": 1000}]})
    key = {"authorization": "Bearer sk-a"}

    async def ask(client: httpx.AsyncClient, text: str) -> httpx.Response:
        reply = await client.post(CHAT, json=chat(text), headers=key)
        assert reply.status_code == 200, reply.text
        assert reply.json()["choices"][0]["message"]["content"] == "[clean] " + text.replace(
            "bad", "good")
        return reply

    async with gateway(settings, purifier) as client:
        await ask(client, "bad one")
        assert (await ask(client, "bad one")).headers["x-llamos-cache"] == "hit"
        before = (await client.get("/v1/audit", headers=key)).json()["data"]
        assert len(before) == 2  # written (reading flushes what this worker buffered)

        own_redis.stop()
        during = [await ask(client, text) for text in ("bad two", "bad two", "bad one")]
        # a miss while Redis is down; then this worker's own copies keep serving
        assert [r.headers["x-llamos-cache"] for r in during] == ["miss", "hit", "hit"]
        report = (await client.get("/readyz"))
        assert report.status_code == 200  # degraded, still serving
        assert report.json()["status"] == "degraded"
        assert report.json()["checks"]["redis"]["ok"] is False
        assert report.json()["checks"]["redis"]["rate_limit_failed_open"] >= 3
        unavailable = await client.get("/v1/audit", headers=key)
        assert unavailable.status_code == 503
        assert unavailable.json()["error"]["code"] == "audit_unavailable"

        own_redis.start()  # a fresh, empty server on the same port
        await wait_until_redis_ready(client)
        await ask(client, "bad three")
        assert (await ask(client, "bad three")).headers["x-llamos-cache"] == "hit"
        records = (await client.get("/v1/audit", headers=key)).json()["data"]
    shared = redis.Redis.from_url(own_redis.url)
    try:  # the fresh server holds the entry computed after it came back: sharing resumed
        assert len(list(shared.scan_iter(match="llamos:cache:*"))) == 1
    finally:
        shared.close()
    # the records buffered during the outage were written once Redis returned
    assert [r["texts"][0]["original"] for r in records] == [
        "bad two", "bad two", "bad one", "bad three", "bad three"]
    assert len(purifier.history) == 3  # bad one, bad two (while down), bad three


async def test_a_hung_redis_costs_bounded_time(settings_for: Callable[..., Settings],
                                               fake_upstream: FakeOpenAI,
                                               own_redis: OwnRedis) -> None:
    settings = settings_for(redis={"url": own_redis.url, "socket_timeout_s": 0.2,
                                   "retry_after_s": 30})
    process = own_redis._process
    assert process is not None
    async with gateway(settings, SlowPurifier(0)) as client:
        assert (await client.post(CHAT, json=chat("warm up"))).status_code == 200
        os.kill(process.pid, signal.SIGSTOP)  # accepts connections, never answers
        try:
            started = time.perf_counter()
            first = await client.post(CHAT, json=chat("bad a"))
            first_s = time.perf_counter() - started
            started = time.perf_counter()
            rest = [await client.post(CHAT, json=chat(f"bad {i}")) for i in range(20)]
            rest_s = time.perf_counter() - started
        finally:
            os.kill(process.pid, signal.SIGCONT)
    assert [r.status_code for r in [first, *rest]] == [200] * 21
    assert first_s < 2.0  # one timed-out Redis call (socket_timeout_s), then marked down
    assert rest_s < 2.0  # while marked down, no Redis wait at all


# -- two `llamos serve` processes with the LLAMOS agent and a fake defense LLM ---------------

ADV = "the sountrack is warm and the pacing never draggs @tq81"
CLEAN = "the soundtrack is warm and the pacing never drags"


@pytest.fixture
def defense_llm() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with ServedApp(fake) as served:
        yield fake, served.url + "/v1"


def defense_calls(fake: FakeOpenAI) -> int:
    return sum(1 for r in fake.history if r.path.endswith("/chat/completions"))


@pytest.mark.slow
async def test_two_gateway_processes_share_one_redis(tmp_path: Path, shared_prefix: str,
                                                     defense_llm: tuple[FakeOpenAI, str]) -> None:
    fake, url = defense_llm
    config = {
        "models": {"defender": {"model": "openai/defense-model", "api_base": url,
                                "max_retries": 0}},
        "defense": {"backend": "llamos", "model": "defender", "timeout_s": 10.0,
                    "max_retries": 0},
        "redis": {"url": SHARED_URL, "key_prefix": shared_prefix},
        "auth": {"api_keys": [{"key": "sk-a", "id": "team-a"},
                              {"key": "sk-limited", "id": "limited", "requests_per_minute": 3}]},
    }
    answer = json.dumps({"purified": CLEAN, "changed": True})
    with GatewayProcess(config, tmp_path, name="a") as a, \
            GatewayProcess(config, tmp_path, name="b") as b:
        async with httpx.AsyncClient(timeout=30) as client:
            async def ask(gw: GatewayProcess, text: str, key: str = "sk-a",
                          mode: str = "enforce") -> httpx.Response:
                return await client.post(f"{gw.url}{CHAT}", json=chat(text, "local/echo"),
                                         headers={"authorization": f"Bearer {key}",
                                                  "x-llamos-defense": mode})

            fake.enqueue(Reply(content=answer, delay_s=0.5))
            together = await asyncio.gather(ask(a, ADV), ask(b, ADV))
            assert defense_calls(fake) == 1
            fake.enqueue(Reply(content=answer.replace("warm", "cold")))
            first = await ask(a, ADV.replace("warm", "cold"))
            second = await ask(b, ADV.replace("warm", "cold"))
            assert defense_calls(fake) == 2
            await clear_of_window_edge()
            limited = [(await ask(gw, "hello", "sk-limited", "off")).status_code
                       for gw in (a, b, a, b)]
    assert [r.status_code for r in together] == [200, 200]
    assert [r.json()["choices"][0]["message"]["content"] for r in together] == [CLEAN, CLEAN]
    assert sorted(r.headers["x-llamos-cache"] for r in together) == ["hit", "miss"]
    assert (first.headers["x-llamos-cache"], second.headers["x-llamos-cache"]) == ("miss", "hit")
    assert second.json()["choices"][0]["message"]["content"] == CLEAN.replace("warm", "cold")
    assert limited == [200, 200, 200, 429]


@pytest.mark.slow
async def test_serve_with_two_workers_calls_the_defense_once(
        tmp_path: Path, shared_prefix: str, defense_llm: tuple[FakeOpenAI, str]) -> None:
    fake, url = defense_llm
    config = {
        "models": {"defender": {"model": "openai/defense-model", "api_base": url,
                                "max_retries": 0}},
        "defense": {"backend": "llamos", "model": "defender", "timeout_s": 10.0,
                    "max_retries": 0},
        "redis": {"url": SHARED_URL, "key_prefix": shared_prefix},
    }
    fake.enqueue(Reply(content=json.dumps({"purified": CLEAN, "changed": True}), delay_s=0.5))
    with GatewayProcess(config, tmp_path, name="workers", workers=2) as gw:
        async with httpx.AsyncClient(timeout=30) as client:
            replies = await asyncio.gather(*(
                client.post(f"{gw.url}{CHAT}", json=chat(ADV, "local/echo")) for _ in range(8)))
    assert [r.status_code for r in replies] == [200] * 8
    assert {r.json()["choices"][0]["message"]["content"] for r in replies} == {CLEAN}
    assert defense_calls(fake) == 1
    assert [r.headers["x-llamos-cache"] for r in replies].count("miss") == 1
