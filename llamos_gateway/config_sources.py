"""What feeds the settings, read with one-line errors: the YAML file and `LLAMOS_*` variables.

`settings.load_settings` calls these before it builds the model, so a file that is a
directory, YAML that does not parse, a misspelled variable, or a list given as plain text
where JSON is wanted each stop the entry point with one `ConfigError` naming the culprit,
never a traceback from PyYAML or pydantic-settings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import NoDecode

from llamos_gateway.errors import ConfigError

PREFIX = "LLAMOS_"
# read elsewhere, not settings: the config file path, the on-disk cache directory, the key the
# LiteLLM guardrail and `llamos audit tail` send, the address docker compose publishes
NOT_SETTINGS = frozenset({"LLAMOS_CONFIG", "LLAMOS_CACHE_DIR", "LLAMOS_API_KEY", "LLAMOS_PUBLISH"})


def read_yaml(config: Path) -> dict[str, Any]:
    """The mapping in a YAML config file."""
    try:
        loaded = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {config}") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"config file {config} is a directory; give a YAML file") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {config} is not UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config file {config}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {config} is not valid YAML: {_yaml_problem(exc)}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"config file {config} must hold a mapping at the top level")
    return loaded or {}


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line report in one line: where, and what."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return " ".join(str(exc).split())


def check_environment(environ: Mapping[str, str], model: type[BaseModel]) -> None:
    """A misspelled LLAMOS_* variable would otherwise be ignored without a word, and a list or
    map that is not JSON would stop the environment source with a traceback."""
    for name, value in environ.items():
        if not name.startswith(PREFIX) or name in NOT_SETTINGS:
            continue
        parts = name[len(PREFIX):].lower().split("__")
        field = model.model_fields.get(parts[0])
        annotation = field.annotation if field is not None else None
        if field is None or (
            len(parts) > 1 and isinstance(annotation, type) and issubclass(annotation, BaseModel)
            and parts[1] not in annotation.model_fields
        ):
            raise ConfigError(f"invalid configuration: unknown environment variable {name} "
                              f"(see `llamos config --reference`)")
        target = _target_field(field, parts[1:])
        if target is not None and value.strip():
            _check_json(name, target, value)


def _target_field(field: FieldInfo, rest: list[str]) -> FieldInfo | None:
    """The field a nested variable sets (`defense__roles` -> DefenseSettings.roles), if known."""
    for part in rest:
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None  # a key inside a map (models__NAME__...): pydantic-settings builds it
        inner = annotation.model_fields.get(part)
        if inner is None:
            return None
        field = inner
    return field


def _check_json(name: str, field: FieldInfo, value: str) -> None:
    """Lists, maps and groups come from the environment as JSON (unless the field reads its own
    text, like `defense.roles`): say so, naming the variable, and never echo the value."""
    if NoDecode in field.metadata:
        return
    shape = _json_shape(name, field.annotation)
    if shape is None:
        return
    try:
        json.loads(value)
    except ValueError:
        raise ConfigError(f"invalid configuration: {name} must be {shape}") from None


def _json_shape(name: str, annotation: Any) -> str | None:
    origin = get_origin(annotation) or annotation
    if origin in (UnionType, Union):
        shapes = [_json_shape(name, arg) for arg in get_args(annotation) if arg is not type(None)]
        return next((s for s in shapes if s), None)
    if origin in (list, tuple, set, frozenset):
        return """a JSON list, e.g. '["a", "b"]'"""
    if origin is dict:
        values = get_args(annotation)[1:] or (str,)
        inner = values[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            first = next(iter(inner.model_fields))
            return f"""a JSON object, e.g. '{{"NAME": {{"{first}": "..."}}}}'"""
        return """a JSON object, e.g. '{"NAME": "..."}'"""
    if isinstance(origin, type) and issubclass(origin, BaseModel):
        first = next(iter(origin.model_fields))
        return (f"""a JSON object, e.g. '{{"{first}": ...}}', or set {name}__KEY variables """
                f"one key at a time")
    return None
