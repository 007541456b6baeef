"""No provider secret in any response byte or log line, whatever the upstream echoes back.

A fake provider reflects the gateway's `Authorization` header (and a secret extra header) into
every field of its error envelope (message, type, code, param, a nested object), into a
non-JSON error body, into a 200 stream's chunks and a mid-stream error event. The gateway runs
as a real process (`llamos serve`, JSON logs at INFO); both upstream paths (pass-through and
litellm), streaming and not, every error status. The keys must reach the provider (so the echo
is real) and appear in no response (body or header) and nowhere in the process's output.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llamos_gateway.testing import FakeOpenAI, GatewayProcess, Reply, ServedApp

pytestmark = pytest.mark.slow
KEY = "sk-live-" + secrets.token_hex(16)
EXTRA = "xtok-" + secrets.token_hex(12)
STATUSES = [400, 401, 403, 404, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504]
PATHS = ["pt", "lit"]
ENDPOINTS = {"chat/completions": {"messages": [{"role": "user", "content": "hi"}]},
             "completions": {"prompt": "hi"}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeOpenAI, GatewayProcess]]:
    fake = FakeOpenAI()
    with ServedApp(fake) as served:
        spec = {"model": "openai/fake-model", "api_base": served.url + "/v1",
                "api_key_env": "SECRETS_TEST_PROVIDER_KEY", "max_retries": 0,
                "extra_headers": {"x-provider-secret": EXTRA}}
        config = {"models": {"pt": spec, "lit": {**spec, "passthrough": False}},
                  "defense": {"backend": "passthrough"}, "limits": {"max_retries": 0},
                  "logging": {"json_lines": True, "level": "INFO"}}
        workdir = tmp_path_factory.mktemp("secrets")
        with GatewayProcess(config, workdir,
                            env={"SECRETS_TEST_PROVIDER_KEY": KEY}) as gateway:
            yield fake, gateway


def leaks(data: bytes | str) -> list[str]:
    """Which secret (or a long piece of one) is in `data`."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    pieces = {"key": KEY, "key body": KEY[8:24], "extra": EXTRA, "extra body": EXTRA[5:17]}
    return [name for name, piece in pieces.items() if piece in text]


def replies() -> list[tuple[str, Reply]]:
    out: list[tuple[str, Reply]] = []
    for status in STATUSES:
        out += [(f"{status} envelope", Reply(status=status, echo_header="authorization")),
                (f"{status} extra header", Reply(status=status, echo_header="x-provider-secret")),
                (f"{status} text body", Reply(status=status, echo_header="authorization",
                                              raw=b"denied for {echo} (check your key)"))]
    return out


def expected_status(path: str, status: int) -> int:
    if status in (408, 504) and path == "lit":
        return 504  # litellm reads a provider's 408 and 504 as its own timeout
    if status in (401, 403) or status >= 500:
        return 502  # our credentials, or the provider broke: the gateway's 502
    return status


def send(client: httpx.Client, gateway: GatewayProcess, path: str, endpoint: str,
         stream: bool) -> httpx.Response:
    body: dict[str, Any] = {"model": path, "stream": stream, **ENDPOINTS[endpoint]}
    return client.post(f"{gateway.url}/v1/{endpoint}", json=body,
                       headers={"authorization": "Bearer client-key-not-secret"})


def test_no_secret_in_any_response_or_log_line(
        stack: tuple[FakeOpenAI, GatewayProcess]) -> None:
    fake, gateway = stack
    fake.reset()
    sent = 0
    failures: list[str] = []
    with httpx.Client(timeout=30) as client:
        for name, reply in replies():
            for path in PATHS:
                for endpoint in ENDPOINTS:
                    for stream in (False, True):
                        fake.enqueue(reply)
                        response = send(client, gateway, path, endpoint, stream)
                        sent += 1
                        where = f"{name} {path} {endpoint} stream={stream}"
                        raw = response.content + str(response.headers.multi_items()).encode()
                        if leaks(raw):
                            failures.append(f"{where}: {leaks(raw)} in {response.text[:300]}")
                        status = int(name.split()[0])
                        if response.status_code != expected_status(path, status):
                            failures.append(f"{where}: status {response.status_code}")
                        if response.headers["content-type"] != "application/json":
                            failures.append(f"{where}: {response.headers['content-type']}")
    # the provider really got both secrets on every call (else the echo proved nothing)
    assert len(fake.history) == sent
    assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in fake.history)
    assert all(r.headers.get("x-provider-secret") == EXTRA for r in fake.history)
    assert not failures, "\n".join(failures[:40])
    log = gateway.log_path.read_text(encoding="utf-8")
    request_lines = [json.loads(line) for line in log.splitlines()
                     if line.startswith("{") and '"msg":"request"' in line]
    assert len(request_lines) >= sent
    assert {line["status"] for line in request_lines} >= {400, 404, 409, 422, 429, 502}
    assert not leaks(log), [line for line in log.splitlines() if leaks(line)][:5]


@pytest.mark.parametrize("path", PATHS)
def test_no_secret_in_a_streamed_reply(stack: tuple[FakeOpenAI, GatewayProcess],
                                       path: str) -> None:
    """A 200 stream that carries the key in its chunks, and one that ends with a provider's
    error event quoting it: relayed without the key."""
    fake, gateway = stack
    fake.reset()
    fake.enqueue(Reply(chunks=["your key is", " {echo}"], echo_header="authorization"))
    event = b'data: {"error": {"message": "bad key {echo}", "code": "{echo}"}}\n\ndata: [DONE]\n\n'
    fake.enqueue(Reply(events=[event], echo_header="authorization"))
    with httpx.Client(timeout=30) as client:
        first = send(client, gateway, path, "chat/completions", True)
        second = send(client, gateway, path, "chat/completions", True)
    assert first.status_code == 200
    assert "your key is" in first.text and "***" in first.text
    assert "data: [DONE]" in first.text
    assert "***" in second.text or second.status_code >= 400
    for response in (first, second):
        assert not leaks(response.content), response.text
    assert fake.history[-1].headers["authorization"] == f"Bearer {KEY}"
    assert not leaks(gateway.log_path.read_text(encoding="utf-8"))
