"""Scaling out: two gateway processes, one Redis, one upstream; requests spread over both.

The gateway keeps no per-process state that matters: the purification cache, the rate-limit
counters and the audit trail live in Redis (DB 14 of the server on 127.0.0.1:6379, flushed
before and after; no other DB is touched). The fake OpenAI server plays both the defense
model (scripted JSON replies) and the target model (echoes the purified text).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from llamos_gateway.testing import FakeOpenAI, GatewayProcess, Reply

pytestmark = [pytest.mark.redis, pytest.mark.slow]
REDIS_URL = "redis://127.0.0.1:6379/14"
CHAT = "/v1/chat/completions"
PAIRS = [("the movie was wram and wonderfull", "the movie was warm and wonderful"),
         ("a touchh of benjgn charm", "a touch of benign charm"),
         ("teh plot is dull and slwo", "the plot is dull and slow"),
         ("an utterly charmming film", "an utterly charming film"),
         ("the acting felt flatt", "the acting felt flat"),
         ("i did not enjoy thiss at all", "i did not enjoy this at all")]
LIMIT_RPM = 4


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    client.flushdb()  # DB 14 only
    yield client
    client.flushdb()
    client.close()


def gateway_config(upstream: str) -> dict[str, Any]:
    return {
        "models": {"fake": {"model": "openai/fake-model", "api_base": upstream},
                   "defender": {"model": "openai/defense-model", "api_base": upstream,
                                "max_retries": 0}},
        "defense": {"backend": "llamos", "model": "defender", "timeout_s": 10.0,
                    "max_retries": 0},
        "redis": {"url": REDIS_URL},
        "audit": {"store_text": False},
        "auth": {"api_keys": [
            {"key": "sk-user", "id": "team-a"},
            {"key": "sk-limited", "id": "limited", "requests_per_minute": LIMIT_RPM},
            {"key": "sk-admin", "id": "ops", "admin": True}]},
    }


def defense_calls(fake: FakeOpenAI) -> list[Any]:
    return [r.body for r in fake.history
            if r.path.endswith("/chat/completions") and r.body["model"] == "defense-model"]


def target_texts(fake: FakeOpenAI) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in fake.history
            if r.path.endswith("/chat/completions") and r.body["model"] == "fake-model"]


def post(client: httpx.Client, gw: GatewayProcess, text: str, key: str, request_id: str,
         mode: str = "enforce") -> httpx.Response:
    body = {"model": "fake", "messages": [{"role": "user", "content": text}]}
    return client.post(f"{gw.url}{CHAT}", json=body,
                       headers={"authorization": f"Bearer {key}", "x-request-id": request_id,
                                "x-llamos-defense": mode})


def audit(client: httpx.Client, gw: GatewayProcess) -> list[dict[str, Any]]:
    response = client.get(f"{gw.url}/v1/audit", params={"limit": 1000},
                          headers={"authorization": "Bearer sk-admin"})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def requests_counted(client: httpx.Client, gw: GatewayProcess) -> float:
    text = client.get(f"{gw.url}/metrics").text
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "llamos_requests_total")


def away_from_a_window_edge(db: redis.Redis, margin_s: float = 5.0) -> None:
    """The limiter counts per minute of Redis's clock; start the burst well inside one."""
    seconds, micros = db.time()
    left = 60 - (seconds % 60) - micros / 1e6
    if left < margin_s:
        time.sleep(left + 0.05)


def test_two_processes_share_cache_limits_and_audit(tmp_path: Path, fake_url: str,
                                                    fake_upstream: FakeOpenAI,
                                                    redis_db: redis.Redis) -> None:
    config = gateway_config(fake_url)
    with GatewayProcess(config, tmp_path, name="a") as a, \
            GatewayProcess(config, tmp_path, name="b") as b, \
            httpx.Client(timeout=30) as client:
        gateways = (a, b)
        sent: list[str] = []
        cache: list[tuple[str, str]] = []
        for i, (adversarial, clean) in enumerate(PAIRS):
            first, second = gateways[i % 2], gateways[(i + 1) % 2]
            fake_upstream.enqueue(Reply(content=json.dumps({"purified": clean, "changed": True})))
            for gw, tag in ((first, "first"), (second, "second")):
                request_id = f"{'ab'[gateways.index(gw)]}-{tag}-{i}"
                response = post(client, gw, adversarial, "sk-user", request_id)
                assert response.status_code == 200, (response.text, gw.log())
                assert response.json()["choices"][0]["message"]["content"] == clean
                cache.append((tag, response.headers["x-llamos-cache"]))
                sent.append(request_id)

        away_from_a_window_edge(redis_db)
        limited = []
        for i in range(2 * LIMIT_RPM):
            gw = gateways[i % 2]
            request_id = f"{'ab'[i % 2]}-limited-{i}"
            response = post(client, gw, "hello", "sk-limited", request_id, mode="off")
            limited.append((gw.port, response.status_code))
            if response.status_code == 200:
                sent.append(request_id)

        audit(client, b)  # each gateway flushes its own buffer when read
        trail_a = audit(client, a)
        trail_b = audit(client, b)
        counted = requests_counted(client, a) + requests_counted(client, b)

    # one defense call per distinct text, though every text went through both processes
    assert len(defense_calls(fake_upstream)) == len(PAIRS)
    assert cache == [("first", "miss"), ("second", "hit")] * len(PAIRS)
    assert target_texts(fake_upstream)[:2 * len(PAIRS)] == [c for _, c in PAIRS for _ in "12"]
    # one rate-limit budget for the key, whichever process the request reaches
    statuses = [status for _, status in limited]
    assert statuses == [200] * LIMIT_RPM + [429] * LIMIT_RPM
    assert {port for port, status in limited if status == 429} == {a.port, b.port}
    # one audit trail: both processes read the same records, written by both
    assert [r["cursor"] for r in trail_a] == [r["cursor"] for r in trail_b]
    assert sorted(r["id"] for r in trail_a) == sorted(sent)
    assert {r["id"][0] for r in trail_a} == {"a", "b"}
    by_id = {r["id"]: r for r in trail_a}
    for i in range(len(PAIRS)):
        hit = next(r for r in trail_a if r["id"].endswith(f"second-{i}"))
        assert hit["cache_hit"] is True and hit["key_id"] == "team-a"
        assert hit["texts"][0]["original"] is None  # audit.store_text: false
        assert hit["texts"][0]["original_sha256"]
    assert all(by_id[i]["key_id"] == "limited" for i in sent if "limited" in i)
    assert redis_db.xlen("llamos:audit") == len(sent)
    # metrics stay per process: Prometheus sums over replicas
    assert counted == len(sent) + LIMIT_RPM
