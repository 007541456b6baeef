"""The pass-through upstream's retry loop, against the scripted fake server on loopback:
502/503/504 and connection resets are retried before the first byte of a reply, never after."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llamos_gateway.errors import UpstreamError
from llamos_gateway.testing import FakeOpenAI, Reply, free_port
from llamos_gateway.upstream import UpstreamCall
from llamos_gateway.upstream.passthrough import HttpUpstream, build_http_client

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "hello there"}]}
STREAM = {**CHAT, "stream": True}


@pytest.fixture
async def upstream(fake_url: str) -> AsyncIterator[HttpUpstream]:
    client = build_http_client(max_connections=8, timeout_s=5.0, connect_timeout_s=2.0)
    try:
        yield HttpUpstream(name="fake", api_base=fake_url, client=client, max_retries=2,
                           backoff_s=0.001)
    finally:
        await client.close()


def call(body: dict[str, object]) -> UpstreamCall:
    return UpstreamCall("chat/completions", body)


async def collect(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_gateway_statuses_are_retried(upstream: HttpUpstream, fake_upstream: FakeOpenAI,
                                            status: int) -> None:
    fake_upstream.enqueue(Reply(status=status, error="busy"), Reply(status=status, raw=b""))
    reply = await upstream.complete(call(CHAT))
    assert reply.status == 200 and b"hello there" in reply.content
    assert len(fake_upstream.history) == 3


async def test_retries_stop_at_max_retries(upstream: HttpUpstream,
                                           fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(*[Reply(status=503, error="overloaded")] * 3, Reply(content="late"))
    with pytest.raises(UpstreamError, match="overloaded"):
        await upstream.complete(call(CHAT))
    assert len(fake_upstream.history) == 3  # one try and max_retries=2 retries


@pytest.mark.parametrize("status", [400, 429, 500])
async def test_other_errors_are_not_retried(upstream: HttpUpstream, fake_upstream: FakeOpenAI,
                                            status: int) -> None:
    fake_upstream.enqueue(Reply(status=status, error="no"))
    with pytest.raises(UpstreamError):
        await upstream.complete(call(CHAT))
    assert len(fake_upstream.history) == 1


async def test_reset_before_the_first_byte_is_retried(upstream: HttpUpstream,
                                                      fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(reset="before"), Reply(reset="before"))
    reply = await upstream.complete(call(CHAT))
    assert b"hello there" in reply.content
    assert len(fake_upstream.history) == 3 and fake_upstream.resets == 2


async def test_resets_past_max_retries_fail(upstream: HttpUpstream,
                                            fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(*[Reply(reset="before")] * 3)
    with pytest.raises(UpstreamError, match="upstream fake"):
        await upstream.complete(call(CHAT))
    assert len(fake_upstream.history) == 3


async def test_reset_after_the_first_byte_is_not_retried(upstream: HttpUpstream,
                                                         fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(reset="after", content="a reply long enough to cut"))
    with pytest.raises(UpstreamError, match="upstream fake failed"):
        await upstream.complete(call(CHAT))
    assert len(fake_upstream.history) == 1


async def test_trickled_body_arrives_whole(upstream: HttpUpstream,
                                           fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(content="slowly", trickle_bytes=16, trickle_delay_s=0.005))
    reply = await upstream.complete(call(CHAT))
    assert b'"content": "slowly"' in reply.content


async def test_stream_retries_before_the_first_byte(upstream: HttpUpstream,
                                                    fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(status=502, error="bad gateway"), Reply(reset="before"),
                          Reply(chunks=["one", "two"]))
    data = await collect(await upstream.stream(call(STREAM)))
    assert b'"one"' in data and b'"two"' in data and data.endswith(b"data: [DONE]\n\n")
    assert len(fake_upstream.history) == 3


async def test_stream_reset_after_the_first_chunk_is_an_error_not_a_retry(
        upstream: HttpUpstream, fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(chunks=["one", "two", "three"], reset="after"))
    chunks = await upstream.stream(call(STREAM))
    first = await anext(chunks)
    assert b'"one"' in first
    with pytest.raises(UpstreamError, match="stream broke"):
        await collect(chunks)
    assert len(fake_upstream.history) == 1


async def test_connection_refused_is_retried_then_reported() -> None:
    client = build_http_client(max_connections=2, timeout_s=2.0, connect_timeout_s=1.0)
    upstream = HttpUpstream(name="gone", api_base=f"http://127.0.0.1:{free_port()}/v1",
                            client=client, max_retries=1, backoff_s=0.001)
    try:
        with pytest.raises(UpstreamError, match="upstream gone unreachable"):
            await upstream.complete(call(CHAT))
    finally:
        await client.close()
