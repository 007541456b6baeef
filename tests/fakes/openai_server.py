"""A scripted fake OpenAI-compatible server for tests, served for real on 127.0.0.1.

    fake = FakeOpenAI()
    fake.enqueue(Reply(content='{"purified": "x", "changed": true}'))
    fake.enqueue(Reply(status=500, error="boom"))
    fake.enqueue(Reply(chunks=["a", "b"], chunk_delay_s=0.01))
    ... fake.history[-1].body ...

With nothing queued it answers like a model that echoes the last user message. It records
every request (path, headers, parsed body), counts streams that were cut off by the client,
and can delay or hang to exercise timeouts. A raw ASGI app: no framework between the test and
the bytes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send


@dataclass
class Reply:
    content: str | None = None          # chat message content (or completion text)
    json_body: dict[str, Any] | None = None  # a whole body, sent as is
    status: int = 200
    error: str | None = None            # with status >= 400: an OpenAI error envelope
    error_type: str = "api_error"
    delay_s: float = 0.0                # before the response starts
    chunks: list[str] | None = None     # for stream requests
    chunk_delay_s: float = 0.0
    tool_calls: list[dict[str, Any]] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


class FakeOpenAI:
    def __init__(self) -> None:
        self.history: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.cancelled_streams = 0
        self.completed_streams = 0
        self._lock = threading.Lock()

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.history.clear()
            self.replies.clear()
            self.cancelled_streams = self.completed_streams = 0

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.history]

    def _next(self) -> Reply | None:
        with self._lock:
            return self.replies.popleft() if self.replies else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self.history.append(Recorded(scope["method"], path, headers, body, raw))
        if scope["method"] == "GET" and path.endswith("/models"):
            await _json(send, 200, {"object": "list", "data": [
                {"id": "fake-model", "object": "model", "created": 0, "owned_by": "fake"}]})
            return
        reply = self._next() or Reply()
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.status >= 400:
            await _json(send, reply.status, {"error": {
                "message": reply.error or "fake error", "type": reply.error_type,
                "param": None, "code": None}}, reply.headers)
            return
        if reply.json_body is not None:
            await _json(send, reply.status, reply.json_body, reply.headers)
            return
        body = body if isinstance(body, dict) else {}
        if body.get("stream"):
            await self._stream(send, receive, body, reply)
        elif path.endswith("/embeddings"):
            await _json(send, 200, _embeddings(body))
        else:
            await _json(send, 200, _completion(path, body, reply), reply.headers)

    async def _stream(self, send: Send, receive: Receive, body: dict[str, Any],
                      reply: Reply) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        pieces = reply.chunks if reply.chunks is not None else _answer(body, reply).split(" ")
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        gone = asyncio.Event()

        async def watch() -> None:  # the server does not raise on send after a disconnect
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            for i, piece in enumerate(pieces):
                if gone.is_set():
                    raise asyncio.CancelledError
                chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": body.get("model", "fake"),
                         "choices": [{"index": 0, "delta": {"content": piece if i == 0 else f" {piece}"}
                                      if reply.chunks is None else {"content": piece},
                                      "finish_reason": None}]}
                await send({"type": "http.response.body",
                            "body": f"data: {json.dumps(chunk)}\n\n".encode(), "more_body": True})
                if reply.chunk_delay_s:
                    await asyncio.sleep(reply.chunk_delay_s)
            final = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
                     "model": body.get("model", "fake"),
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            await send({"type": "http.response.body",
                        "body": f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode()})
        except (asyncio.CancelledError, OSError):
            with self._lock:
                self.cancelled_streams += 1
            return
        finally:
            watcher.cancel()
        with self._lock:
            self.completed_streams += 1


def _answer(body: dict[str, Any], reply: Reply) -> str:
    if reply.content is not None:
        return reply.content
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if p.get("type") == "text")
            return str(content)
    prompt = body.get("prompt")
    return prompt if isinstance(prompt, str) else "fake answer"


def _completion(path: str, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    answer = _answer(body, reply)
    usage = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        return {"id": "cmpl-fake", "object": "text_completion", "created": 0,
                "model": body.get("model"), "usage": usage,
                "choices": [{"index": 0, "text": answer, "finish_reason": "stop", "logprobs": None}]}
    message: dict[str, Any] = {"role": "assistant", "content": answer}
    if reply.tool_calls:
        message = {"role": "assistant", "content": None, "tool_calls": reply.tool_calls}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
            "model": body.get("model"), "usage": usage, "system_fingerprint": "fp_fake",
            "x_fake_extra": {"kept": True},
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}]}


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    items = [inputs] if isinstance(inputs, str) else list(inputs or [])
    return {"object": "list", "model": body.get("model"),
            "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                     for i, _ in enumerate(items)],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}


async def _json(send: Send, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(obj).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode()), *extra]})
    await send({"type": "http.response.body", "body": data})
