"""The OpenAI Responses API on top of chat completions, for upstreams without `/v1/responses`
(and for the built-in models): a request becomes a chat completions request (`to_chat`), the
chat completion becomes a `response` object (`from_chat`); `ResponseEvents` turns a chat
completion stream into Responses stream events.

What is translated:

    instructions                      -> a system message first
    input (string)                    -> one user message
    input items: messages             -> messages (input_text/output_text -> text parts,
                                         input_image -> image_url parts)
                 function_call        -> an assistant message with tool_calls
                 function_call_output -> a tool message
                 reasoning            -> left out (chat models take no reasoning items)
    max_output_tokens                 -> max_tokens
    tools (function tools)            -> tools ({"type": "function", "function": {...}})
    tool_choice, text.format          -> tool_choice, response_format
    reasoning.effort                  -> reasoning_effort
    temperature, top_p, user, metadata, parallel_tool_calls, service_tier,
    safety_identifier, prompt_cache_key, stream -> the same
    store                             -> left out (the gateway stores nothing)

Anything else (built-in tools, `previous_response_id`, `conversation`, `background`, file or
audio inputs, unknown fields) cannot be expressed as a chat completion and is rejected with a
400 naming it, rather than silently dropped.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson

from llamos_gateway.errors import InvalidRequest, UpstreamInvalidResponse

_SAME = ("temperature", "top_p", "user", "metadata", "parallel_tool_calls", "service_tier",
         "safety_identifier", "prompt_cache_key", "stream")
_HANDLED = frozenset({"model", "input", "instructions", "max_output_tokens", "tools",
                      "tool_choice", "text", "reasoning", "store", *_SAME})
_IGNORED_VALUES = {"truncation": ("disabled",), "include": ([],)}
_ROLES = frozenset({"user", "assistant", "system", "developer"})


def _reject(message: str, param: str) -> InvalidRequest:
    return InvalidRequest(f"cannot translate to chat completions for this model: {message}",
                          param=param, code="unsupported_parameter")


def to_chat(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The chat completions request for a Responses API request, for upstream `model`."""
    for key, value in body.items():
        if key in _HANDLED or value is None:
            continue
        if key in _IGNORED_VALUES and value in _IGNORED_VALUES[key]:
            continue
        raise _reject(f"'{key}' has no chat completions equivalent", key)
    chat: dict[str, Any] = {"model": model, "messages": _messages(body)}
    chat.update({k: body[k] for k in _SAME if body.get(k) is not None})
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("tools"):
        chat["tools"] = [_tool(t, i) for i, t in enumerate(body["tools"])]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    fmt = _format((body.get("text") or {}).get("format"))
    if fmt is not None:
        chat["response_format"] = fmt
    effort = (body.get("reasoning") or {}).get("effort")
    if effort is not None:
        chat["reasoning_effort"] = effort
    if chat.get("stream"):
        chat["stream_options"] = {"include_usage": True}
    return chat


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    value = body.get("input")
    if isinstance(value, str):
        return [*messages, {"role": "user", "content": value}]
    for i, item in enumerate(value or ()):
        kind = item.get("type", "message")
        where = f"input[{i}]"
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            call = {"id": item.get("call_id"), "type": "function",
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            if not isinstance(output, str):
                raise _reject("only string function_call_output is supported", where)
            messages.append({"role": "tool", "tool_call_id": item.get("call_id"),
                             "content": output})
        elif kind != "reasoning":
            raise _reject(f"input items of type '{kind}' are not supported", where)
    return messages


def _message(item: dict[str, Any], where: str) -> dict[str, Any]:
    role = item.get("role")
    if role not in _ROLES:
        raise InvalidRequest(f"'{where}.role' must be one of {sorted(_ROLES)}",
                             param=f"{where}.role")
    content = item.get("content")
    if isinstance(content, str):
        return {"role": role, "content": content}
    if not isinstance(content, list):
        raise InvalidRequest(f"'{where}.content' must be a string or an array",
                             param=f"{where}.content")
    parts = [_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
    if role != "user":  # only user messages take parts other than text in chat completions
        if any(p["type"] != "text" for p in parts):
            raise _reject(f"{role} messages can hold only text", where)
        return {"role": role, "content": "".join(p["text"] for p in parts)}
    return {"role": role, "content": parts}


def _part(part: Any, where: str) -> dict[str, Any]:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind in ("input_text", "output_text") and isinstance(part.get("text"), str):
        return {"type": "text", "text": part["text"]}
    if kind == "input_image" and isinstance(part.get("image_url"), str):
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    raise _reject(f"content parts of type '{kind}' are not supported", where)


def _tool(tool: Any, index: int) -> dict[str, Any]:
    if not isinstance(tool, dict) or tool.get("type") != "function":
        kind = tool.get("type") if isinstance(tool, dict) else None
        raise _reject(f"built-in tool '{kind}' has no chat completions equivalent",
                      f"tools[{index}]")
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name")}}
    raise _reject("only auto, none, required or a function tool_choice is supported",
                  "tool_choice")


def _format(fmt: Any) -> dict[str, Any] | None:
    if fmt is None or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    if fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
        return {"type": "json_schema", "json_schema": schema}
    raise _reject(f"text.format '{fmt.get('type')}' is not supported", "text.format")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def response_object(request: dict[str, Any], *, response_id: str, model: str,
                    output: list[dict[str, Any]], status: str,
                    usage: dict[str, Any] | None, created_at: int) -> dict[str, Any]:
    """A `response` object, echoing the request's parameters as OpenAI does."""
    text = request.get("text") or {"format": {"type": "text"}}
    return {
        "id": response_id, "object": "response", "created_at": created_at, "status": status,
        "model": model, "output": output, "usage": usage, "error": None,
        "incomplete_details": ({"reason": "max_output_tokens"} if status == "incomplete"
                               else None),
        "instructions": request.get("instructions"), "metadata": request.get("metadata") or {},
        "tools": request.get("tools") or [], "tool_choice": request.get("tool_choice") or "auto",
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "temperature": request.get("temperature"), "top_p": request.get("top_p"),
        "max_output_tokens": request.get("max_output_tokens"), "previous_response_id": None,
        "reasoning": request.get("reasoning"), "store": False, "text": text,
        "truncation": "disabled", "user": request.get("user"),
    }


def from_chat(chat: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The `response` object for a chat completion answering `request`."""
    try:
        choice = chat["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise InvalidRequest("the model's chat completion has no choices") from exc
    output: list[dict[str, Any]] = []
    if message.get("content") or message.get("refusal"):
        output.append(message_item(message.get("content") or "", message.get("refusal")))
    output += [function_item(call) for call in message.get("tool_calls") or ()]
    status = "incomplete" if choice.get("finish_reason") == "length" else "completed"
    return response_object(request, response_id=new_id("resp"), model=chat.get("model") or "",
                           output=output, status=status, usage=usage_of(chat.get("usage")),
                           created_at=int(chat.get("created") or time.time()))


def message_item(text: str, refusal: str | None = None, *, item_id: str | None = None,
                 status: str = "completed") -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text:
        content.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if refusal:
        content.append({"type": "refusal", "refusal": refusal})
    return {"type": "message", "id": item_id or new_id("msg"), "status": status,
            "role": "assistant", "content": content}


def function_item(call: dict[str, Any], *, item_id: str | None = None) -> dict[str, Any]:
    function = call.get("function") or {}
    return {"type": "function_call", "id": item_id or new_id("fc"), "call_id": call.get("id"),
            "name": function.get("name"), "arguments": function.get("arguments") or "",
            "status": "completed"}


def usage_of(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {"input_tokens": prompt, "output_tokens": completion,
            "total_tokens": usage.get("total_tokens", prompt + completion),
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0}}


class ResponseEvents:
    """Chat completion SSE bytes in, Responses API SSE events out (`event:` and `data:`
    lines, each event with its `sequence_number`)."""

    def __init__(self, request: dict[str, Any], model: str) -> None:
        self._request = request
        self._model = model
        self._id = new_id("resp")
        self._created = int(time.time())
        self._seq = 0
        self._text: list[str] = []
        self._message_id: str | None = None
        self._calls: dict[int, dict[str, Any]] = {}
        self._usage: dict[str, Any] | None = None
        self._finish: str | None = None

    async def translate(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        yield self._event("response.created", response=self._response("in_progress", []))
        yield self._event("response.in_progress", response=self._response("in_progress", []))
        pending = b""
        async for chunk in chunks:
            pending += chunk
            while b"\n\n" in pending:
                frame, pending = pending.split(b"\n\n", 1)
                for out in self._frame(frame):
                    yield out
        for out in self._finish_events():
            yield out

    def _frame(self, frame: bytes) -> list[bytes]:
        data = b"".join(line[5:].strip() for line in frame.split(b"\n")
                        if line.startswith(b"data:"))
        if not data or data == b"[DONE]":
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            raise UpstreamInvalidResponse("the upstream sent a stream chunk that is not a "
                                          "JSON object")
        if "error" in chunk:  # an error event relayed mid-stream
            error = chunk["error"] if isinstance(chunk["error"], dict) else {}
            return [self._event("error", code=error.get("code"), message=error.get("message"),
                                param=error.get("param"))]
        if chunk.get("usage"):
            self._usage = usage_of(chunk["usage"])
        out: list[bytes] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out += self._text_delta(delta["content"])
            for call in delta.get("tool_calls") or ():
                held = self._calls.setdefault(call.get("index", 0), {
                    "id": None, "function": {"name": None, "arguments": ""}})
                held["id"] = call.get("id") or held["id"]
                function = call.get("function") or {}
                held["function"]["name"] = function.get("name") or held["function"]["name"]
                held["function"]["arguments"] += function.get("arguments") or ""
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return out

    def _text_delta(self, delta: str) -> list[bytes]:
        out = []
        if self._message_id is None:
            self._message_id = new_id("msg")
            out.append(self._event("response.output_item.added", output_index=0,
                                   item=message_item("", item_id=self._message_id,
                                                     status="in_progress")))
            out.append(self._event("response.content_part.added", item_id=self._message_id,
                                   output_index=0, content_index=0,
                                   part={"type": "output_text", "text": "", "annotations": [],
                                         "logprobs": []}))
        self._text.append(delta)
        out.append(self._event("response.output_text.delta", item_id=self._message_id,
                               output_index=0, content_index=0, delta=delta, logprobs=[]))
        return out

    def _finish_events(self) -> list[bytes]:
        out: list[bytes] = []
        output: list[dict[str, Any]] = []
        if self._message_id is not None:
            text = "".join(self._text)
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            item = message_item(text, item_id=self._message_id)
            out += [self._event("response.output_text.done", item_id=self._message_id,
                                output_index=0, content_index=0, text=text, logprobs=[]),
                    self._event("response.content_part.done", item_id=self._message_id,
                                output_index=0, content_index=0, part=part),
                    self._event("response.output_item.done", output_index=0, item=item)]
            output.append(item)
        for _, call in sorted(self._calls.items()):
            index = len(output)
            item = function_item(call)
            added = {**item, "arguments": "", "status": "in_progress"}
            out += [self._event("response.output_item.added", output_index=index, item=added),
                    self._event("response.function_call_arguments.done", item_id=item["id"],
                                output_index=index, arguments=item["arguments"]),
                    self._event("response.output_item.done", output_index=index, item=item)]
            output.append(item)
        status = "incomplete" if self._finish == "length" else "completed"
        kind = "response.incomplete" if status == "incomplete" else "response.completed"
        out.append(self._event(kind, response=self._response(status, output)))
        return out

    def _response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        return response_object(self._request, response_id=self._id, model=self._model,
                               output=output, status=status,
                               usage=self._usage if status != "in_progress" else None,
                               created_at=self._created)

    def _event(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
