"""Request logs: one JSON line per request, request id in it, no texts and no keys at INFO."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.observability.logging import (
    REQUEST_LOGGER,
    JsonFormatter,
    configure_logging,
)
from llamos_gateway.settings import LoggingSettings, Settings
from llamos_gateway.testing import FakeOpenAI, MarkPurifier
from tests.conftest import factory_with

SECRET_KEY = "sk-gw-very-secret-0001"
PROMPT = "tell me about the bad secret prompt text"


class Lines(logging.Handler):
    """Formats every record with the gateway's formatter, as the real handler would."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def parsed(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


async def run_requests(settings: Settings) -> None:
    app = create_app(settings, components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gw") as client:
        headers = {"authorization": f"Bearer {SECRET_KEY}", "x-request-id": "req-abc-1"}
        body = {"model": "fake", "messages": [{"role": "user", "content": PROMPT}]}
        assert (await client.post("/v1/chat/completions", json=body,
                                  headers=headers)).status_code == 200
        bad = {"authorization": "Bearer sk-wrong-key-9999", "x-request-id": "req-abc-2"}
        assert (await client.post("/v1/chat/completions", json=body,
                                  headers=bad)).status_code == 401


def auth_settings(settings_for: Callable[..., Settings], **logging_: object) -> Settings:
    return settings_for(auth={"api_keys": [{"key": SECRET_KEY, "id": "team-a"}]},
                        logging=logging_)


async def test_one_info_line_per_request_without_texts_or_keys(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI, lines: Lines) -> None:
    await run_requests(auth_settings(settings_for))
    requests = [r for r in lines.parsed() if r["logger"] == REQUEST_LOGGER]
    assert [r["request_id"] for r in requests] == ["req-abc-1", "req-abc-2"]
    ok, denied = requests
    assert ok["level"] == "INFO" and ok["msg"] == "request"
    assert ok["status"] == 200 and ok["key_id"] == "team-a" and ok["model"] == "fake"
    assert ok["route"] == "chat/completions" and isinstance(ok["total_ms"], float)
    assert ok["defense"] == {"mode": "enforce", "backend": "mark", "texts": 1, "changed": True,
                             "cache_hit": False, "fail_open": None, "reasons": [],
                             "purify_ms": ok["defense"]["purify_ms"],  # type: ignore[index]
                             "prompt_version": "test0000", "score": 0.0,
                             "verdict": "repaired", "action": "purify"}
    assert denied["status"] == 401 and denied["error_code"] == "invalid_api_key"
    everything = "\n".join(lines.lines)
    assert "secret prompt" not in everything  # log_text is off: no text even at DEBUG
    assert SECRET_KEY not in everything and "sk-wrong-key-9999" not in everything


async def test_texts_only_at_debug_and_only_when_allowed(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI, lines: Lines) -> None:
    await run_requests(auth_settings(settings_for, log_text=True))
    with_text = [r for r in lines.parsed() if "secret prompt" in json.dumps(r)]
    assert with_text, "log_text=True and DEBUG enabled: the texts are logged"
    assert {r["level"] for r in with_text} == {"DEBUG"}
    assert with_text[0]["request_id"] == "req-abc-1"
    assert with_text[0]["texts"][0]["original"] == PROMPT  # type: ignore[index]
    assert SECRET_KEY not in "\n".join(lines.lines)


async def test_log_text_does_nothing_above_debug(
        settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI, lines: Lines) -> None:
    logging.getLogger().setLevel(logging.INFO)
    await run_requests(auth_settings(settings_for, log_text=True))
    assert "secret prompt" not in "\n".join(lines.lines)
    assert sum(1 for r in lines.parsed() if r["logger"] == REQUEST_LOGGER) == 2


def test_configure_logging_is_idempotent_and_writes_json(
        capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging(LoggingSettings(level="INFO"))
        configure_logging(LoggingSettings(level="WARNING"))
        ours = [h for h in root.handlers if h.get_name() == "llamos"]
        assert len(ours) == 1 and root.level == logging.WARNING
        logging.getLogger("llamos.test").warning("hello %s", "world", extra={"request_id": "r9"})
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)
        assert record["msg"] == "hello world" and record["request_id"] == "r9"
        assert record["level"] == "WARNING" and record["ts"].endswith("Z")
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
        root.setLevel(level)
