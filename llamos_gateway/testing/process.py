"""Servers as child processes: any command (`ServerProcess`) or `llamos serve` (`GatewayProcess`).

The child's environment is the caller's without `LLAMOS_*` variables (a developer's shell must
not leak into a test or a benchmark), plus what the caller passes; its output goes to a log
file that `log()` reads back when it fails to start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

import llamos_gateway
from llamos_gateway.testing.ports import free_port, listening

# the directory that holds the package, so that `-c` imports the very same llamos_gateway
_PACKAGE_PARENT = Path(llamos_gateway.__file__).resolve().parents[1]
_SERVE = "from llamos_gateway.cli import main; main()"


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """`os.environ` without LLAMOS_* and PROMETHEUS_MULTIPROC_DIR, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LLAMOS_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, **(extra or {})}


class ServerProcess:
    """A server command on 127.0.0.1:`port`. `start()` returns once `ready_path` answers 200
    (or, with `ready_path=None`, once the port accepts connections)."""

    def __init__(self, command: Sequence[str], *, port: int, log_path: Path,
                 env: Mapping[str, str] | None = None, ready_path: str | None = "/healthz",
                 cwd: Path | None = None) -> None:
        self.command = list(command)
        self.port = port
        self.log_path = log_path
        self._env = child_environment(env)
        self._ready_path = ready_path
        self._cwd = cwd or _PACKAGE_PARENT
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def start(self, timeout_s: float = 60.0) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                          env=self._env, cwd=self._cwd)
        deadline = time.monotonic() + timeout_s
        while not self._ready():  # poll a condition, not a fixed sleep
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.command[0]} exited early:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start in {timeout_s}s:\n{self.log()}")
            time.sleep(0.1)
        return self

    def _ready(self) -> bool:
        if self._ready_path is None:
            return listening(self.port)
        try:
            return httpx.get(self.url + self._ready_path, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def send_signal(self, signum: int) -> None:
        assert self._proc is not None, "not started"
        self._proc.send_signal(signum)

    def wait(self, timeout_s: float) -> int:
        """The exit status, once the process has ended (`subprocess.TimeoutExpired` past
        `timeout_s`)."""
        assert self._proc is not None, "not started"
        return self._proc.wait(timeout=timeout_s)

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class GatewayProcess(ServerProcess):
    """`llamos serve --config <workdir/name.yaml> --port <free> --workers N`, logging to
    `workdir/name.log`."""

    def __init__(self, config: Mapping[str, Any], workdir: Path, *, name: str = "gw",
                 workers: int = 1, env: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(dict(config)), encoding="utf-8")
        port = free_port()
        command = [sys.executable, "-c", _SERVE, "serve", "--config", str(self.config_path),
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
        super().__init__(command, port=port, log_path=workdir / f"{name}.log", env=env)

    def __enter__(self) -> GatewayProcess:
        self.start()
        return self


def fixed_fake_openai(log_path: Path, *, content: str = "a fixed answer",
                      model: str = "bench-model", prompt_tokens: int = 9) -> ServerProcess:
    """`FakeOpenAI.fixed(content)` served by its own process on a free port (load tests: the
    fake must not share a process with the load generator or the gateway)."""
    port = free_port()
    command = [sys.executable, "-m", "llamos_gateway.testing.fake_openai", "--port", str(port),
               "--content", content, "--model", model, "--prompt-tokens", str(prompt_tokens)]
    return ServerProcess(command, port=port, log_path=log_path, ready_path="/v1/models")
