"""`GET /v1/audit`, audit records of real requests, and the 429 envelope of the rate limiter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI, MarkPurifier
from tests.conftest import factory_with
from tests.storage.redis_helpers import (
    SHARED_URL,
    clear_of_window_edge,
    delete_prefix,
    shared_redis_available,
    unique_prefix,
)

CHAT = "/v1/chat/completions"
ADMIN = {"authorization": "Bearer sk-admin"}
USER = {"authorization": "Bearer sk-user"}
KEYS = {"api_keys": [{"key": "sk-admin", "id": "ops", "admin": True},
                     {"key": "sk-user", "id": "team-a"}]}


def chat(text: str) -> dict[str, Any]:
    return {"model": "fake", "messages": [{"role": "user", "content": text}]}


@asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    if not shared_redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = unique_prefix()
    yield prefix
    delete_prefix(SHARED_URL, prefix)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    prefix = request.getfixturevalue("redis_prefix")
    return {"url": SHARED_URL, "key_prefix": prefix}


async def test_n_requests_make_n_records(settings_for: Callable[..., Settings],
                                         fake_upstream: FakeOpenAI,
                                         store: dict[str, Any]) -> None:
    async with gateway(settings_for(auth=KEYS, redis=store)) as client:
        for i in range(5):
            reply = await client.post(CHAT, json=chat(f"bad {i}"), headers=USER)
            assert reply.status_code == 200
        repeat = await client.post(CHAT, json=chat("bad 0"), headers=USER)
        assert repeat.headers["x-llamos-cache"] == "hit"
        page = (await client.get("/v1/audit?limit=100", headers=ADMIN)).json()
    records = page["data"]
    assert len(records) == 6
    assert [r["texts"][0]["original"] for r in records] == [f"bad {i}" for i in range(5)] + [
        "bad 0"]
    assert [r["texts"][0]["purified"] for r in records] == [
        f"[clean] good {i}" for i in range(5)] + ["[clean] good 0"]
    assert [r["cache_hit"] for r in records] == [False] * 5 + [True]
    first = records[0]
    assert first["key_id"] == "team-a"
    assert "sk-user" not in str(page)
    assert (first["model"], first["mode"], first["backend"], first["status"]) == (
        "fake", "enforce", "mark", 200)
    assert first["prompt_version"] == "test0000"
    assert first["changed"] is True
    assert first["texts"][0]["edits"][0]["after"] == "[clean] good 0"
    assert first["upstream_ms"] is not None
    assert page["next_after"] == records[-1]["cursor"]


async def test_paging_with_after(settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI,
                                 store: dict[str, Any]) -> None:
    async with gateway(settings_for(redis=store)) as client:
        for i in range(4):
            await client.post(CHAT, json=chat(f"text {i}"))
        first = (await client.get("/v1/audit?limit=4")).json()["data"]
        later = (await client.get(f"/v1/audit?after={first[1]['cursor']}&limit=10")).json()
        newest = (await client.get("/v1/audit?limit=1")).json()["data"]
    assert [r["texts"][0]["original"] for r in later["data"]] == ["text 2", "text 3"]
    assert [r["texts"][0]["original"] for r in newest] == ["text 3"]


async def test_privacy_setting_stores_no_text(settings_for: Callable[..., Settings],
                                              fake_upstream: FakeOpenAI,
                                              store: dict[str, Any]) -> None:
    async with gateway(settings_for(redis=store, audit={"store_text": False})) as client:
        await client.post(CHAT, json=chat("secret bad words"))
        page = await client.get("/v1/audit")
    record = page.json()["data"][0]
    assert "secret" not in page.text
    assert record["texts"][0]["original"] is None
    assert len(record["texts"][0]["original_sha256"]) == 64
    assert set(record["texts"][0]["edits"][0]) == {"start", "end", "rule"}


async def test_admin_key_only(settings_for: Callable[..., Settings],
                              fake_upstream: FakeOpenAI) -> None:
    async with gateway(settings_for(auth=KEYS)) as client:
        normal = await client.get("/v1/audit", headers=USER)
        anonymous = await client.get("/v1/audit")
        bad_limit = await client.get("/v1/audit?limit=0", headers=ADMIN)
        bad_after = await client.get("/v1/audit?after=yesterday", headers=ADMIN)
    assert normal.status_code == 403
    assert normal.json()["error"]["type"] == "permission_error"
    assert anonymous.status_code == 401
    assert bad_limit.status_code == 400
    assert bad_limit.json()["error"]["param"] == "limit"
    assert bad_after.json()["error"]["param"] == "after"


async def test_disabled_trail_is_404(settings_for: Callable[..., Settings],
                                     fake_upstream: FakeOpenAI) -> None:
    async with gateway(settings_for(audit={"enabled": False})) as client:
        response = await client.get("/v1/audit")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_rate_limit_is_a_429_envelope_with_retry_after(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI,
        store: dict[str, Any]) -> None:
    keys = {"api_keys": [{"key": "sk-user", "id": "team-a", "requests_per_minute": 2}]}
    async with gateway(settings_for(auth=keys, redis=store)) as client:
        await clear_of_window_edge()
        statuses = [(await client.post(CHAT, json=chat("hi"), headers=USER)).status_code
                    for _ in range(2)]
        refused = await client.post(CHAT, json=chat("hi"), headers=USER)
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(fake_upstream.history) == 2


async def test_readiness_reports_the_store(settings_for: Callable[..., Settings],
                                           redis_prefix: str) -> None:
    async with gateway(settings_for(redis={"url": SHARED_URL, "key_prefix": redis_prefix})) as c:
        report = (await c.get("/readyz")).json()
    assert report["cache"]["kind"] == "redis"
    assert report["checks"]["redis"]["ok"] is True
    assert report["checks"]["redis"]["audit"]["dropped"] == 0


async def test_audit_pages_by_bytes_and_the_cursor_continues(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI) -> None:
    settings = settings_for(auth=KEYS, audit={"page_max_bytes": 8_192,
                                              "max_record_bytes": 4_096})
    async with gateway(settings) as client:
        for i in range(12):
            reply = await client.post(CHAT, json=chat(f"bad {i} " + "y" * 1_500), headers=USER)
            assert reply.status_code == 200
        seen: list[str] = []
        after = ""
        for _ in range(20):
            reply = await client.get(f"/v1/audit?limit=1000&after={after or '0'}",
                                     headers=ADMIN)
            assert reply.status_code == 200
            assert len(reply.content) <= 8_192 + 2_048  # the page budget plus the envelope
            page = reply.json()
            seen += [r["texts"][0]["original"].split(" y")[0] for r in page["data"]]
            if not page["truncated"]:
                break
            after = page["next_after"]
    assert seen == [f"bad {i}" for i in range(12)]


async def test_a_bad_cursor_is_a_400_and_leaves_redis_up_for_everyone(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI,
        redis_prefix: str) -> None:
    """A malformed `after` once reached Redis, which refused it; the client then marked Redis
    down and, under `fail_policy: closed`, another key's chats got 429 for the back-off."""
    keys = {"api_keys": [{"key": "sk-admin", "id": "ops", "admin": True},
                         {"key": "sk-user", "id": "team-a", "requests_per_minute": 1000}]}
    settings = settings_for(auth=keys, rate_limit={"fail_policy": "closed"},
                            redis={"url": SHARED_URL, "key_prefix": redis_prefix,
                                   "retry_after_s": 30.0})
    async with gateway(settings) as client:
        for cursor in ("1_000", "1-2-3", "%201", "18446744073709551616-0", "0x10"):
            bad = await client.get(f"/v1/audit?after={cursor}", headers=ADMIN)
            assert bad.status_code == 400, (cursor, bad.text)
            assert bad.json()["error"]["param"] == "after"
        chats = [(await client.post(CHAT, json=chat("hi"), headers=USER)).status_code
                 for _ in range(10)]
        ready = (await client.get("/readyz")).json()
        good = await client.get("/v1/audit?after=0-0", headers=ADMIN)
    assert chats == [200] * 10
    assert ready["checks"]["redis"]["ok"] is True
    assert good.status_code == 200
    assert len(good.json()["data"]) == 10
