"""The Responses API <-> chat completions translation, both ways, without a server."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.upstream.responses import ResponseEvents, from_chat, to_chat


def test_items_become_messages() -> None:
    body = {"model": "m", "instructions": "sys", "max_output_tokens": 9, "temperature": 0.2,
            "text": {"format": {"type": "json_schema", "name": "x", "schema": {}}},
            "reasoning": {"effort": "low"}, "store": True, "tool_choice": {
                "type": "function", "name": "f"},
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "hi"},
                                             {"type": "input_image", "image_url": "data:x"}]},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "42"},
                {"type": "message", "role": "assistant",
                 "content": [{"type": "output_text", "text": "done"}]}]}
    chat = to_chat(body, "upstream-model")
    assert chat["model"] == "upstream-model" and chat["max_tokens"] == 9
    assert chat["temperature"] == 0.2 and chat["reasoning_effort"] == "low"
    assert chat["response_format"] == {"type": "json_schema",
                                       "json_schema": {"name": "x", "schema": {}}}
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert "store" not in chat
    assert chat["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "hi"},
                                     {"type": "image_url", "image_url": {"url": "data:x"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
        {"role": "assistant", "content": "done"}]


@pytest.mark.parametrize(("extra", "param"), [
    ({"previous_response_id": "resp_1"}, "previous_response_id"),
    ({"tools": [{"type": "file_search"}]}, "tools[0]"),
    ({"input": [{"type": "item_reference", "id": "x"}]}, "input[0]"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
     "input[0].content[0]"),
    ({"truncation": "auto"}, "truncation"),
])
def test_what_cannot_be_translated_is_rejected(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_chat({"model": "m", "input": "x", **extra}, "m")
    assert caught.value.param == param and caught.value.code == "unsupported_parameter"


def test_a_chat_completion_becomes_a_response() -> None:
    chat = {"id": "c", "created": 5, "model": "m", "usage": {
                "prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            "choices": [{"finish_reason": "length", "message": {
                "role": "assistant", "content": "hello", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "f", "arguments": "{}"}}]}}]}
    response = from_chat(chat, {"instructions": "sys", "metadata": {"a": "b"}})
    assert response["object"] == "response" and response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    message, call = response["output"]
    assert message["content"][0] == {"type": "output_text", "text": "hello", "annotations": [],
                                     "logprobs": []}
    assert (call["type"], call["call_id"], call["name"]) == ("function_call", "call_1", "f")
    assert response["usage"]["input_tokens"] == 3 and response["usage"]["total_tokens"] == 5
    assert response["instructions"] == "sys" and response["metadata"] == {"a": "b"}


async def test_a_chat_stream_becomes_response_events() -> None:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        data = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return b"data: " + orjson.dumps(data) + b"\n\n"

    frames = [chunk({"content": "hel"}), chunk({"content": "lo"}),
              chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {
                  "name": "f", "arguments": "{\"a\""}}]}),
              chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}, "stop"),
              b"data: " + orjson.dumps({"choices": [], "usage": {
                  "prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}) + b"\n\n",
              b"data: [DONE]\n\n"]
    raw = b"".join(frames)

    async def split() -> Any:  # frames cut at arbitrary places
        for i in range(0, len(raw), 7):
            yield raw[i:i + 7]

    events = [orjson.loads(e.split(b"\ndata: ", 1)[1])
              async for e in ResponseEvents({"model": "m"}, "m").translate(split())]
    kinds = [e["type"] for e in events]
    assert kinds == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added", "response.output_text.delta",
                     "response.output_text.delta", "response.output_text.done",
                     "response.content_part.done", "response.output_item.done",
                     "response.output_item.added", "response.function_call_arguments.done",
                     "response.output_item.done", "response.completed"]
    assert events[6]["text"] == "hello"
    assert events[10]["arguments"] == '{"a": 1}'
    final = events[-1]["response"]
    assert [o["type"] for o in final["output"]] == ["message", "function_call"]
    assert final["usage"]["total_tokens"] == 3
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
