"""SIGTERM to a real `llamos serve`: the grace period (`server.shutdown_grace_s`), what happens
to streams and requests still open at its end, and workers that all stop accepting at once.

The fake upstream is served in this process; the gateway is a child process whose log
(JSON lines) the tests read back.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llamos_gateway.testing import FakeOpenAI, GatewayProcess, Reply, ServedApp

pytestmark = pytest.mark.slow
GRACE_S = 1.5


@pytest.fixture
def upstream() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with ServedApp(fake) as served:
        yield fake, served.url + "/v1"


def config(upstream_url: str, grace_s: float = GRACE_S) -> dict[str, Any]:
    return {"models": {"fake": {"model": "openai/fake-model", "api_base": upstream_url}},
            "defense": {"backend": "passthrough"}, "server": {"shutdown_grace_s": grace_s},
            "logging": {"json_lines": True}}


def chat(stream: bool) -> dict[str, Any]:
    return {"model": "fake", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}


def request_lines(log: str) -> list[dict[str, Any]]:
    lines = []
    for line in log.splitlines():
        if line.startswith("{"):
            data = json.loads(line)
            if data.get("msg") == "request":
                lines.append(data)
    return lines


class Background(threading.Thread):
    """One request in a thread: the stream's bytes (or the whole reply) once it ends."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.body = url, body
        self.started = threading.Event()
        self.status = 0
        self.content = b""
        self.ended_at = 0.0

    def run(self) -> None:
        with httpx.Client(timeout=60) as client, client.stream(
                "POST", self.url + "/v1/chat/completions", json=self.body) as reply:
            self.status = reply.status_code
            if self.body["stream"]:
                for chunk in reply.iter_raw():
                    self.content += chunk
                    self.started.set()
            else:
                self.content = reply.read()
        self.ended_at = time.monotonic()


def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # poll a condition, not a fixed sleep
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_open_streams_and_requests_are_cut_at_the_end_of_the_grace(
        upstream: tuple[FakeOpenAI, str], tmp_path: Path) -> None:
    fake, url = upstream
    fake.enqueue(Reply(chunks=[f"w{i}" for i in range(100)], chunk_delay_s=0.2),  # 20 s
                 Reply(delay_s=30.0))
    gateway = GatewayProcess(config(url), tmp_path).start()
    try:
        stream = Background(gateway.url, chat(stream=True))
        stream.start()
        assert stream.started.wait(10)
        waiting = Background(gateway.url, chat(stream=False))
        waiting.start()
        wait_for(lambda: len(fake.history) == 2)
        signalled = time.monotonic()
        gateway.send_signal(signal.SIGTERM)
        stream.join(15)
        waiting.join(15)
        gateway.wait(15)
    finally:
        gateway.stop()
    # the stream went on through the grace, then ended with an error event and no [DONE]
    assert stream.status == 200
    assert GRACE_S - 0.3 < stream.ended_at - signalled < GRACE_S + 1.5
    last = stream.content.rstrip().rsplit(b"\n\n", 1)[-1]
    assert json.loads(last.removeprefix(b"data: "))["error"]["code"] == "server_shutting_down"
    assert b"[DONE]" not in stream.content
    assert stream.content.count(b'"w') >= 4  # chunks kept flowing during the grace
    # the request still waiting for its answer got a 503
    assert waiting.status == 503
    assert json.loads(waiting.content)["error"]["code"] == "server_shutting_down"
    wait_for(lambda: fake.cancelled_requests == 1 and fake.cancelled_streams == 1)
    # logged as cut by the shutdown, without tracebacks
    log = gateway.log_path.read_text(encoding="utf-8")
    assert "Exception in ASGI application" not in log
    assert "Traceback" not in log
    cut = [line for line in request_lines(log) if line["error_code"] == "server_shutting_down"]
    assert sorted(line["stream"] for line in cut) == [False, True]
    assert all(line["status"] == 503 for line in cut)
    assert "shutting down: requests and streams still open in 1.5s will be cut" in log


def test_every_worker_stops_accepting_at_once(upstream: tuple[FakeOpenAI, str],
                                              tmp_path: Path) -> None:
    fake, url = upstream
    # a long stream keeps a worker in its grace period, so the server is still running
    fake.enqueue(Reply(chunks=[f"w{i}" for i in range(200)], chunk_delay_s=0.1))
    gateway = GatewayProcess(config(url, grace_s=5.0), tmp_path, workers=2).start()
    try:
        for _ in range(20):  # both workers answer
            assert httpx.get(gateway.url + "/healthz", timeout=5).status_code == 200
        stream = Background(gateway.url, chat(stream=True))
        stream.start()
        assert stream.started.wait(10)
        gateway.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the probe: a new request 0.3 s after SIGTERM
        with pytest.raises(httpx.ConnectError):
            httpx.get(gateway.url + "/healthz", timeout=2)
        assert gateway.running()  # still in its grace
        stream.join(15)
    finally:
        gateway.stop()
    assert b"server_shutting_down" in stream.content
