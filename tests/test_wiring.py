"""The composition root against the route plan: what `llamos models` and the start-up line print
is what the router builds; start-up problems are found before a worker starts; a missing key
is named under the key the user wrote."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from llamos_gateway.errors import ConfigError
from llamos_gateway.routing import BUILTIN_MODELS, plan_routes
from llamos_gateway.settings import Settings, load_settings
from llamos_gateway.upstream.passthrough import build_http_client
from llamos_gateway.wiring import build_router, local_models, preflight

MODELS = {
    "gpt": {"model": "openai/gpt-4o-mini", "api_base": "https://api.openai.com/v1",
            "api_key_env": "LLAMOS_TEST_UNSET_KEY"},
    "claude": {"model": "anthropic/claude-3-5-haiku-latest"},
    "echo": {"model": "local/echo"},
    "local/echo": {"model": "openai/echo", "api_base": "http://127.0.0.1:9/v1",
                   "passthrough": False},
}


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    session = build_http_client(max_connections=1, timeout_s=1.0, connect_timeout_s=1.0)
    yield session
    await session.close()


def test_builtin_names_are_the_local_models() -> None:
    assert set(BUILTIN_MODELS) == set(local_models())


async def test_the_plan_is_what_the_router_builds(client: aiohttp.ClientSession) -> None:
    settings = load_settings(models=MODELS)
    built = {(r.alias, r.path, r.upstream_model, r.owned_by)
             for r in build_router(settings, client).routes()}
    planned = {(p.alias, p.path, p.upstream_model, p.owned_by) for p in plan_routes(settings)}
    assert built == planned
    assert ("local/echo", "litellm", "openai/echo", "openai") in planned  # an alias wins


async def test_missing_key_is_named_where_the_user_wrote_it(
        client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    # defense.model is a model string of its own: the warning names defense.model
    own = load_settings(defense={"model": "openai/gpt-4o-mini",
                                 "api_key_env": "LLAMOS_TEST_UNSET_KEY",
                                 "api_base": "https://api.openai.com/v1"})
    with caplog.at_level(logging.WARNING, logger="llamos_gateway.wiring"):
        build_router(own, client)
    assert [r.getMessage() for r in caplog.records] == [
        "defense.model: environment variable LLAMOS_TEST_UNSET_KEY is not set"]
    caplog.clear()
    # defense.model names an alias: said once, under the alias
    alias = load_settings(models={"gpt": MODELS["gpt"]}, defense={"model": "gpt"})
    with caplog.at_level(logging.WARNING, logger="llamos_gateway.wiring"):
        build_router(alias, client)
    assert [r.getMessage() for r in caplog.records] == [
        "models.gpt: environment variable LLAMOS_TEST_UNSET_KEY is not set"]


@pytest.mark.parametrize(("settings", "names"), [
    ({"models": {"x": {"model": "local/nope"}}}, "models.x.model: unknown built-in"),
    ({"defense": {"model": "local/nope"}}, "defense.model: unknown built-in"),
    ({"defense": {"backend": "tiered"}}, "defense.model: the llamos and tiered backends need"),
    ({"defense": {"model": "local/echo", "prompts_dir": "/nonexistent"}}, "prompt file missing"),
])
def test_preflight_finds_what_start_up_would(settings: dict[str, object], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        preflight(load_settings(**settings))  # type: ignore[arg-type]


def test_preflight_passes_the_example_config() -> None:
    example = Path(__file__).resolve().parents[1] / "deploy" / "llamos.example.yaml"
    preflight(load_settings(example))
    preflight(Settings())
