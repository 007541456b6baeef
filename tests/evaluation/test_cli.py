"""`llamos eval` as a subprocess: clean one-line errors, non-zero exit, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _llamos(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from llamos_gateway.cli import main; main()", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def _one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("llamos: error:")]
    assert len(errors) == 1 and expected in errors[0], result.stderr


def test_missing_dataset(tmp_path: Path) -> None:
    result = _llamos("eval", "--dataset", "nope.csv", "--defense", "none", cwd=tmp_path)
    _one_line_error(result, "dataset not found: nope.csv")


def test_unknown_recipe(tmp_path: Path) -> None:
    result = _llamos("eval", "--recipe", "deepwordbug,nosuch", "--defense", "none", cwd=tmp_path)
    _one_line_error(result, "unknown recipe 'nosuch'")


def test_recipe_without_its_resources(tmp_path: Path) -> None:
    result = _llamos("eval", "--recipe", "textfooler", "--defense", "none", cwd=tmp_path)
    _one_line_error(result, "recipe 'textfooler' needs")


def test_unreachable_target(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = _llamos("eval", "--target", "gpt-4o-mini", "--via", f"http://127.0.0.1:{port}/v1",
                     "--defense", "none", "--limit", "2", "--recipe", "deepwordbug",
                     "--output-dir", str(tmp_path / "out"), cwd=tmp_path)
    _one_line_error(result, f"target unreachable at http://127.0.0.1:{port}/v1")
    assert not (tmp_path / "out").exists()


def test_unknown_defense(tmp_path: Path) -> None:
    _one_line_error(_llamos("eval", "--defense", "magic", cwd=tmp_path), "unknown defense 'magic'")


def test_promptattack_missing_file(tmp_path: Path) -> None:
    result = _llamos("eval", "promptattack", "missing.json", "--defense", "none", cwd=tmp_path)
    _one_line_error(result, "PromptAttack file not found: missing.json")
