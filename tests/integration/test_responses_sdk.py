"""`POST /v1/responses` through the official `openai` SDK (`client.responses.create`), against
the gateway served on 127.0.0.1: the built-in `local/echo` (translated to chat completions),
a pass-through upstream that implements the Responses API (forwarded), and one that does not
(the `auto` fallback translates), streaming and not. User input is purified on every path."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from llamos_gateway.settings import Settings
from llamos_gateway.testing import FakeOpenAI, MarkPurifier, Reply

pytestmark = pytest.mark.slow


@pytest.fixture
def client(settings_for: Callable[..., Settings], serve_gateway: Callable[..., str],
           fake_url: str) -> openai.OpenAI:
    settings = settings_for(models={
        "fake": {"model": "openai/fake-model", "api_base": fake_url},
        "fake-chat-only": {"model": "openai/fake-model", "api_base": fake_url,
                           "responses": "translate"},
        "fake-litellm": {"model": "openai/fake-model", "api_base": fake_url,
                         "passthrough": False}})
    url = serve_gateway(settings, MarkPurifier())
    return openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)


def test_local_echo_translated(client: openai.OpenAI) -> None:
    raw = client.responses.with_raw_response.create(
        model="local/echo", input="a bad movie", instructions="be bad")
    response = raw.parse()
    assert response.object == "response" and response.status == "completed"
    assert response.output_text == "[clean] a good movie"  # purified, then echoed
    assert raw.headers["x-llamos-responses"] == "translated"
    assert raw.headers["x-llamos-verdict"] == "repaired"


def test_local_echo_streamed(client: openai.OpenAI) -> None:
    events = list(client.responses.create(model="local/echo", stream=True, input=[
        {"role": "user", "content": [{"type": "input_text", "text": "a bad day"}]}]))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "[clean] a good day"
    assert events[-1].response.output_text == text  # type: ignore[union-attr]
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_passthrough_upstream_gets_the_responses_request(
        client: openai.OpenAI, fake_upstream: FakeOpenAI) -> None:
    response = client.responses.create(model="fake", input="a bad plan", store=False,
                                       extra_body={"x_custom": 1})
    sent = fake_upstream.history[-1]
    assert sent.path == "/v1/responses"
    assert sent.body["input"] == "[clean] a good plan" and sent.body["x_custom"] == 1
    assert sent.body["model"] == "fake-model" and sent.body["store"] is False
    assert response.output_text == "[clean] a good plan" and response.id == "resp_fake"


def test_passthrough_upstream_streamed(client: openai.OpenAI,
                                       fake_upstream: FakeOpenAI) -> None:
    with client.responses.stream(model="fake", input="bad weather") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "[clean] good weather" == final.output_text
    assert fake_upstream.history[-1].path == "/v1/responses"


@pytest.mark.parametrize("model", ["fake-chat-only", "fake-litellm"])
def test_chat_only_upstreams_get_chat_completions(client: openai.OpenAI,
                                                  fake_upstream: FakeOpenAI, model: str) -> None:
    tools = [{"type": "function", "name": "lookup", "description": "look up",
              "parameters": {"type": "object", "properties": {}}}]
    response = client.responses.create(model=model, input="bad news", tools=tools,  # type: ignore[arg-type]
                                       max_output_tokens=50, instructions="sys")
    sent = fake_upstream.history[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == [{"role": "system", "content": "sys"},
                                     {"role": "user", "content": "[clean] good news"}]
    assert sent.body["max_tokens"] == 50
    assert sent.body["tools"][0]["function"]["name"] == "lookup"
    assert response.output_text == "[clean] good news"
    assert response.usage is not None and response.usage.total_tokens == 10


def test_auto_falls_back_to_chat_completions_on_404(client: openai.OpenAI,
                                                    fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(status=404, error="no such route"))
    response = client.responses.create(model="fake", input="bad")
    assert [r.path for r in fake_upstream.history] == ["/v1/responses", "/v1/chat/completions"]
    assert response.output_text == "[clean] good"


def test_function_calls_come_back_as_items(client: openai.OpenAI,
                                           fake_upstream: FakeOpenAI) -> None:
    fake_upstream.enqueue(Reply(tool_calls=[{"id": "call_1", "type": "function", "function": {
        "name": "lookup", "arguments": '{"q": 1}'}}]))
    response = client.responses.create(model="fake-chat-only", input="hi")
    call = response.output[0]
    assert call.type == "function_call" and call.call_id == "call_1"
    assert call.name == "lookup" and call.arguments == '{"q": 1}'


def test_untranslatable_requests_are_rejected_clearly(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="local/echo", input="hi",
                                tools=[{"type": "web_search"}])  # type: ignore[list-item]
    assert caught.value.code == "unsupported_parameter"
    assert "web_search" in caught.value.message
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model="local/echo", input="hi", previous_response_id="resp_1")
    assert "previous_response_id" in caught.value.message
