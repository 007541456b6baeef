"""`llamos serve` as a real process: the README quickstart on embedded defaults, what it says
at start-up and shutdown (JSON lines in a pipe, plain text on a terminal), and `llamos models`."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from llamos_gateway import __version__
from tests.cli.process import LLAMOS, ROOT, clean_env, free_port, llamos

pytestmark = pytest.mark.slow
SNAPSHOT = Path(__file__).parent / "snapshots" / "serve_startup.txt"


class Served:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    log = tmp_path / "err.log"
    proc = subprocess.Popen([LLAMOS, "serve", "--port", str(port)], env=clean_env(), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    served = Served(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + 90
    try:
        while True:  # poll a condition, not a fixed sleep
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{served.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gateway did not become ready"
            time.sleep(0.2)
        yield served
    finally:
        served.stop()


def test_quickstart_on_embedded_defaults_and_its_log_lines(served: Served) -> None:
    sdk = openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=0)
    raw = sdk.chat.completions.with_raw_response.create(
        model="local/echo", messages=[{"role": "user", "content": "the film is g\u043e\u043ed"}])
    echoed = raw.parse().choices[0].message.content
    assert raw.headers["x-llamos-defense"] == "enforce"
    assert echoed == "the film is good"  # Cyrillic look-alikes folded by the lexical default
    assert raw.headers["x-llamos-changed"] == "true"
    assert "lexical" in str(httpx.get(f"{served.url}/readyz").json()["defense"])

    status = served.stop()
    assert status in (0, -signal.SIGTERM)
    records = [json.loads(line) for line in served.lines()]  # every line is JSON in a pipe
    start, stop = records[0], records[-1]
    assert (start["logger"], start["event"]) == ("llamos.serve", "start")
    assert start["url"] == f"{served.url}/v1" and start["redis"] is None
    assert (stop["logger"], stop["event"]) == ("llamos.serve", "stop") and stop["uptime_s"] > 0
    lifecycle = [r["msg"] for r in records if r["logger"].startswith("uvicorn")]
    for expected in ("Waiting for application startup.", "Application startup complete.",
                     f"Uvicorn running on {served.url} (Press CTRL+C to quit)", "Shutting down",
                     "Application shutdown complete."):
        assert expected in lifecycle, lifecycle
    assert not any("color_message" in r for r in records)
    assert [r["route"] for r in records if r["logger"] == "llamos.request"] == ["chat/completions"]


def test_startup_line_snapshot(tmp_path: Path) -> None:
    """What a person sees first. If a change to it is intended, update the snapshot file."""
    config = tmp_path / "llamos.yaml"
    config.write_text(
        "models:\n"
        "  gpt-4o-mini: {model: openai/gpt-4o-mini, api_base: https://api.openai.com/v1,"
        " api_key_env: OPENAI_API_KEY}\n"
        "  claude: {model: anthropic/claude-3-5-haiku-latest}\n"
        "  echo: {model: local/echo}\n"
        "defense: {model: gpt-4o-mini, backend: tiered, mode: shadow}\n"
        "auth: {api_keys: [sk-one, sk-two]}\n"
        "redis: {url: 'redis://:hunter2@127.0.0.1:6379/13'}\n", encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen([LLAMOS, "serve", "--config", str(config), "--port", str(port)],
                            env=clean_env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        first = json.loads(proc.stderr.readline())  # written before uvicorn starts
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    expected = SNAPSHOT.read_text(encoding="utf-8").strip()
    assert first["msg"] == expected.format(version=__version__, port=port)
    assert "hunter2" not in json.dumps(first)
    assert first["defense"] == {"backend": "tiered", "mode": "shadow", "model": "gpt-4o-mini",
                                "fail_policy": "open"}


def test_plain_text_lines_on_a_terminal() -> None:
    """stderr on a terminal: the same lines as plain text (logging.json_lines: auto)."""
    port = free_port()
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([LLAMOS, "serve", "--port", str(port)], env=clean_env(), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    seen = b""
    try:
        deadline = time.monotonic() + 90
        while b"Uvicorn running on" not in seen:
            assert time.monotonic() < deadline and proc.poll() is None, seen.decode()
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                seen += os.read(controller, 65536)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        os.close(controller)
    lines = seen.decode().splitlines()
    assert lines and not any(line.lstrip().startswith("{") for line in lines), lines
    assert f" INFO llamos.serve llamos-gateway {__version__} on http://127.0.0.1:{port}/v1 " \
        in lines[0]
    assert any(" INFO uvicorn.error Application startup complete." in line for line in lines)


def test_version() -> None:
    assert llamos("version").stdout == f"llamos-gateway {__version__}\n"


def test_models_has_a_header_and_builds_no_client(tmp_path: Path) -> None:
    """`llamos models` reads the plan from the settings: it imports no provider library and
    loads no model (importing litellm and the sentiment model made it take seconds)."""
    config = tmp_path / "llamos.yaml"
    config.write_text(
        "models:\n"
        "  gpt-4o-mini: {model: openai/gpt-4o-mini, api_base: https://api.openai.com/v1}\n"
        "  claude: {model: anthropic/claude-3-5-haiku-latest, api_key_env: ANTHROPIC_API_KEY,\n"
        "           defense: {action: block, block_threshold: 0.7, roles: [user, tool]}}\n"
        "defense: {mode: shadow, task: chat}\n",
        encoding="utf-8")
    probe = ("import atexit, sys; atexit.register(lambda: print(sorted(m for m in "
             "('litellm', 'sklearn', 'aiohttp') if m in sys.modules), file=sys.stderr)); "
             "from llamos_gateway.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", probe, "models", "--config", str(config)],
                          capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "[]"
    rows = [line.split() for line in done.stdout.splitlines()]
    assert rows[0] == ["MODEL", "PATH", "MODE", "BACKEND", "ACTION", "THRESHOLD", "ROLES",
                       "TASK", "UPSTREAM", "MODEL"]
    # each model's effective policy: the global one, with the model's own keys over it
    assert ["claude", "litellm", "shadow", "lexical", "block", "0.7", "tool,user", "chat",
            "anthropic/claude-3-5-haiku-latest"] in rows
    assert ["gpt-4o-mini", "passthrough", "shadow", "lexical", "purify", "0.9", "user", "chat",
            "gpt-4o-mini"] in rows
    assert ["local/echo", "local", "shadow", "lexical", "purify", "0.9", "user", "chat",
            "local/echo"] in rows
