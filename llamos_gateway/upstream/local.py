"""Built-in offline models, so the gateway runs with no provider key.

`local/echo` answers with exactly the text it received: the last user message (chat) or the
prompt (completions), so a user sees what the target model sees after purification.
`LocalChatModel` is the shared shape for any built-in model that maps a prompt to a reply
(the sentiment model of the evaluation package uses it too).
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.upstream import UpstreamCall, UpstreamReply

Responder = Callable[[str], str]


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (string content or the text parts of a list)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0


def _usage(prompt: str, completion: str) -> dict[str, int]:
    p, c = _tokens(prompt), _tokens(completion)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


class LocalChatModel:
    """A built-in model answering `respond(prompt)`; speaks chat, completions and embeddings."""

    def __init__(self, name: str, respond: Responder) -> None:
        self.name = name
        self._respond = respond

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        body = call.body
        created = int(time.time())
        if call.endpoint == "embeddings":
            return self._reply(self._embeddings(body))
        prompts = self._prompts(call)
        n = int(body.get("n") or 1)
        if call.endpoint == "completions":
            texts = [self._respond(p) for p in prompts]
            choices = [{"index": i * n + k, "text": text, "finish_reason": "stop",
                        "logprobs": None} for i, text in enumerate(texts) for k in range(n)]
            return self._reply({"id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion",
                                "created": created, "model": body.get("model", self.name),
                                "choices": choices,
                                "usage": _usage(" ".join(prompts), " ".join(texts))})
        answer = self._respond(prompts[0])
        choices = [{"index": k,
                    "message": {"role": "assistant", "content": answer, "refusal": None},
                    "finish_reason": "stop", "logprobs": None} for k in range(n)]
        return self._reply({"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
                            "created": created, "model": body.get("model", self.name),
                            "choices": choices, "usage": _usage(prompts[0], answer),
                            "system_fingerprint": "llamos-local"})

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        if call.endpoint == "embeddings":
            raise InvalidRequest("embeddings cannot be streamed", param="stream")
        prompts = self._prompts(call)
        return self._chunks(call, prompts[0], self._respond(prompts[0]))

    async def aclose(self) -> None:
        return None

    async def _chunks(self, call: UpstreamCall, prompt: str, answer: str) -> AsyncIterator[bytes]:
        body = call.body
        chat = call.endpoint == "chat/completions"
        base = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion.chunk" if chat else "text_completion",
                "created": int(time.time()), "model": body.get("model", self.name)}
        pieces = _split_keep_spaces(answer) or [""]
        if chat:
            yield _sse({**base, "choices": [{"index": 0,
                                             "delta": {"role": "assistant", "content": ""},
                                             "finish_reason": None}]})
        for piece in pieces:
            choice: dict[str, Any] = (
                {"index": 0, "delta": {"content": piece}, "finish_reason": None} if chat
                else {"index": 0, "text": piece, "finish_reason": None})
            yield _sse({**base, "choices": [choice]})
        done: dict[str, Any] = ({"index": 0, "delta": {}, "finish_reason": "stop"} if chat
                                else {"index": 0, "text": "", "finish_reason": "stop"})
        yield _sse({**base, "choices": [done]})
        options = body.get("stream_options") or {}
        if isinstance(options, dict) and options.get("include_usage"):
            yield _sse({**base, "choices": [], "usage": _usage(prompt, answer)})
        yield b"data: [DONE]\n\n"

    def _prompts(self, call: UpstreamCall) -> list[str]:
        body = call.body
        if call.endpoint == "chat/completions":
            return [last_user_text(body.get("messages") or [])]
        return text_prompts(body, self.name)

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        dims = int(body.get("dimensions") or 16)
        if dims > MAX_DIMENSIONS:
            raise InvalidRequest(f"{self.name} makes embeddings of at most {MAX_DIMENSIONS} "
                                 f"dimensions, not {dims}", param="dimensions")
        data = [{"object": "embedding", "index": i, "embedding": _embed(str(t), dims)}
                for i, t in enumerate(texts)]
        total = sum(_tokens(str(t)) for t in texts)
        return {"object": "list", "data": data, "model": body.get("model", self.name),
                "usage": {"prompt_tokens": total, "total_tokens": total}}

    @staticmethod
    def _reply(obj: dict[str, Any]) -> UpstreamReply:
        return UpstreamReply(status=200, content=orjson.dumps(obj))


def text_prompts(body: dict[str, Any], name: str) -> list[str]:
    """A legacy completions body's `prompt`: one string or a list of them (token ids are not
    taken by the built-in models: `name` says which refused them)."""
    prompt = body.get("prompt", "")
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return [str(p) for p in prompt]
    raise InvalidRequest(f"{name} accepts only text prompts", param="prompt")


# the largest size OpenAI's own embedding models return (text-embedding-3-large); beyond it a
# tiny request could ask for an arbitrarily large reply
MAX_DIMENSIONS = 3072


def _split_keep_spaces(text: str) -> list[str]:
    """'a b  c' -> ['a', ' b', '  c']: chunks that concatenate back to the exact text."""
    pieces: list[str] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or (text[i] == " " and text[i - 1] != " "):
            pieces.append(text[start:i])
            start = i
    return pieces


def _embed(text: str, dims: int) -> list[float]:
    """Deterministic unit vector from the text's hash: stable, offline, not semantic."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    raw = [(digest[i % len(digest)] - 127.5) / 127.5 for i in range(dims)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


def echo_model() -> LocalChatModel:
    return LocalChatModel("local/echo", lambda text: text)
