"""The Dockerfile and docker-compose.yml agree with the code and with each other."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from llamos_gateway.settings import load_settings
from tests.deploy.conftest import (
    DEPLOY,
    ROOT,
    entry_point_env_names,
    parse_env_file,
    provider_key_envs,
    settings_env_names,
)

COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in stage:
        if word == "ENV":
            for pair in args.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))


def baked_config() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "llamos.container.yaml").read_text(encoding="utf-8")))


def test_image_is_slim_non_root_with_prompts_config_and_healthcheck() -> None:
    stage = final_stage()
    assert stage[0] == ("FROM", "python:3.11-slim")
    users = [args for word, args in stage if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    copies = [args.split() for word, args in stage if word == "COPY"]
    targets = {parts[-1]: parts[-2] for parts in copies if not parts[0].startswith("--from")}
    env = env_of(stage)
    assert targets[env["LLAMOS_CONFIG"]] == "deploy/llamos.container.yaml"
    assert targets[env["LLAMOS_DEFENSE__PROMPTS_DIR"]] == "prompts"
    (health,) = [args for word, args in stage if word == "HEALTHCHECK"]
    assert "/healthz" in health
    expose = [int(args) for word, args in stage if word == "EXPOSE"]
    assert expose == [load_settings(DEPLOY / "llamos.container.yaml").server.port]


def test_dockerfile_sources_exist_and_are_in_the_build_context() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:] for line in ignore if line.startswith("!")}
    for word, args in instructions():
        if word == "COPY" and not args.startswith("--from"):
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is not in the build context"


def test_env_names_are_read_by_the_code(compose: dict[str, Any]) -> None:
    allowed = (settings_env_names() | entry_point_env_names()
               | provider_key_envs(baked_config()) | {"PATH", "PYTHONUNBUFFERED",
                                                      "PYTHONDONTWRITEBYTECODE"})
    gateway = compose["services"]["gateway"]
    names = set(gateway.get("environment", {})) | set(env_of(final_stage()))
    names |= set(parse_env_file(DEPLOY / ".env.example"))
    unknown = names - allowed
    assert not unknown, f"env names no code reads: {unknown}"


def test_baked_config_with_the_example_env_is_valid(compose: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**parse_env_file(DEPLOY / ".env.example"),
           **compose["services"]["gateway"].get("environment", {})}
    for key, value in env.items():
        if key.startswith("LLAMOS_") and value != "":
            monkeypatch.setenv(key, str(value))
    settings = load_settings(DEPLOY / "llamos.container.yaml")
    assert settings.server.host == "0.0.0.0"
    assert settings.auth.api_keys, "the example turns authentication on"
    assert settings.redis.url == "redis://redis:6379/0"
    assert settings.audit.store_text is False


def test_compose_gateway_waits_for_a_healthy_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gateway, redis = services["gateway"], services["redis"]
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in gateway and "healthcheck" in redis
    assert any("/healthz" in part for part in gateway["healthcheck"]["test"])
    assert gateway["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / gateway["build"]["context"] / gateway["build"]["dockerfile"]).exists()
    port = load_settings(DEPLOY / "llamos.container.yaml").server.port
    assert all(str(p).endswith(f":{port}") for p in gateway["ports"])
    env_files = [e["path"] for e in gateway["env_file"] if e.get("required", True)]
    assert all((ROOT / path).exists() for path in env_files)
    assert services["ollama"]["profiles"] == ["ollama"]
    local = services["local-llm"]
    assert local["profiles"] == ["local-llm"]
    assert local["build"]["args"]["EXTRAS"] == "local-llm"
    assert local["command"][:2] == ["local-llm", "serve"]
    url = gateway["environment"]["LLAMOS_REDIS__URL"]
    assert url.split("//", 1)[1].split(":", 1)[0] == "redis"


def docker_compose_available() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "the docker client is not installed"
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True,
                           timeout=30, check=False)
    if probe.returncode != 0:
        first = (probe.stderr.strip().splitlines() or [""])[0]
        return f"the docker compose plugin is not installed ({first})"
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    reason = docker_compose_available()
    if reason is not None:
        pytest.skip(f"docker compose config not run: {reason}")
    result = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
