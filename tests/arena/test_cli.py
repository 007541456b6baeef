"""`llamos arena` as a real process: bad arguments give one line on stderr and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def llamos(*args: str, cwd: Path, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LLAMOS_")}
    return subprocess.run(
        [sys.executable, "-c", "from llamos_gateway.cli import main; main()", "arena", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env={**clean, **(env or {})})


@pytest.mark.parametrize(("args", "message"), [
    (["--attacker", "gpt"], "--attacker must be one of offline, llm, not 'gpt'"),
    (["--defense", "magic"],
     "--defense must be one of passthrough, lexical, llamos, tiered, ranked, none"),
    (["--rounds", "0"], "--rounds must be at least 1, not 0"),
    (["--limit", "0"], "--limit must be at least 1, not 0"),
    (["--attacker", "llm"], "--attacker llm needs --attacker-model"),
    (["--dataset", "missing.csv"], "dataset not found: missing.csv"),
    (["--defense", "llamos", "--limit", "2"], "--defense llamos needs a defense model"),
])
def test_bad_arguments_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = llamos(*args, "--output-dir", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("llamos: error: ") and message in lines[0]
    assert "Traceback" not in result.stderr
