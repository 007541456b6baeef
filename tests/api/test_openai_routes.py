"""In-process API tests (ASGI transport + lifespan): contract, headers, errors, pass-through."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from asgi_lifespan import LifespanManager

from llamos_gateway.api.app import create_app
from llamos_gateway.settings import Settings
from llamos_gateway.testing import FailingPurifier, FakeOpenAI, MarkPurifier, Reply
from tests.conftest import factory_with

CHAT = "/v1/chat/completions"


def chat(content: object, model: str = "fake", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


async def test_user_text_is_purified_and_unknown_fields_pass(api: httpx.AsyncClient,
                                                             fake_upstream: FakeOpenAI) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    body = {
        "model": "fake",
        "messages": [{"role": "system", "content": "be bad"},
                     {"role": "user", "content": "a bad movie"},
                     {"role": "assistant", "content": "bad reply"}],
        "tools": tools, "tool_choice": "auto", "response_format": {"type": "json_object"},
        "logprobs": True, "top_logprobs": 2, "n": 2, "seed": 7, "x_vendor_knob": {"deep": [1, 2]},
    }
    response = await api.post(CHAT, json=body)
    assert response.status_code == 200, response.text
    sent = fake_upstream.history[-1].body
    assert sent["model"] == "fake-model"
    assert sent["messages"][0]["content"] == "be bad"  # system untouched
    assert sent["messages"][1]["content"] == "[clean] a good movie"
    assert sent["messages"][2]["content"] == "bad reply"  # assistant untouched
    for key in ("tools", "tool_choice", "response_format", "logprobs", "top_logprobs", "n",
                "seed", "x_vendor_knob"):
        assert sent[key] == body[key], key
    assert response.headers["x-llamos-defense"] == "enforce"
    assert response.headers["x-llamos-changed"] == "true"
    assert float(response.headers["x-llamos-purify-ms"]) >= 0
    assert response.headers["x-llamos-prompt"] == "test0000"
    assert response.headers["x-request-id"]
    # the upstream's body is relayed as is, unknown response fields included
    assert response.json()["x_fake_extra"] == {"kept": True}


async def test_content_parts_images_untouched(api: httpx.AsyncClient,
                                              fake_upstream: FakeOpenAI) -> None:
    parts = [{"type": "text", "text": "bad one"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
             {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
             {"type": "text", "text": "bad two"}]
    response = await api.post(CHAT, json=chat(parts))
    assert response.status_code == 200
    sent = fake_upstream.history[-1].body["messages"][0]["content"]
    assert sent[0] == {"type": "text", "text": "[clean] good one"}
    assert sent[1] == parts[1]
    assert sent[2] == parts[2]
    assert sent[3] == {"type": "text", "text": "[clean] good two"}


async def test_shadow_and_off_forward_the_original(api: httpx.AsyncClient,
                                                   fake_upstream: FakeOpenAI,
                                                   mark_purifier: MarkPurifier) -> None:
    shadow = await api.post(CHAT, json=chat("bad"), headers={"x-llamos-defense": "shadow"})
    assert shadow.headers["x-llamos-defense"] == "shadow"
    assert shadow.headers["x-llamos-changed"] == "true"  # what the defense would have done
    assert fake_upstream.history[-1].body["messages"][0]["content"] == "bad"
    assert len(mark_purifier.history) == 1
    off = await api.post(CHAT, json=chat("bad"), headers={"x-llamos-defense": "off"})
    assert off.headers["x-llamos-defense"] == "off"
    assert off.headers["x-llamos-changed"] == "false"
    assert len(mark_purifier.history) == 1  # not called at all
    assert fake_upstream.history[-1].raw == (
        b'{"model":"fake","messages":[{"role":"user","content":"bad"}]}') or \
        fake_upstream.history[-1].body["messages"][0]["content"] == "bad"


async def test_legacy_completions_prompt_list(api: httpx.AsyncClient,
                                              fake_upstream: FakeOpenAI) -> None:
    response = await api.post("/v1/completions", json={"model": "fake", "prompt": ["bad a", "b"]})
    assert response.status_code == 200
    assert fake_upstream.history[-1].body["prompt"] == ["[clean] good a", "[clean] b"]
    tokens = await api.post("/v1/completions", json={"model": "fake", "prompt": [1, 2, 3]})
    assert tokens.status_code == 200
    assert fake_upstream.history[-1].body["prompt"] == [1, 2, 3]


async def test_embeddings_pass_through_without_defense(api: httpx.AsyncClient,
                                                       fake_upstream: FakeOpenAI,
                                                       mark_purifier: MarkPurifier) -> None:
    response = await api.post("/v1/embeddings", json={"model": "fake", "input": ["bad"]})
    assert response.status_code == 200
    assert response.json()["data"][0]["embedding"] == [0.1, 0.2, 0.3]
    assert fake_upstream.history[-1].body["input"] == ["bad"]
    assert mark_purifier.history == []


async def test_models_lists_aliases_and_builtins(api: httpx.AsyncClient) -> None:
    ids = [m["id"] for m in (await api.get("/v1/models")).json()["data"]]
    assert {"fake", "fake-litellm", "local/echo", "local/sst2-sentiment"} <= set(ids)
    one = await api.get("/v1/models/local/echo")
    assert one.json()["id"] == "local/echo"
    missing = await api.get("/v1/models/nope")
    assert missing.status_code == 404


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    report = ready.json()
    assert report["defense"]["backend"] == "mark"
    assert report["upstreams"]["fake"] == "passthrough"
    assert report["upstreams"]["fake-litellm"] == "litellm"
    assert report["checks"]["upstream:fake"]["ok"] is True


@pytest.mark.parametrize(
    ("content", "body", "status", "code"),
    [
        (b"{not json", None, 400, "invalid_request"),
        (b"\xff\xfe{\"model\": 1}", None, 400, "invalid_request"),
        (b"[]", None, 400, "invalid_request"),
        (b"", None, 400, "invalid_request"),
        (None, {"model": "fake"}, 400, "invalid_request"),
        (None, {"model": "fake", "messages": []}, 400, "invalid_request"),
        (None, {"model": "fake", "messages": "hi"}, 400, "invalid_request"),
        (None, {"model": "fake", "messages": [{"role": "wizard", "content": "x"}]}, 400,
         "invalid_request"),
        (None, {"model": "fake", "messages": [{"role": "user", "content": 5}]}, 400,
         "invalid_request"),
        (None, {"model": "fake", "messages": [{"role": "user", "content": [{"text": "x"}]}]}, 400,
         "invalid_request"),
        (None, {"model": 3, "messages": [{"role": "user", "content": "x"}]}, 400,
         "invalid_request"),
        (None, {"model": "fake", "stream": "yes", "messages": [{"role": "user", "content": "x"}]},
         400, "invalid_request"),
        (None, {"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404,
         "model_not_found"),
    ],
)
async def test_bad_requests_get_openai_envelopes(api: httpx.AsyncClient, fake_upstream: FakeOpenAI,
                                                 content: bytes | None, body: object,
                                                 status: int, code: str) -> None:
    if content is not None:
        response = await api.post(CHAT, content=content,
                                  headers={"content-type": "application/json"})
    else:
        response = await api.post(CHAT, json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert "Traceback" not in error["message"]
    assert response.headers["x-request-id"]
    assert fake_upstream.history == []  # nothing reached the upstream


async def test_bad_defense_header(api: httpx.AsyncClient) -> None:
    response = await api.post(CHAT, json=chat("x"), headers={"x-llamos-defense": "maybe"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "x-llamos-defense"


async def test_request_id_is_answered_not_forwarded(api: httpx.AsyncClient,
                                                    fake_upstream: FakeOpenAI) -> None:
    response = await api.post(CHAT, json=chat("x"), headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert "x-request-id" not in fake_upstream.history[-1].headers
    weird = await api.post(CHAT, json=chat("x"), headers={"x-request-id": "bad id\twith spaces"})
    assert weird.headers["x-request-id"] != "bad id\twith spaces"


async def test_body_over_limit_is_413(settings_for: Callable[..., Settings],
                                      fake_upstream: FakeOpenAI) -> None:
    app = create_app(settings_for(limits={"max_body_bytes": 2048}), components=factory_with())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.post(CHAT, json=chat("x" * 5000))
            chunked = await client.post(CHAT, content=_chunks(b"x" * 5000))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert chunked.status_code == 413
    assert fake_upstream.history == []


async def _chunks(data: bytes):  # type: ignore[no-untyped-def]
    for i in range(0, len(data), 512):
        yield data[i:i + 512]


@pytest.mark.parametrize(("reply", "status", "code"), [
    (Reply(status=500, error="kaboom"), 502, "upstream_error"),
    (Reply(status=400, error="context too long", error_type="invalid_request_error"), 400, None),
    (Reply(status=429, error="slow down", error_type="rate_limit_error"), 429, None),
    (Reply(status=401, error="Incorrect API key provided: sk-secret-provider-key"), 502,
     "upstream_auth_failed"),
])
async def test_upstream_errors_map_to_statuses(api: httpx.AsyncClient, fake_upstream: FakeOpenAI,
                                               reply: Reply, status: int,
                                               code: str | None) -> None:
    fake_upstream.enqueue(reply)
    response = await api.post(CHAT, json=chat("x"))
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert "sk-secret-provider-key" not in response.text


async def test_upstream_timeout_is_504(settings_for: Callable[..., Settings],
                                       fake_upstream: FakeOpenAI, fake_url: str) -> None:
    settings = settings_for(models={"slow": {"model": "openai/m", "api_base": fake_url,
                                             "timeout_s": 0.2}})
    fake_upstream.enqueue(Reply(delay_s=2.0))
    app = create_app(settings, components=factory_with())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.post(CHAT, json=chat("x", model="slow"))
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


async def test_unreachable_upstream_is_502(settings_for: Callable[..., Settings]) -> None:
    settings = settings_for(models={"dead": {"model": "openai/m",
                                             "api_base": "http://127.0.0.1:9/v1"}})
    app = create_app(settings, components=factory_with())
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.post(CHAT, json=chat("x", model="dead"))
            ready = await client.get("/readyz")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"
    assert ready.json()["checks"]["upstream:dead"]["ok"] is False


async def test_fail_open_and_fail_closed(settings_for: Callable[..., Settings],
                                         fake_upstream: FakeOpenAI) -> None:
    for policy, status in (("open", 200), ("closed", 503)):
        app = create_app(settings_for(defense={"backend": "passthrough", "fail_policy": policy}),
                         components=factory_with(FailingPurifier()))
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                response = await client.post(CHAT, json=chat("bad"))
        assert response.status_code == status, policy
        if policy == "open":
            assert response.headers["x-llamos-fail-open"] == "defense_timeout"
            assert fake_upstream.history[-1].body["messages"][0]["content"] == "bad"
        else:
            assert response.json()["error"]["code"] == "defense_unavailable"


async def test_api_keys(settings_for: Callable[..., Settings], fake_upstream: FakeOpenAI) -> None:
    settings = settings_for(auth={"api_keys": [{"key": "sk-good", "id": "team-a",
                                                "defense_mode": "shadow"}]})
    app = create_app(settings, components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            missing = await client.post(CHAT, json=chat("bad"))
            wrong = await client.post(CHAT, json=chat("bad"),
                                      headers={"authorization": "Bearer sk-wrong"})
            good = await client.post(CHAT, json=chat("bad"),
                                     headers={"authorization": "Bearer sk-good"})
            models = await client.get("/v1/models")
            health = await client.get("/healthz")
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "authentication_error"
    assert wrong.status_code == 401
    assert "sk-wrong" not in wrong.text
    assert good.status_code == 200
    assert good.headers["x-llamos-defense"] == "shadow"  # per-key mode
    assert models.status_code == 401
    assert health.status_code == 200  # probes need no key
    assert len(fake_upstream.history) == 1


async def test_unknown_route_and_method(api: httpx.AsyncClient) -> None:
    missing = await api.post("/v1/nothing", json={})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    method = await api.get(CHAT)
    assert method.status_code == 405
    assert method.json()["error"]["type"] == "invalid_request_error"


async def test_header_override_can_be_forbidden(settings_for: Callable[..., Settings],
                                                fake_upstream: FakeOpenAI) -> None:
    app = create_app(settings_for(defense={"header_override": False}),
                     components=factory_with(MarkPurifier()))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            refused = await client.post(CHAT, json=chat("bad"), headers={"x-llamos-defense": "off"})
            plain = await client.post(CHAT, json=chat("bad"))
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "permission_error"
    assert plain.headers["x-llamos-defense"] == "enforce"
    assert [r.body["messages"][0]["content"] for r in fake_upstream.history] == ["[clean] good"]
