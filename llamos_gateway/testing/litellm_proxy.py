"""LiteLLM's own proxy in a virtualenv of its own (`<repo>/.venv-litellm-proxy`), as the
gateway benchmark builds it: the gateway's tests and benchmarks run it as a separate process,
never importing it, so what they see is what a LiteLLM deployment does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LITELLM_VERSION = "1.106.2"
VENV = Path(__file__).resolve().parents[2] / ".venv-litellm-proxy"
PIP_LOCK = "/tmp/pip.lock"  # pip runs are serialised on shared machines


def ensure_litellm_proxy(venv: Path = VENV) -> Path | None:
    """The `litellm` binary of the venv, creating the venv first if needed (minutes); None
    when it cannot be created (offline, no index)."""
    binary = venv / "bin" / "litellm"
    if binary.exists():
        return binary
    install = (f"{sys.executable} -m venv {venv} && {venv}/bin/pip install -q "
               f"'litellm[proxy]=={LITELLM_VERSION}'")
    try:
        subprocess.run(["flock", PIP_LOCK, "sh", "-c", install], check=True, timeout=1200)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        return None
    return binary if binary.exists() else None
