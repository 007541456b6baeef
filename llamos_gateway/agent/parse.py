"""Reading the defense model's answer: a strict `{"purified": str, "changed": bool}` object.

Accepted, in order: the whole reply as JSON; the body of a fenced code block; the first
JSON object embedded in surrounding prose. Anything else is a `ParseFailure`, which the
purifier treats as a defender failure (retry, then `DefenseUnavailable`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()


class ParseFailure(ValueError):
    """The reply holds no usable `{"purified", "changed"}` object."""


@dataclass(frozen=True, slots=True)
class AgentAnswer:
    purified: str
    changed: bool
    path: str  # "json", "fence" or "prose": how it was found


def parse_answer(reply: str) -> AgentAnswer:
    stripped = reply.strip()
    if not stripped:
        raise ParseFailure("empty reply")
    obj = _loads(stripped)
    if obj is not None:
        return _answer(obj, "json")
    for match in _FENCE.finditer(stripped):
        obj = _loads(match.group(1).strip())
        if obj is not None:
            return _answer(obj, "fence")
    obj = _embedded(stripped)
    if obj is not None:
        return _answer(obj, "prose")
    raise ParseFailure("no JSON object in reply")


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _embedded(text: str) -> Any:
    """The first `{...}` in `text` that decodes and has a `purified` key."""
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            pass
        else:
            if isinstance(obj, dict) and "purified" in obj:
                return obj
        start = text.find("{", start + 1)
    return None


def _answer(obj: Any, path: str) -> AgentAnswer:
    if not isinstance(obj, dict):
        raise ParseFailure(f"reply is JSON but not an object ({type(obj).__name__})")
    purified, changed = obj.get("purified"), obj.get("changed")
    if not isinstance(purified, str):
        raise ParseFailure("`purified` missing or not a string")
    if not isinstance(changed, bool):
        raise ParseFailure("`changed` missing or not a boolean")
    return AgentAnswer(purified=purified, changed=changed, path=path)
