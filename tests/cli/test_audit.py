"""`llamos audit tail`: the shared Redis stream (DB 13, a prefix of this test's own), or the
running gateway's trail over HTTP when no Redis is configured."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import openai
import orjson
import pytest
from typer.testing import CliRunner

from llamos_gateway.cli import build_cli
from llamos_gateway.settings import RedisSettings, Settings, load_settings
from llamos_gateway.storage.redis_audit import RedisStreamSink
from llamos_gateway.storage.redis_client import RedisClient
from llamos_gateway.testing import MarkPurifier
from tests.cli.process import llamos
from tests.storage.redis_helpers import (
    SHARED_URL,
    delete_prefix,
    shared_redis_available,
    unique_prefix,
)


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


@pytest.mark.redis
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


def served_settings(fake_url: str, **extra: Any) -> Settings:
    """One pass-through alias on the fake upstream (no litellm alias: nothing slow to import)."""
    return load_settings(models={"fake": {"model": "openai/fake-model", "api_base": fake_url}},
                         **extra)


def test_tail_without_redis_reads_the_running_gateway(
        serve_gateway: Callable[..., str], fake_url: str, mark_purifier: MarkPurifier) -> None:
    """The Quickstart defaults keep the trail in the gateway process: tail asks it over HTTP,
    says so when the trail is empty, and names the key it needs when the gateway has keys."""
    keys = {"api_keys": [{"key": "sk-admin", "id": "ops", "admin": True},
                         {"key": "sk-user", "id": "team-a"}]}
    url = serve_gateway(served_settings(fake_url, auth=keys), mark_purifier)
    base = url.removesuffix("/v1")
    admin = {"LLAMOS_API_KEY": "sk-admin"}

    empty = llamos("audit", "tail", "--url", base, env=admin)
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout == ""
    assert empty.stderr == f"llamos: the audit trail at {base} is empty\n"

    sdk = openai.OpenAI(base_url=url, api_key="sk-user", max_retries=0)
    sdk.chat.completions.create(model="fake", messages=[{"role": "user", "content": "a bad film"}])
    tail = llamos("audit", "tail", "--url", base, env=admin)
    assert tail.returncode == 0, tail.stderr
    [line] = tail.stdout.splitlines()
    assert "key=team-a model=fake mode=enforce backend=mark changed=true" in line
    whole = llamos("audit", "tail", "--json", "--url", url, "--api-key", "sk-admin")
    record = orjson.loads(whole.stdout)
    assert record["texts"][0]["purified"] == "[clean] a good film" and "cursor" not in record

    refused = llamos("audit", "tail", "--url", base, env={"LLAMOS_API_KEY": "sk-user"})
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    [error] = refused.stderr.splitlines()
    assert error.startswith(f"llamos: error: cannot read the audit trail: the gateway at {base} "
                            f"answered 403") and "admin key" in error


def test_tail_without_redis_defaults_to_server_host_and_port(
        serve_gateway: Callable[..., str], fake_url: str, mark_purifier: MarkPurifier) -> None:
    url = serve_gateway(served_settings(fake_url), mark_purifier)
    port = url.removesuffix("/v1").rsplit(":", 1)[1]
    done = llamos("audit", "tail",
                  env={"LLAMOS_SERVER__PORT": port, "LLAMOS_SERVER__HOST": "0.0.0.0"})
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"llamos: the audit trail at http://127.0.0.1:{port} is empty\n"
