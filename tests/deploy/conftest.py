"""What the deployment files are checked against: the code's own settings model and routes."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from llamos_gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"


def _group(annotation: Any) -> type[BaseModel] | None:
    is_group = isinstance(annotation, type) and issubclass(annotation, BaseModel)
    return annotation if is_group else None


def settings_env_names() -> set[str]:
    """Every environment variable the Settings model reads: LLAMOS_<FIELD> and, for nested
    groups, LLAMOS_<GROUP>__<FIELD> (derived from the model, so a renamed setting fails here)."""
    config = Settings.model_config
    prefix, nested = str(config.get("env_prefix", "")), str(config.get("env_nested_delimiter"))
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"{prefix}{name}".upper())
        group = _group(field.annotation)
        if group is not None:
            names.update(f"{prefix}{name}{nested}{sub}".upper() for sub in group.model_fields)
    return names


def entry_point_env_names() -> set[str]:
    """Variables the entry points read besides the settings (`--config` via LLAMOS_CONFIG)."""
    from llamos_gateway.cli._common import ConfigOption

    option = typing.get_args(ConfigOption)[1]
    return {option.envvar} if isinstance(option.envvar, str) else set(option.envvar or ())


def provider_key_envs(config: dict[str, Any]) -> set[str]:
    """The provider-key variables a config names through `models.*.api_key_env`."""
    return {spec["api_key_env"] for spec in (config.get("models") or {}).values()
            if spec.get("api_key_env")}


def load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def parse_env_file(path: Path) -> dict[str, str]:
    """docker compose env-file syntax: KEY=VALUE, # comments, optional quotes."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key.strip()] = value
    return out
