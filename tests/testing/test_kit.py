"""The testing kit itself: importable without pytest, and the fake's scripted modes."""

from __future__ import annotations

import subprocess
import sys

import httpx

from llamos_gateway.testing import FakeOpenAI, Reply, ServedApp

CHAT = {"model": "fake-model", "messages": [{"role": "user", "content": "say it back"}]}


def test_the_kit_does_not_import_pytest() -> None:
    code = ("import sys, llamos_gateway.testing, llamos_gateway.testing.fake_openai; "
            "assert 'pytest' not in sys.modules, 'pytest imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_scripted_replies_in_order_then_the_echo(fake_upstream: FakeOpenAI,
                                                 fake_url: str) -> None:
    fake_upstream.enqueue(Reply(status=418, raw=b"<html>teapot</html>"),
                          Reply(json_body={"whole": "body"}, headers={"x-extra": "1"}),
                          Reply(content="trickled", trickle_bytes=5))
    url = fake_url + "/chat/completions"
    first = httpx.post(url, json=CHAT)
    assert (first.status_code, first.content) == (418, b"<html>teapot</html>")
    second = httpx.post(url, json=CHAT)
    assert second.json() == {"whole": "body"} and second.headers["x-extra"] == "1"
    third = httpx.post(url, json=CHAT)
    assert third.json()["choices"][0]["message"]["content"] == "trickled"
    echoed = httpx.post(url, json=CHAT).json()
    assert echoed["choices"][0]["message"]["content"] == "say it back"
    assert [r.body for r in fake_upstream.history] == [CHAT] * 4


def test_fixed_mode_answers_without_recording() -> None:
    fake = FakeOpenAI.fixed("a fixed answer", model="bench-model")
    with ServedApp(fake) as served:
        reply = httpx.post(served.url + "/v1/chat/completions", json=CHAT)
        stream = httpx.post(served.url + "/v1/chat/completions", json={**CHAT, "stream": True})
        models = httpx.get(served.url + "/v1/models").json()
    assert reply.json()["choices"][0]["message"]["content"] == "a fixed answer"
    assert reply.json()["model"] == "bench-model"
    assert stream.text.count("data: ") == 5 and stream.text.endswith("data: [DONE]\n\n")
    assert [m["id"] for m in models["data"]] == ["bench-model"]
    assert fake.history == []
