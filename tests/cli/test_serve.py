"""`llamos serve` as a real process: the README quickstart, on embedded defaults."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

pytestmark = pytest.mark.slow
LLAMOS = str(Path(sys.executable).parent / "llamos")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLAMOS_")}
    return {**env, **extra}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([LLAMOS, "serve", "--port", str(port)], env=clean_env(),
                            stdout=(tmp_path / "out.log").open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert proc.poll() is None, (tmp_path / "out.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "gateway did not become ready"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_quickstart_on_embedded_defaults(served: str) -> None:
    sdk = openai.OpenAI(base_url=f"{served}/v1", api_key="unused", max_retries=0)
    raw = sdk.chat.completions.with_raw_response.create(
        model="local/echo", messages=[{"role": "user", "content": "the film is g\u043e\u043ed"}])
    echoed = raw.parse().choices[0].message.content
    assert raw.headers["x-llamos-defense"] == "enforce"
    assert echoed == "the film is good"  # Cyrillic look-alikes folded by the lexical default
    assert raw.headers["x-llamos-changed"] == "true"
    ready = httpx.get(f"{served}/readyz").json()
    assert ready["defense"]["backend"] in ("lexical", "caching(lexical)") or "lexical" in str(ready["defense"])


def test_bad_config_is_one_clean_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("defense:\n  mode: sometimes\n")
    done = subprocess.run([LLAMOS, "serve", "--config", str(config)], env=clean_env(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "defense.mode" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_version_and_models() -> None:
    assert "llamos-gateway" in subprocess.run([LLAMOS, "version"], capture_output=True, text=True,
                                              env=clean_env(), check=True).stdout
    listed = subprocess.run([LLAMOS, "models"], capture_output=True, text=True, env=clean_env(),
                            check=True).stdout
    assert "local/echo" in listed
