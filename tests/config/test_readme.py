"""The README stays true: its configuration table is what `llamos config --reference` prints,
and its two set-up commands are the ones .ci/run uses."""

from __future__ import annotations

import re
from pathlib import Path

from llamos_gateway.cli.config import reference_table

ROOT = Path(__file__).resolve().parents[2]


def test_config_table_matches_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- config-table:start -->\n(.*?)\n<!-- config-table:end -->", readme,
                      re.S)
    assert block is not None
    assert block.group(1).strip() == reference_table().strip(), \
        "README config table is stale: paste `llamos config --reference`"


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = ".venv/bin/python -m pytest"
    assert f"\n{test_command}\n" in readme
    assert ci.rstrip().endswith(test_command)
    assert "\nbash deploy/install.sh && .venv/bin/llamos serve\n" in readme
    assert "\nbash deploy/install.sh\n" in ci
    install = (ROOT / "deploy" / "install.sh").read_text(encoding="utf-8")
    assert '.venv/bin/pip install --quiet -e ".[eval,dev]"' in install
