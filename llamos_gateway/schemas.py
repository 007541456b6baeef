"""Request validation for the OpenAI endpoints.

The body stays a plain dict end to end so unknown fields reach the upstream unchanged;
this module only checks the fields the gateway itself relies on and names the bad one.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.upstream import Endpoint

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def parse_json(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson rejects invalid UTF-8 too; say which problem it was
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("request body is not valid UTF-8") from exc
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


Body = TypeVar("Body", bound=BaseModel)


def parse_model(model: type[Body], raw: bytes) -> Body:
    """A gateway-defined request body (`/v1/purify`, the guardrail API): the first validation
    error becomes a 400 naming its field."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise InvalidRequest(f"{param or 'body'}: {first['msg']}", param=param) from None


def validate(endpoint: Endpoint, body: dict[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("'model' is required and must be a non-empty string", param="model")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("'stream' must be a boolean", param="stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise InvalidRequest("'stream_options' must be an object", param="stream_options")
    _count(body, "n", minimum=1)
    _count(body, "max_tokens", minimum=0)
    _count(body, "max_completion_tokens", minimum=0)
    _count(body, "max_output_tokens", minimum=0)
    if endpoint == "chat/completions":
        _messages(body.get("messages"))
    elif endpoint == "completions":
        _prompt(body.get("prompt"))
    elif endpoint == "responses":
        _response_input(body.get("input"), body.get("instructions"))
    else:
        _input(body.get("input"))
        _count(body, "dimensions", minimum=1)
        if stream:
            raise InvalidRequest("embeddings cannot be streamed", param="stream")


def _count(body: dict[str, Any], name: str, *, minimum: int) -> None:
    """An optional integer field the gateway reads (n, token limits, dimensions)."""
    value = body.get(name)
    if value is None:
        return
    if not _is_int(value) or value < minimum:
        kind = "a positive" if minimum else "a non-negative"
        raise InvalidRequest(f"'{name}' must be {kind} integer", param=name)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _messages(messages: Any) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array", param="messages")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise InvalidRequest(f"'{where}' must be an object", param=where)
        role = message.get("role")
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidRequest(f"'{where}.role' must be one of {sorted(_ROLES)}",
                                 param=f"{where}.role")
        content = message.get("content")
        if content is None:
            if role in ("user", "system", "developer"):
                raise InvalidRequest(f"'{where}.content' is required", param=f"{where}.content")
            continue
        if isinstance(content, str):
            continue
        if not isinstance(content, list):
            raise InvalidRequest(f"'{where}.content' must be a string or an array of parts",
                                 param=f"{where}.content")
        for j, part in enumerate(content):
            _part(part, f"{where}.content[{j}]")


def _part(part: Any, where: str) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise InvalidRequest(f"'{where}' must be an object with a string 'type'", param=where)
    if part["type"] == "text" and not isinstance(part.get("text"), str):
        raise InvalidRequest(f"'{where}.text' must be a string", param=f"{where}.text")


def _prompt(prompt: Any) -> None:
    if isinstance(prompt, str):
        return
    if isinstance(prompt, list) and prompt:
        if all(isinstance(p, str) for p in prompt) or _tokens(prompt):
            return
        if all(isinstance(p, list) and p and _tokens(p) for p in prompt):
            return
    raise InvalidRequest("'prompt' must be a string, an array of strings, an array of token "
                         "ids or an array of token-id arrays", param="prompt")


def _input(value: Any) -> None:
    if isinstance(value, str) and value:
        return
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value) or _tokens(value):
            return
        if all(isinstance(v, list) and v and _tokens(v) for v in value):
            return
    raise InvalidRequest("'input' must be a non-empty string, an array of strings, an array of "
                         "token ids or an array of token-id arrays", param="input")


def _tokens(values: list[Any]) -> bool:
    """Token ids: integers (booleans are not)."""
    return all(_is_int(v) for v in values)


def _response_input(value: Any, instructions: Any) -> None:
    if instructions is not None and not isinstance(instructions, str):
        raise InvalidRequest("'instructions' must be a string", param="instructions")
    if isinstance(value, str):
        return
    if not isinstance(value, list):
        raise InvalidRequest("'input' must be a string or an array of items", param="input")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidRequest(f"'input[{i}]' must be an object", param=f"input[{i}]")
        for name in ("type", "role"):  # looked up in sets of names further on
            if name in item and not isinstance(item[name], str):
                raise InvalidRequest(f"'input[{i}].{name}' must be a string",
                                     param=f"input[{i}].{name}")


def estimate_tokens(endpoint: Endpoint, body: dict[str, Any]) -> int:
    """A cheap upper-ish estimate (4 characters a token) for tokens-per-minute limits."""
    chars = 0
    if endpoint == "chat/completions":
        for message in body["messages"]:
            content = message.get("content")
            if isinstance(content, str):
                chars += len(content)
            elif isinstance(content, list):
                chars += sum(len(p["text"]) for p in content
                             if isinstance(p, dict) and isinstance(p.get("text"), str))
    elif endpoint == "responses":
        chars += len(orjson.dumps(body.get("input"))) + len(body.get("instructions") or "")
    else:
        value = body.get("prompt" if endpoint == "completions" else "input")
        chars += len(value) if isinstance(value, str) else sum(
            len(v) if isinstance(v, str | list) else 1 for v in (value or []))
    limit = (body.get("max_completion_tokens") or body.get("max_tokens")
             or body.get("max_output_tokens") or 0)
    return chars // 4 + 1 + (limit if _is_int(limit) and limit > 0 else 0)
