"""A scripted fake OpenAI-compatible server, served for real on 127.0.0.1.

    fake = FakeOpenAI()
    fake.enqueue(Reply(content='{"purified": "x", "changed": true}'))
    fake.enqueue(Reply(status=503, error="overloaded"))          # an error envelope
    fake.enqueue(Reply(status=502, raw=b""))                     # any body, even none
    fake.enqueue(Reply(chunks=["a", "b"], chunk_delay_s=0.01))   # a stream, trickled
    fake.enqueue(Reply(trickle_bytes=8, trickle_delay_s=0.05))   # a JSON body, trickled
    fake.enqueue(Reply(reset="before"))                          # reset before any byte
    fake.enqueue(Reply(reset="after"))                           # reset after the first piece
    fake.enqueue(Reply(events=[b"data: {}\n\n", b"junk"]))       # a stream's raw bytes
    fake.enqueue(Reply(status=401, echo_header="authorization"))  # reflects a credential
    ... fake.history[-1].body ...

Replies are taken in order; with nothing queued it answers like a model that echoes the last
user message (or `FakeOpenAI(default=Reply(content=...))`). It records every request (path,
headers, parsed body), counts streams that were cut off by the client (and delayed replies
whose client left, `cancelled_requests`), and can delay or hang to exercise timeouts. A raw
ASGI app: no framework between the test and the bytes.

`FakeOpenAI.fixed(content)` is the benchmark mode: one precomputed reply, no parsing, no
recording. `python -m llamos_gateway.testing.fake_openai --port 9100` serves it on its own.
Resets need the app to be served by uvicorn (`ServedApp`, or this module's command line).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from starlette.types import Receive, Scope, Send

USAGE = {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


@dataclass
class Reply:
    content: str | None = None          # chat message content (or completion text)
    json_body: dict[str, Any] | None = None  # a whole JSON body, sent as is
    raw: bytes | None = None            # a whole body as bytes (garbage, empty), with `status`
    status: int = 200
    error: str | None = None            # with status >= 400: an OpenAI error envelope
    error_type: str = "api_error"
    delay_s: float = 0.0                # before the response starts
    chunks: list[str] | None = None     # for stream requests
    chunk_delay_s: float = 0.0
    trickle_bytes: int = 0              # send a non-stream body in pieces of this size...
    trickle_delay_s: float = 0.0        # ...with this pause before each piece after the first
    reset: Literal["before", "after"] | None = None  # before any byte, or after the first piece
    tool_calls: list[dict[str, Any]] | None = None
    usage: dict[str, int] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    events: list[bytes] | None = None   # a stream's bytes exactly (garbage, no [DONE]), status 200
    # A provider that reflects a request header (`authorization`): its value replaces "{echo}"
    # in `error`, `raw`, `chunks` and `events`, and fills the error envelope's type, code, param
    # and a nested object.
    echo_header: str | None = None


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass(frozen=True)
class _Static:
    """Precomputed bytes of one fixed reply (benchmark mode)."""

    completion: bytes
    stream: tuple[bytes, ...]
    models: bytes


class FakeOpenAI:
    def __init__(self, *, default: Reply | None = None, record: bool = True,
                 models: Sequence[str] = ("fake-model",), uuid_request_ids: bool = False) -> None:
        """`uuid_request_ids`: answer 400 with an empty body to a request whose
        `x-request-id` is not a UUID, as llama-cpp-python's server does."""
        self.history: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.cancelled_streams = 0
        self.cancelled_requests = 0  # clients that left while a reply was delayed
        self.completed_streams = 0
        self.resets = 0
        self._default = default or Reply()
        self._record = record
        self._models = tuple(models)
        self._static: _Static | None = None
        self._lock = threading.Lock()
        self._uuid_request_ids = uuid_request_ids

    @classmethod
    def fixed(cls, content: str, *, model: str = "fake-model",
              usage: dict[str, int] | None = None) -> FakeOpenAI:
        """Always the same reply, computed once: for load generators, which measure the
        gateway and must spend as little as possible here."""
        fake = cls(default=Reply(content=content, usage=usage), record=False, models=(model,))
        body = {"model": model}
        pieces = content.split(" ")
        fake._static = _Static(
            completion=_dumps(_completion("/v1/chat/completions", body, fake._default)),
            stream=(*(_chunk("chatcmpl-fixed", model, i, piece, None)
                      for i, piece in enumerate(pieces)),
                    _chunk("chatcmpl-fixed", model, 0, None, "stop") + b"data: [DONE]\n\n"),
            models=_dumps(fake._model_list()))
        return fake

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.history.clear()
            self.replies.clear()
            self.cancelled_streams = self.completed_streams = self.resets = 0
            self.cancelled_requests = 0

    @property
    def bodies(self) -> list[Any]:
        return [r.body for r in self.history]

    def _next(self) -> Reply | None:
        with self._lock:
            return self.replies.popleft() if self.replies else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        raw = await _read_body(receive)
        if self._static is not None and not self.replies:
            await self._fixed(scope, raw, send)
            return
        path = scope["path"]
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if self._record:
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            with self._lock:
                self.history.append(Recorded(scope["method"], path, headers, body, raw))
        if scope["method"] == "GET" and path.endswith("/models"):
            await _respond(send, 200, _dumps(self._model_list()))
            return
        if self._uuid_request_ids and not _uuid_or_absent(scope):
            await _respond(send, 400, b"")
            return
        reply = self._next() or self._default
        if reply.echo_header is not None:
            reply = _echoed(reply, _header(scope, reply.echo_header))
        if reply.delay_s and await _gone_within(receive, reply.delay_s):
            with self._lock:
                self.cancelled_requests += 1
            return
        if reply.reset == "before":
            await self._reset(send, receive)
            return
        body = body if isinstance(body, dict) else {}
        if reply.events is not None:
            await _events(send, reply.events)
            return
        if body.get("stream") and reply.status < 400 and reply.json_body is None \
                and reply.raw is None:
            if path.endswith("/responses"):  # an event stream, as the real API sends it
                await _events(send, [_response_events(body, reply)])
                return
            await self._stream(send, receive, body, reply)
            return
        await self._whole(send, receive, reply, self._content(path, body, reply))

    def _content(self, path: str, body: dict[str, Any], reply: Reply) -> bytes:
        if reply.raw is not None:
            return reply.raw
        if reply.status >= 400 and reply.echo_header is not None:
            echo = reply.error or ""
            return _dumps({"error": {"message": echo, "type": echo, "param": echo, "code": echo,
                                     "details": {"headers": {reply.echo_header: echo}}}})
        if reply.status >= 400:
            return _dumps({"error": {"message": reply.error or "fake error",
                                     "type": reply.error_type, "param": None, "code": None}})
        if reply.json_body is not None:
            return _dumps(reply.json_body)
        if path.endswith("/embeddings"):
            return _dumps(_embeddings(body))
        if path.endswith("/responses"):
            return _dumps(_response(body, reply))
        return _dumps(_completion(path, body, reply))

    async def _whole(self, send: Send, receive: Receive, reply: Reply, data: bytes) -> None:
        size = max(1, reply.trickle_bytes or (len(data) // 2 if reply.reset else len(data)))
        pieces = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": _headers(reply.headers, len(data))})
        for i, piece in enumerate(pieces):
            if i and reply.trickle_delay_s:
                await asyncio.sleep(reply.trickle_delay_s)
            if i and reply.reset == "after":
                await self._reset(send, receive)
                return
            await send({"type": "http.response.body", "body": piece,
                        "more_body": i < len(pieces) - 1})

    async def _stream(self, send: Send, receive: Receive, body: dict[str, Any],
                      reply: Reply) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream"),
                                *_headers(reply.headers)[1:]]})
        echo = reply.chunks is None
        pieces = _answer(body, reply).split(" ") if echo else list(reply.chunks or ())
        cid = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        model = str(body.get("model", "fake"))
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
                if i and reply.reset == "after":
                    watcher.cancel()
                    await self._reset(send, receive)
                    return
                text = f" {piece}" if echo and i else piece
                await send({"type": "http.response.body", "more_body": True,
                            "body": _chunk(cid, model, 0, text, None)})
                if reply.chunk_delay_s:
                    await asyncio.sleep(reply.chunk_delay_s)
            await send({"type": "http.response.body",
                        "body": _chunk(cid, model, 0, None, "stop") + b"data: [DONE]\n\n"})
        except (asyncio.CancelledError, OSError):
            with self._lock:
                self.cancelled_streams += 1
            return
        finally:
            watcher.cancel()
        with self._lock:
            self.completed_streams += 1

    async def _reset(self, send: Send, receive: Receive) -> None:
        """Drop the connection with a TCP reset, then wait until the server has seen it."""
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:
            raise RuntimeError("Reply(reset=...) needs the fake served by uvicorn")
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: close() sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        with self._lock:
            self.resets += 1
        while (await receive())["type"] != "http.disconnect":
            pass

    async def _fixed(self, scope: Scope, raw: bytes, send: Send) -> None:
        static = self._static
        assert static is not None
        if scope["method"] == "GET":
            await _respond(send, 200, static.models)
        elif b'"stream":true' in raw.replace(b" ", b""):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"text/event-stream")]})
            for piece in static.stream[:-1]:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": static.stream[-1]})
        else:
            await _respond(send, 200, static.completion)

    def _model_list(self) -> dict[str, Any]:
        return {"object": "list", "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self._models]}


def _header(scope: Scope, name: str) -> str:
    wanted = name.lower().encode("latin-1")
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == wanted), "")


def _echoed(reply: Reply, value: str) -> Reply:
    """`reply` with the header's value in place of "{echo}" (and as the error's text)."""
    def put(text: str) -> str:
        return text.replace("{echo}", value)

    return replace(
        reply, error=put(reply.error) if reply.error is not None else value,
        raw=reply.raw.replace(b"{echo}", value.encode("latin-1")) if reply.raw else reply.raw,
        chunks=[put(c) for c in reply.chunks] if reply.chunks is not None else None,
        events=[e.replace(b"{echo}", value.encode("latin-1")) for e in reply.events]
        if reply.events is not None else None)


async def _events(send: Send, events: list[bytes]) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    for piece in events:
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


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
    usage = reply.usage or USAGE
    if path.endswith("/completions") and not path.endswith("/chat/completions"):
        return {"id": "cmpl-fake", "object": "text_completion", "created": 0,
                "model": body.get("model"), "usage": usage,
                "choices": [{"index": 0, "text": answer, "finish_reason": "stop",
                             "logprobs": None}]}
    message: dict[str, Any] = {"role": "assistant", "content": answer}
    if reply.tool_calls:
        message = {"role": "assistant", "content": None, "tool_calls": reply.tool_calls}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
            "model": body.get("model"), "usage": usage, "system_fingerprint": "fp_fake",
            "x_fake_extra": {"kept": True},
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if reply.tool_calls else "stop"}]}


def _response_answer(body: dict[str, Any], reply: Reply) -> str:
    """A native Responses API upstream's answer: the reply's content, else the user's input."""
    if reply.content is not None:
        return reply.content
    value = body.get("input")
    if isinstance(value, str):
        return value
    texts: list[str] = []
    for item in value if isinstance(value, list) else ():
        if not isinstance(item, dict) or item.get("role") != "user":
            continue
        content = item.get("content")
        parts = content if isinstance(content, list) else [{"text": content}]
        texts += [str(p.get("text", "")) for p in parts if isinstance(p, dict)]
    return texts[-1] if texts else "fake answer"


def _response(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    answer = _response_answer(body, reply)
    return {"id": "resp_fake", "object": "response", "created_at": 0, "status": "completed",
            "model": body.get("model"), "x_fake_extra": {"native": True},
            "output": [{"type": "message", "id": "msg_fake", "status": "completed",
                        "role": "assistant", "content": [
                            {"type": "output_text", "text": answer, "annotations": []}]}],
            "usage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}}


def _response_events(body: dict[str, Any], reply: Reply) -> bytes:
    """A native Responses API stream: created, the message item and its part added, deltas
    of 8 characters, completed."""
    done = _response(body, reply)
    item = done["output"][0]
    text = item["content"][0]["text"]
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**done, "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "output_index": 0,
         "item": {**item, "status": "in_progress", "content": []}},
        {"type": "response.content_part.added", "item_id": "msg_fake", "output_index": 0,
         "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}]
    events += [{"type": "response.output_text.delta", "item_id": "msg_fake", "output_index": 0,
                "content_index": 0, "delta": piece}
               for piece in (text[i:i + 8] for i in range(0, len(text), 8))]
    events.append({"type": "response.completed", "response": done})
    return b"".join(b"event: " + e["type"].encode() + b"\ndata: "
                    + _dumps({**e, "sequence_number": i}) + b"\n\n"
                    for i, e in enumerate(events))


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    items = [inputs] if isinstance(inputs, str) else list(inputs or [])
    return {"object": "list", "model": body.get("model"),
            "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                     for i, _ in enumerate(items)],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}


def _chunk(cid: str, model: str, index: int, content: str | None,
           finish: str | None) -> bytes:
    delta = {} if content is None else {"content": content}
    chunk = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
             "model": model, "choices": [{"index": index, "delta": delta,
                                          "finish_reason": finish}]}
    return b"data: " + _dumps(chunk) + b"\n\n"


def _uuid_or_absent(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            try:
                uuid.UUID(value.decode("latin-1"))
            except ValueError:
                return False
    return True


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _headers(extra: dict[str, str], length: int | None = None) -> list[tuple[bytes, bytes]]:
    out = [(b"content-type", b"application/json")]
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    return out + [(k.encode(), v.encode()) for k, v in extra.items()]


async def _respond(send: Send, status: int, data: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": _headers({}, len(data))})
    await send({"type": "http.response.body", "body": data})


async def _read_body(receive: Receive) -> bytes:
    raw = b""
    while True:
        message = await receive()
        raw += message.get("body", b"")
        if not message.get("more_body"):
            return raw


async def _gone_within(receive: Receive, delay_s: float) -> bool:
    """Wait `delay_s`; True as soon as the client disconnects within it."""
    async def disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnect(), delay_s)
    except TimeoutError:
        return False
    return True


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return


def main(argv: Sequence[str] | None = None) -> None:
    """Serve `FakeOpenAI.fixed(...)` on its own (benchmarks run it as a separate process)."""
    import uvicorn

    parser = argparse.ArgumentParser(description="a fixed-reply fake OpenAI-compatible server")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--content", default="a fixed answer", help="the reply's content")
    parser.add_argument("--model", default="bench-model")
    parser.add_argument("--prompt-tokens", type=int, default=9, help="usage.prompt_tokens")
    args = parser.parse_args(argv)
    usage = {"prompt_tokens": args.prompt_tokens, "completion_tokens": 3,
             "total_tokens": args.prompt_tokens + 3}
    uvicorn.run(FakeOpenAI.fixed(args.content, model=args.model, usage=usage),
                host="127.0.0.1", port=args.port, loop="uvloop", http="httptools",
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
