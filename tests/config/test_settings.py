"""Configuration: the example file, env overrides, and clear errors naming the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import DefenseMode, load_settings, override

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "llamos.example.yaml"


def test_example_config_loads() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.models["gpt-4o-mini"].uses_passthrough
    assert not settings.models["claude-haiku"].uses_passthrough
    assert settings.auth.api_keys[0].id == "team-research"
    assert settings.auth.api_keys[0].key.get_secret_value() == "sk-llamos-change-me"
    assert "sk-llamos-change-me" not in repr(settings)
    assert settings.defense_backend == "lexical"  # no defense model configured


def test_env_overrides_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMOS_DEFENSE__MODE", "shadow")
    monkeypatch.setenv("LLAMOS_SERVER__PORT", "9001")
    monkeypatch.setenv("LLAMOS_AUTH__API_KEYS", '["sk-a", "sk-b"]')
    settings = load_settings(EXAMPLE)
    assert settings.defense.mode is DefenseMode.SHADOW
    assert settings.server.port == 9001
    assert [k.key.get_secret_value() for k in settings.auth.api_keys] == ["sk-a", "sk-b"]


def test_defense_model_switches_auto_backend() -> None:
    assert load_settings(defense={"model": "gpt-4o-mini"}).defense_backend == "llamos"


@pytest.mark.parametrize(("text", "names"), [
    ("defense:\n  mode: sometimes\n", "defense.mode"),
    ("defense:\n  modee: enforce\n", "defense.modee"),
    ("server:\n  port: 99999\n", "server.port"),
    ("models:\n  x:\n    api_base: http://h\n", "models.x.model"),
    ("surprise: 1\n", "surprise"),
])
def test_bad_keys_are_named(tmp_path: Path, text: str, names: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert names in info.value.message


def test_unreadable_configs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("defense: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(listing)


def test_comma_separated_keys_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMOS_AUTH__API_KEYS", "sk-one, sk-two")
    keys = load_settings().auth.api_keys
    assert [k.key.get_secret_value() for k in keys] == ["sk-one", "sk-two"]


@pytest.mark.parametrize("name", ["LLAMOS_DEFENCE__MODE", "LLAMOS_DEFENSE__MOOD"])
def test_misspelled_environment_names_are_named(monkeypatch: pytest.MonkeyPatch,
                                                name: str) -> None:
    monkeypatch.setenv(name, "shadow")
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_model_aliases_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMOS_MODELS__MINI__MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("LLAMOS_MODELS__MINI__API_BASE", "http://127.0.0.1:1/v1")
    assert load_settings().models["mini"].uses_passthrough


@pytest.mark.parametrize("value", ["user,tool", "user, tool", '["user", "tool"]'])
def test_roles_from_env_as_comma_list_or_json(monkeypatch: pytest.MonkeyPatch,
                                              value: str) -> None:
    monkeypatch.setenv("LLAMOS_DEFENSE__ROLES", value)
    assert load_settings().defense.roles == ["user", "tool"]


@pytest.mark.parametrize(("name", "value", "says"), [
    ("LLAMOS_MODELS", "foo", "LLAMOS_MODELS must be a JSON object"),
    ("LLAMOS_DEFENSE", "enforce", "LLAMOS_DEFENSE must be a JSON object"),
    ("LLAMOS_AUTH", "[", "LLAMOS_AUTH must be a JSON object"),
])
def test_env_values_that_must_be_json_name_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                        name: str, value: str, says: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says) as info:
        load_settings()
    assert value not in info.value.message.replace(name, "")  # the value is never echoed


def test_unreadable_config_paths_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory") as info:
        load_settings(tmp_path)
    assert "\n" not in info.value.message
    broken = tmp_path / "broken.yaml"
    broken.write_text("models:\n  x: {model: [\n")
    with pytest.raises(ConfigError) as info:
        load_settings(broken)
    assert "\n" not in info.value.message
    assert info.value.message.endswith("is not valid YAML: line 3, column 1: expected the node "
                                       "content, but found '<stream end>'")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00models")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(binary)


def test_flag_overrides_are_validated_like_the_config() -> None:
    settings = load_settings()
    assert override(settings, "server", {"port": 9000}).server.port == 9000
    assert settings.server.port == 8000  # a copy, not a change
    with pytest.raises(ConfigError, match=r"invalid option --port: Input should be less"):
        override(settings, "server", {"port": 99999}, names={"port": "--port"})
    with pytest.raises(ConfigError, match=r"server\.workers: Input should be greater"):
        override(settings, "server", {"workers": 0})


def test_config_shows_the_effective_policy_of_each_model_and_key() -> None:
    from llamos_gateway.cli.config import effective_policy

    settings = load_settings(
        defense={"action": "flag"},
        models={"strict": {"model": "local/echo", "defense": {"action": "block",
                                                              "block_threshold": 0.5}}},
        auth={"api_keys": [{"key": "sk-a", "id": "a", "defense_mode": "off"},
                           {"key": "sk-b", "id": "b"}]})
    shown = effective_policy(settings)
    assert shown["precedence"] == "header > key > model > global"
    assert shown["global"]["action"] == "flag" and shown["global"]["backend"] == "lexical"
    assert (shown["models"]["strict"]["action"],
            shown["models"]["strict"]["block_threshold"]) == ("block", 0.5)
    assert shown["keys"] == {"a": {"mode": "off"}}


def test_policy_backends_must_be_built() -> None:
    from llamos_gateway.wiring import preflight

    settings = load_settings(models={"m": {"model": "local/echo",
                                           "defense": {"backend": "llamos"}}})
    with pytest.raises(ConfigError, match="models.m.defense.backend: backend 'llamos'"):
        preflight(settings)
