"""Which texts of an OpenAI request body are purified, and how purified texts go back in.

Image, audio and other non-text parts are never touched; messages only of the given roles;
embeddings inputs only when asked; token-id prompts are not text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llamos_gateway.upstream import Endpoint

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class TextSlot:
    """Where a text sits in the request body, and whose it is."""

    path: Path
    text: str
    role: str


def text_slots(endpoint: Endpoint, body: dict[str, Any], roles: frozenset[str],
               embeddings: bool) -> list[TextSlot]:
    """Every purifiable text of a request body, in order. Parts that are not what the OpenAI
    API expects (a message that is no object, a part without a string `text`) are skipped."""
    if endpoint == "chat/completions":
        slots = []
        for i, message in enumerate(body.get("messages") or ()):
            role = message.get("role") if isinstance(message, dict) else None
            if role not in roles:
                continue
            slots.extend(_content_slots(("messages", i), message.get("content"), role, "text"))
        return slots
    if endpoint == "responses":
        return _response_slots(body, roles)
    key = "prompt" if endpoint == "completions" else "input"
    if endpoint == "embeddings" and not embeddings:
        return []
    value = body.get(key)
    if isinstance(value, str):
        return [TextSlot((key,), value, "user")]
    if isinstance(value, list):
        return [TextSlot((key, i), v, "user") for i, v in enumerate(value) if isinstance(v, str)]
    return []  # token-id prompts are not text


def _response_slots(body: dict[str, Any], roles: frozenset[str]) -> list[TextSlot]:
    """The texts of a Responses API request: `instructions` (as a system message), `input` as
    a string (the user's), or its items: messages (a string content, or `input_text` parts)
    and `function_call_output` items (as tool results)."""
    slots = []
    instructions = body.get("instructions")
    if "system" in roles and isinstance(instructions, str):
        slots.append(TextSlot(("instructions",), instructions, "system"))
    value = body.get("input")
    if isinstance(value, str):
        return [*slots, TextSlot(("input",), value, "user")] if "user" in roles else slots
    for i, item in enumerate(value if isinstance(value, list) else ()):
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            if "tool" in roles and isinstance(item.get("output"), str):
                slots.append(TextSlot(("input", i, "output"), item["output"], "tool"))
            continue
        role = item.get("role")
        if item.get("type", "message") != "message" or role not in roles:
            continue
        slots.extend(_content_slots(("input", i), item.get("content"), role, "input_text"))
    return slots


def _content_slots(where: Path, content: Any, role: str,
                   part_type: str) -> list[TextSlot]:
    """A message's text: its string content, or the `text` of each part of `part_type`
    (`text` in chat completions, `input_text` in the Responses API)."""
    if isinstance(content, str):
        return [TextSlot((*where, "content"), content, role)]
    if not isinstance(content, list):
        return []
    return [TextSlot((*where, "content", j, "text"), part["text"], role)
            for j, part in enumerate(content)
            if isinstance(part, dict) and part.get("type") == part_type
            and isinstance(part.get("text"), str)]


def substitute(body: dict[str, Any], replacements: Sequence[tuple[Path, str]]) -> dict[str, Any]:
    """A copy of `body` with the texts at `paths` replaced. Copy-on-write: untouched parts
    are shared with `body`, which is never changed."""
    root: dict[str, Any] = dict(body)
    copied: set[Path] = {()}
    for path, text in replacements:
        node: Any = root
        for depth, key in enumerate(path[:-1]):
            child_path = path[: depth + 1]
            child = node[key]
            if child_path not in copied:
                child = dict(child) if isinstance(child, dict) else list(child)
                node[key] = child
                copied.add(child_path)
            node = child
        node[path[-1]] = text
    return root
