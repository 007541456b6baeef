"""Run `llamos serve` as a real process on 127.0.0.1 for tests (scale-out, --workers)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml

_SERVE = "from llamos_gateway.cli import main; main()"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """`llamos serve --config <yaml> --port <free> [--workers N]`, its output in a log file."""

    def __init__(self, config: dict[str, Any], workdir: Path, *, name: str = "gw",
                 workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(yaml.safe_dump(config), encoding="utf-8")
        self.log_path = workdir / f"{name}.log"
        self._workers = workers
        base = {k: v for k, v in os.environ.items() if not k.startswith("LLAMOS_")}
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        self._env = {**base, **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> GatewayProcess:
        command = [sys.executable, "-c", _SERVE, "serve", "--config", str(self.config_path),
                   "--host", "127.0.0.1", "--port", str(self.port),
                   "--workers", str(self._workers)]
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                          env=self._env, cwd=Path(__file__).parents[2])
        deadline = time.monotonic() + timeout_s
        while True:  # poll a condition, not a fixed sleep
            if self._proc.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gateway did not start in {timeout_s}s:\n{self.log()}")
            time.sleep(0.1)

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

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
