"""Run the `llamos` command as a real process, the way a person at a terminal would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from llamos_gateway.testing import child_environment, free_port

__all__ = ["LLAMOS", "ROOT", "clean_env", "free_port", "llamos"]

# the console script of the virtualenv running the tests (the README's `.venv/bin/llamos`)
LLAMOS = str(Path(sys.executable).parent / "llamos")
ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any LLAMOS_* variable (and no metrics directory), plus `extra`."""
    return child_environment(extra)


def llamos(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           stdin: str | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LLAMOS, *args], capture_output=True, text=True, input=stdin,
                          env=clean_env(**(env or {})), cwd=cwd or ROOT, timeout=timeout_s,
                          check=False)
