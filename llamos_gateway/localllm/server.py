"""llama-cpp-python's own OpenAI-compatible server on a GGUF file, for people who prefer the
model in a separate process (`llamos local-llm serve`; the integration tests start it the same
way). Only the command line is built here: the server is llama-cpp-python's."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

from llamos_gateway.localllm.engine import INSTALL_HINT, LocalModelUnavailable

# what `python -m llama_cpp.server` imports besides llama_cpp (its `server` extra)
_SERVER_MODULES = ("llama_cpp", "fastapi", "uvicorn", "sse_starlette", "starlette_context",
                   "pydantic_settings")


def server_command(model: Path, *, alias: str, host: str = "127.0.0.1", port: int = 8080,
                   n_ctx: int = 4096, n_threads: int | None = None,
                   python: str = sys.executable) -> list[str]:
    """The command that serves `model` as `alias` on http://host:port/v1."""
    missing = [m for m in _SERVER_MODULES if find_spec(m) is None]
    if missing:
        raise LocalModelUnavailable(
            f"llama-cpp-python's server needs {', '.join(missing)}; {INSTALL_HINT}")
    if not model.is_file():
        raise LocalModelUnavailable(f"no GGUF model file at {model}")
    command = [python, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
               "--host", host, "--port", str(port), "--n_ctx", str(n_ctx)]
    if n_threads is not None:
        command += ["--n_threads", str(n_threads), "--n_threads_batch", str(n_threads)]
    return command


def describe(command: Sequence[str]) -> str:
    return " ".join(command)
