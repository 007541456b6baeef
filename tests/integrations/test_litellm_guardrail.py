"""The LiteLLM guardrail adapter, invoked in-process the way the LiteLLM proxy calls it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import HTTPException

from llamos_gateway.api.app import create_app
from llamos_gateway.integrations.litellm import LlamosGuardrail
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FailingPurifier, MarkPurifier, ServedApp, free_port
from tests.conftest import factory_with

IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}


def request() -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [
        {"role": "system", "content": "be bad"},
        {"role": "user", "content": "a bad movie"},
        {"role": "assistant", "content": "bad reply"},
        {"role": "user", "content": [{"type": "text", "text": "bad part"}, IMAGE]},
    ], "metadata": {"k": "v"}}


async def hook(guardrail: LlamosGuardrail, data: dict[str, Any],
               call_type: str = "acompletion") -> Any:
    from litellm.caching.dual_cache import DualCache
    from litellm.proxy._types import UserAPIKeyAuth

    return await guardrail.async_pre_call_hook(UserAPIKeyAuth(), DualCache(), data,
                                               call_type)  # type: ignore[arg-type]


@pytest.fixture
def gateway(settings_for: Callable[..., Settings]) -> Iterator[tuple[str, MarkPurifier]]:
    mark = MarkPurifier()
    app = create_app(settings_for(auth={"api_keys": ["sk-llamos"]}),
                     components=factory_with(mark))
    with ServedApp(app) as served:
        yield served.url, mark


async def test_in_process_purifier_rewrites_only_user_text() -> None:
    mark = MarkPurifier()
    guardrail = LlamosGuardrail(purifier=mark, task="chat", guardrail_name="llamos",
                                event_hook="pre_call")
    original = request()
    data = await hook(guardrail, original)
    assert data["messages"][0]["content"] == "be bad"
    assert data["messages"][1]["content"] == "[clean] a good movie"
    assert data["messages"][2]["content"] == "bad reply"
    assert data["messages"][3]["content"] == [{"type": "text", "text": "[clean] good part"}, IMAGE]
    assert data["metadata"] == {"k": "v"} and original == request()  # input not mutated
    assert [r.task for r in mark.history] == ["chat", "chat"]


async def test_remote_mode_calls_the_gateways_purify_endpoint(
        gateway: tuple[str, MarkPurifier]) -> None:
    url, mark = gateway
    guardrail = LlamosGuardrail(api_base=url, api_key="sk-llamos", task="sentiment")
    try:
        data = await hook(guardrail, request())
        assert data["messages"][1]["content"] == "[clean] a good movie"
        assert data["messages"][3]["content"][0]["text"] == "[clean] good part"
        assert [r.text for r in mark.history] == ["a bad movie", "bad part"]
        assert {r.task for r in mark.history} == {"sentiment"}
        completion = await hook(guardrail, {"model": "m", "prompt": "bad"}, "text_completion")
        assert completion["prompt"] == "[clean] good"
    finally:
        await guardrail.aclose()


async def test_requests_without_user_text_pass_untouched() -> None:
    guardrail = LlamosGuardrail(purifier=FailingPurifier(), fail_policy="closed")
    data = {"model": "m", "input": ["embed me"]}
    assert await hook(guardrail, data, "aembedding") is data


def closed_port() -> str:
    return f"http://127.0.0.1:{free_port()}"


async def test_fail_open_forwards_the_request_unchanged() -> None:
    for guardrail in (LlamosGuardrail(purifier=FailingPurifier(), fail_policy="open"),
                      LlamosGuardrail(api_base=closed_port(), fail_policy="open")):
        original = request()
        assert await hook(guardrail, original) == request()
        await guardrail.aclose()


async def test_fail_closed_rejects_with_503(gateway: tuple[str, MarkPurifier]) -> None:
    url, _ = gateway
    for guardrail, reason in (
            (LlamosGuardrail(purifier=FailingPurifier(), fail_policy="closed"), "defense_timeout"),
            (LlamosGuardrail(api_base=closed_port(), fail_policy="closed"), "defense_error"),
            (LlamosGuardrail(api_base=url, api_key="wrong", fail_policy="closed"),
             "defense_error")):
        with pytest.raises(HTTPException) as failed:
            await hook(guardrail, request())
        assert failed.value.status_code == 503
        assert failed.value.detail["reason"] == reason  # type: ignore[index]
        await guardrail.aclose()


def test_needs_a_gateway_or_a_purifier() -> None:
    with pytest.raises(ValueError, match="api_base"):
        LlamosGuardrail()


def test_builds_from_a_proxy_config_entry_as_litellm_does() -> None:
    """LiteLLM's proxy passes every non-None `litellm_params` field (minus guardrail, mode,
    default_on) as keyword arguments; the documented config must construct cleanly."""
    from litellm.types.guardrails import LitellmParams

    params = {"guardrail": "llamos_gateway.integrations.litellm.LlamosGuardrail",
              "mode": "pre_call", "default_on": True, "api_base": "http://127.0.0.1:8000/",
              "task": "sentiment", "fail_policy": "closed"}
    extra = {k: v for k, v in LitellmParams(**params).model_dump(exclude_none=True).items()
             if k not in ("guardrail", "mode", "default_on", "stream_scope")}
    guardrail = LlamosGuardrail(guardrail_name="llamos", event_hook="pre_call", default_on=True,
                                **extra)
    assert (guardrail.api_base, guardrail.task, guardrail.fail_policy) == (
        "http://127.0.0.1:8000", "sentiment", "closed")
    assert guardrail.event_hook == "pre_call" and guardrail.default_on


async def test_in_process_fail_open_keeps_the_tiered_lexical_pass() -> None:
    """The guardrail runs the gateway's `Defense`: when the agent behind `tiered` fails, the
    lexical pass still goes through (it used to forward the original)."""
    from llamos_gateway.defense.tiered import TieredPurifier
    from llamos_gateway.lexical import LexicalPurifier

    attacked = "the film is g\u043e\u043ed @fasuv3"
    tiered = TieredPurifier(screen=LexicalPurifier(), agent=FailingPurifier())
    guardrail = LlamosGuardrail(purifier=tiered, fail_policy="open")
    data = await hook(guardrail, {"model": "m", "messages": [
        {"role": "system", "content": "g\u043e\u043ed"},
        {"role": "user", "content": attacked}]})
    assert data["messages"][1]["content"] == "the film is good"
    assert data["messages"][0]["content"] == "g\u043e\u043ed"  # only user texts
    closed = LlamosGuardrail(purifier=tiered, fail_policy="closed")
    with pytest.raises(HTTPException) as failed:
        await hook(closed, {"model": "m", "messages": [{"role": "user", "content": attacked}]})
    assert failed.value.detail["reason"] == "defense_timeout"  # type: ignore[index]


async def test_remote_mode_refuses_what_the_gateway_blocks(
        settings_for: Callable[..., Settings]) -> None:
    # MarkPurifier scores every text 0.0: a threshold of 0.0 blocks everything
    app = create_app(settings_for(defense={"action": "block", "block_threshold": 0.0}),
                     components=factory_with(MarkPurifier()))
    with ServedApp(app) as served:
        guardrail = LlamosGuardrail(api_base=served.url, fail_policy="open")
        try:
            with pytest.raises(HTTPException) as caught:
                await hook(guardrail, request())
        finally:
            await guardrail.aclose()
    assert caught.value.status_code == 400
    assert caught.value.detail["code"] == "content_blocked"
