"""Shared fixtures: the testing kit's fake upstream served on 127.0.0.1, settings, in-process and
served gateways."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.defense.protocol import Purifier
from llamos_gateway.localllm import LocalModel, bundled_model_path
from llamos_gateway.localllm.server import server_command
from llamos_gateway.settings import RedisSettings, Settings, load_settings
from llamos_gateway.testing import FakeOpenAI, MarkPurifier, ServedApp, ServerProcess, free_port
from llamos_gateway.wiring import Components, open_components
from tests.storage.redis_helpers import (
    SHARED_URL,
    delete_prefix,
    shared_redis_available,
    unique_prefix,
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LLAMOS_* variable from the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("LLAMOS_") or name == "PROMETHEUS_MULTIPROC_DIR":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def local_model() -> Iterator[LocalModel]:
    """The bundled SmolLM2-135M-Instruct, loaded once for the whole session: every test that
    needs the real model shares it (each context opens on first use)."""
    model = LocalModel(bundled_model_path())
    yield model
    model.close()


@pytest.fixture(scope="session")
def llama_cpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's own OpenAI-compatible server on the bundled model, started once for
    the session on a free port (as `llamos local-llm serve` starts it); its /v1 base URL. The
    model is served as `smollm2`."""
    command = server_command(bundled_model_path(), alias="smollm2", port=(port := free_port()),
                             n_ctx=2048, n_threads=1)
    log = tmp_path_factory.mktemp("llama-cpp-server") / "server.log"
    with ServerProcess(command, port=port, log_path=log, ready_path="/v1/models") as server:
        yield server.url + "/v1"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with ServedApp(fake) as served:
        yield fake, served.url


@pytest.fixture
def fake_upstream(fake_server: tuple[FakeOpenAI, str]) -> FakeOpenAI:
    fake, _ = fake_server
    fake.reset()
    return fake


@pytest.fixture
def fake_url(fake_server: tuple[FakeOpenAI, str], fake_upstream: FakeOpenAI) -> str:
    return fake_server[1] + "/v1"


@pytest.fixture
def settings_for(fake_url: str) -> Callable[..., Settings]:
    """Settings with two aliases on the fake upstream: `fake` (pass-through) and
    `fake-litellm` (through litellm), plus anything passed in."""

    def build(**overrides: Any) -> Settings:
        base: dict[str, Any] = {
            "models": {
                "fake": {"model": "openai/fake-model", "api_base": fake_url},
                "fake-litellm": {"model": "openai/fake-model", "api_base": fake_url,
                                 "passthrough": False},
            },
            "defense": {"backend": "passthrough"},
            "limits": {"max_retries": 0},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                base[key] = {**base[key], **value}
            else:
                base[key] = value
        return load_settings(**base)

    return build


def factory_with(purifier: Purifier | None = None,
                 **kw: Any) -> Callable[[Settings], AbstractAsyncContextManager[Components]]:
    def factory(settings: Settings) -> AbstractAsyncContextManager[Components]:
        return open_components(settings, purifier=purifier, **kw)

    return factory


@pytest.fixture
def mark_purifier() -> MarkPurifier:
    return MarkPurifier()


@pytest.fixture
async def api(settings_for: Callable[..., Settings],
              mark_purifier: MarkPurifier) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process (ASGI transport, lifespan run), with the marking purifier."""
    app = create_app(settings_for(), components=factory_with(mark_purifier))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            yield client


@pytest.fixture
def serve_gateway() -> Iterator[Callable[..., str]]:
    """Serve a gateway app on 127.0.0.1 for real; returns its /v1 base URL."""
    started: list[ServedApp] = []

    def start(settings: Settings, purifier: Purifier | None = None, **kw: Any) -> str:
        served = ServedApp(create_app(settings, components=factory_with(purifier, **kw))).start()
        started.append(served)
        return served.url + "/v1"

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def redis_settings() -> Iterator[RedisSettings]:
    """Settings for the shared Redis (DB 13) under a prefix of this test's own."""
    if not shared_redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings = RedisSettings(url=SHARED_URL, key_prefix=unique_prefix(), socket_timeout_s=1.0,
                             retry_after_s=0.2)
    yield settings
    delete_prefix(SHARED_URL, settings.key_prefix)
