"""`llamos eval` as a subprocess: clean one-line errors, non-zero exit, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llamos_gateway.testing import free_port

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
    port = free_port()
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


def test_promptattack_piped_prints_a_plain_full_table_and_files_follow_the_umask(
        tmp_path: Path) -> None:
    published = Path(__file__).resolve().parents[2] / "llamos_gateway" / "data" / "promptattack"
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", "from llamos_gateway.cli import main; main()", "eval",
         "promptattack", str(published / "sst-2.json"), "--limit", "4", "--instructions",
         "C1,S1", "--strategy", "zero-shot", "--output-dir", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False, umask=0o027)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "local/sst2-sentiment on sst2"
    assert "| recipe | defense | mode | clean acc | clean acc purified |" in lines[2]
    assert "| C1/zero-shot | lexical | replay |" in result.stdout  # nothing cut to 80 columns
    assert "| ASR no floor | ASR of passed | fidelity pass | rejected (why) |" in lines[2]
    assert lines[-1].startswith("fidelity filter: similarity local-hidden-states >= 0.540;")
    assert "…" not in result.stdout and "┃" not in result.stdout
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir()}
    assert set(modes) == {"report.json", "report.md", "examples.jsonl", "asr.png", "accuracy.png"}
    assert set(modes.values()) == {0o640}, modes
