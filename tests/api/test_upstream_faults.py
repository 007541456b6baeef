"""What a client gets when the provider misbehaves: garbage with status 200, a stream that is
not server-sent events or stops before `[DONE]`, an error on a streamed legacy completion.
Both upstream paths (`fake`: pass-through, `fake-litellm`: litellm)."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from llamos_gateway.testing import FakeOpenAI, Reply

PATHS = ["fake", "fake-litellm"]
BODIES = {"/v1/chat/completions": {"messages": [{"role": "user", "content": "hi"}]},
          "/v1/completions": {"prompt": "hi"},
          "/v1/embeddings": {"input": "hi"}}
CHUNK = (b'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"m",'
         b'"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\n')


def events(text: str) -> list[dict[str, object]]:
    return [orjson.loads(line[6:]) for line in text.split("\n")
            if line.startswith("data: ") and line != "data: [DONE]"]


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize("route", list(BODIES))
@pytest.mark.parametrize("garbage", [b"\x00\xff<html>oops", b"not json", b"[1, 2]", b""])
async def test_garbage_200_is_a_502(api: httpx.AsyncClient, fake_upstream: FakeOpenAI,
                                    model: str, route: str, garbage: bytes) -> None:
    if model == "fake-litellm" and garbage in (b"[1, 2]", b"") and route != "/v1/chat/completions":
        pytest.skip("litellm reads these itself (an empty completion); nothing reaches us")
    fake_upstream.enqueue(Reply(raw=garbage))
    response = await api.post(route, json={"model": model, **BODIES[route]})
    assert response.status_code == 502, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "upstream_invalid_response"


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/completions"])
async def test_a_stream_answered_with_json_garbage_is_a_502(
        api: httpx.AsyncClient, fake_upstream: FakeOpenAI, model: str, route: str) -> None:
    fake_upstream.enqueue(Reply(raw=b"\x00\xffgarbage"))
    response = await api.post(route, json={"model": model, "stream": True, **BODIES[route]})
    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "upstream_invalid_response"


@pytest.mark.parametrize("tail", [[b"\x00\xff garbage\n\n"], [b"data: <html>\n\n"],
                                  [b"data: [DONE"], []],
                         ids=["bytes", "not-json", "cut-done", "no-done"])
async def test_a_broken_event_stream_ends_with_an_error_event(
        api: httpx.AsyncClient, fake_upstream: FakeOpenAI, tail: list[bytes]) -> None:
    fake_upstream.enqueue(Reply(events=[CHUNK[:40], CHUNK[40:], *tail]))
    body = {"model": "fake", "stream": True, **BODIES["/v1/chat/completions"]}
    response = await api.post("/v1/chat/completions", json=body)
    assert response.status_code == 200  # the stream had started
    assert response.text.startswith(CHUNK.decode())  # the good event went through, whole
    last = events(response.text)[-1]
    assert last["error"]["code"] == "upstream_invalid_response"  # type: ignore[index]
    assert "\ndata: [DONE]" not in response.text


async def test_a_stream_split_anywhere_is_relayed_unchanged(api: httpx.AsyncClient,
                                                            fake_upstream: FakeOpenAI) -> None:
    whole = b": keep-alive\r\n\r\nevent: message\nid: 1\nretry: 10\n" + CHUNK + b"data: [DONE]"
    fake_upstream.enqueue(Reply(events=[whole[i:i + 7] for i in range(0, len(whole), 7)]))
    body = {"model": "fake", "stream": True, **BODIES["/v1/chat/completions"]}
    response = await api.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.content == whole


@pytest.mark.parametrize("model", PATHS)
@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize("status", [400, 404, 422, 429])
async def test_streamed_provider_errors_keep_their_status(
        api: httpx.AsyncClient, fake_upstream: FakeOpenAI, model: str, route: str,
        status: int) -> None:
    fake_upstream.enqueue(Reply(status=status, error="no such thing"))
    response = await api.post(route, json={"model": model, "stream": True, **BODIES[route]})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "no such thing" in response.json()["error"]["message"]


async def test_legacy_completions_through_litellm_leave_no_session_open(
        api: httpx.AsyncClient, fake_upstream: FakeOpenAI,
        caplog: pytest.LogCaptureFixture) -> None:
    """litellm made a client and an aiohttp session per legacy completion and never closed
    them ("Unclosed connector" errors at garbage collection); the adapter reuses one."""
    import gc

    for stream in (False, True, False, True):
        body = {"model": "fake-litellm", "stream": stream, **BODIES["/v1/completions"]}
        assert (await api.post("/v1/completions", json=body)).status_code == 200
    gc.collect()
    await asyncio.sleep(0)  # the loop reports unclosed sessions from its exception handler
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]
    assert len(fake_upstream.history) == 4
