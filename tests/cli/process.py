"""Run the `llamos` command as a real process, the way a person at a terminal would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

# the console script of the virtualenv running the tests (the README's `.venv/bin/llamos`)
LLAMOS = str(Path(sys.executable).parent / "llamos")
ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any LLAMOS_* variable (and no metrics directory), plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LLAMOS_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def llamos(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           stdin: str | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LLAMOS, *args], capture_output=True, text=True, input=stdin,
                          env=clean_env(**(env or {})), cwd=cwd or ROOT, timeout=timeout_s,
                          check=False)
