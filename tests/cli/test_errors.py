"""Every bad input a person can type gets one line on stderr, exit status 2, no traceback.

Each case runs `llamos` as a real process (the console script of this virtualenv). The
processes start together in one module fixture, a few at a time, so the module costs a few
interpreter start-ups, not one per case.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.process import free_port, llamos

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    says: str  # the one line must contain this
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # configuration from the environment
    "roles-not-a-role": Case(("config",), "defense.roles", {"LLAMOS_DEFENSE__ROLES": "user,bot"}),
    "roles-broken-json": Case(("config",), "defense.roles: Value error, not a JSON list",
                              {"LLAMOS_DEFENSE__ROLES": '["user", "tool"'}),
    "models-not-json": Case(("models",), "LLAMOS_MODELS must be a JSON object",
                            {"LLAMOS_MODELS": "foo"}),
    "group-not-json": Case(("config",), "LLAMOS_DEFENSE must be a JSON object",
                           {"LLAMOS_DEFENSE": "foo"}),
    "misspelled-variable": Case(("config",), "unknown environment variable LLAMOS_DEFENCE__MODE",
                                {"LLAMOS_DEFENCE__MODE": "shadow"}),
    # configuration files
    "config-is-a-directory": Case(("config", "--config", "{dir}"), "is a directory"),
    "config-invalid-yaml": Case(("config", "--config", "{bad_yaml}"),
                                "is not valid YAML: line 2, column 1"),
    "config-missing": Case(("models", "--config", "{dir}/missing.yaml"), "config file not found"),
    "config-bad-value": Case(("serve", "--config", "{bad_mode}"), "defense.mode"),
    # usage
    "purify-no-text": Case(("purify",), "give a TEXT to purify, or --jsonl"),
    "purify-text-and-jsonl": Case(("purify", "x", "--jsonl"), "not both"),
    "purify-unknown-backend": Case(("purify", "x", "--defense", "magic"),
                                   "--defense must be one of"),
    "unknown-command": Case(("nope",), "No such command 'nope'"),
    "unknown-option": Case(("models", "--nope"), "No such option: --nope"),
    "eval-file-missing": Case(("eval", "promptattack"), "Missing argument"),
    # serve: flags validated like the config, the address checked before uvicorn starts
    "serve-port-too-high": Case(("serve", "--port", "99999"),
                                "--port: Input should be less than or equal to 65535"),
    "serve-port-zero": Case(("serve", "--port", "0"), "--port: Input should be greater than"),
    "serve-workers-zero": Case(("serve", "--workers", "0"), "--workers: Input should be greater"),
    "serve-port-not-a-number": Case(("serve", "--port", "abc"), "Invalid value for '--port'"),
    "serve-port-in-use": Case(("serve", "--port", "{busy_port}"), "the port is in use"),
    "serve-unknown-builtin": Case(("serve", "--config", "{bad_model}"),
                                  "models.x.model: unknown built-in model 'local/nope'"),
    "serve-agent-without-model": Case(("serve", "--port", "{free_port}"),
                                      "defense.model: the llamos and tiered backends need",
                                      {"LLAMOS_DEFENSE__BACKEND": "tiered"}),
    # audit tail without Redis and without a gateway to ask
    "audit-no-gateway": Case(("audit", "tail", "--url", "http://127.0.0.1:{free_port}"),
                             "no gateway answers at http://127.0.0.1:"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    tmp = tmp_path_factory.mktemp("cli-errors")
    files = {"dir": str(tmp), "bad_yaml": str(tmp / "bad.yaml"), "bad_mode": str(tmp / "mode.yaml"),
             "bad_model": str(tmp / "model.yaml"), "free_port": str(free_port())}
    (tmp / "bad.yaml").write_text("models: [a,\n")
    (tmp / "mode.yaml").write_text("defense:\n  mode: sometimes\n")
    (tmp / "model.yaml").write_text("models:\n  x: {model: local/nope}\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        files["busy_port"] = str(busy.getsockname()[1])

        def run(case: Case) -> subprocess.CompletedProcess[str]:
            return llamos(*(a.format(**files) for a in case.args), env=case.env, cwd=tmp,
                          timeout_s=120)

        with ThreadPoolExecutor(max_workers=4) as pool:
            done = dict(zip(CASES, pool.map(run, CASES.values()), strict=True))
    yield done


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_exit_2(
        name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    result = outcomes[name]
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("llamos: error: "), lines[0]
    assert CASES[name].says in lines[0], lines[0]
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("roles", ["user,tool", " user , tool ", '["user", "tool"]'])
def test_roles_from_the_environment_as_a_comma_list_or_json(roles: str) -> None:
    result = llamos("config", env={"LLAMOS_DEFENSE__ROLES": roles})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["defense"]["roles"] == ["user", "tool"]


def test_bare_command_prints_help_not_an_error() -> None:
    result = llamos()
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: llamos [OPTIONS] COMMAND")
    assert "<bool>" not in result.stdout


def test_help_has_no_type_noise_after_flags(tmp_path: Path) -> None:
    result = llamos("purify", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "<bool>" not in result.stdout and "╭" not in result.stdout
    assert "--explain / --no-explain" in result.stdout
