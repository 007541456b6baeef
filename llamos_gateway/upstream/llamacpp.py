"""A GGUF model run in this process (`local/smollm2`, or any GGUF file under an alias) as an
`Upstream`: chat and plain completions, streamed or not, and embeddings (the mean of the
model's token states).

The model is loaded on the first call, not when the gateway starts, so a gateway that never
asks it pays nothing and one without the `local-llm` extra still starts (the call then fails
with what to install). Every call runs in a worker thread, so the event loop keeps serving.
A llama.cpp context answers one prompt at a time: calls take one of `instances` copies of the
model (`server.local_model_instances`, 1 by default) through a capacity limiter, so waiting
requests wait on the loop, not in the thread pool.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import orjson

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.localllm import LocalModel, bundled_model_path
from llamos_gateway.upstream import UpstreamCall, UpstreamReply
from llamos_gateway.upstream.local import text_prompts

DEFAULT_MAX_TOKENS = 256


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


class LlamaCppUpstream:
    """`path` None: the bundled SmolLM2-135M-Instruct (found on first use). `options` go to
    `LocalModel` (n_ctx, n_threads, seed). A model from `open_model` belongs to its caller
    and is not closed here (tests share one loaded model).

    `instances`: how many copies of the model answer at once (each its own llama.cpp context;
    the weights are one memory-mapped file). Each copy answers one call at a time, with the
    cores split between them unless `n_threads` is given: on a few cores two one-thread copies
    answer more calls a second than one two-thread copy, since a small model's generation
    spends much of each token synchronising its threads."""

    def __init__(self, name: str, path: Path | None = None, *,
                 open_model: Callable[[Path], LocalModel] | None = None,
                 instances: int = 1, **options: Any) -> None:
        if instances < 1:
            raise ValueError("instances must be >= 1")
        if instances > 1 and "n_threads" not in options:
            options["n_threads"] = max(1, len(os.sched_getaffinity(0)) // instances)
        self.name = name
        self._path = path
        self._open_model = open_model or (lambda p: LocalModel(p, **options))
        self._owns_model = open_model is None
        self._models: list[LocalModel | None] = [None] * instances
        self._free = list(range(instances))
        self._loading = threading.Lock()
        self._pool = anyio.CapacityLimiter(instances)

    @property
    def instances(self) -> int:
        return len(self._models)

    def _loaded(self, index: int = 0) -> LocalModel:
        """Copy `index` of the model, opened on first use (in a worker thread)."""
        with self._loading:
            model = self._models[index]
            if model is None:
                model = self._models[index] = self._open_model(self._path or bundled_model_path())
            return model

    async def _borrow(self, holder: object) -> int:
        """A free copy's index, held by `holder` until `_give_back` (a stream is held by an
        object, not a task: a server may close it from another task than the one iterating)."""
        await self._pool.acquire_on_behalf_of(holder)
        return self._free.pop()

    def _give_back(self, holder: object, index: int) -> None:
        self._free.append(index)
        self._pool.release_on_behalf_of(holder)

    async def _run(self, fn: Callable[[LocalModel], Any]) -> Any:
        holder = object()
        index = await self._borrow(holder)
        try:
            return await anyio.to_thread.run_sync(lambda: fn(self._loaded(index)))
        finally:
            self._give_back(holder, index)

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        body = call.body
        model = str(body.get("model") or self.name)
        if call.endpoint == "embeddings":
            texts = _inputs(body, self.name)
            rows = await self._run(lambda m: [_mean_embedding(m, t) for t in texts])
            counted = await self._run(lambda m: sum(m.count_tokens(t) for t in texts))
            return _reply({"object": "list", "model": model, "usage": {
                "prompt_tokens": counted, "total_tokens": counted}, "data": [
                {"object": "embedding", "index": i, "embedding": row}
                for i, row in enumerate(rows)]})
        options = _options(body)
        created = int(time.time())
        if call.endpoint == "completions":
            prompts = text_prompts(body, self.name)
            outs = await self._run(lambda m: [m.complete(p, **options) for p in prompts])
            return _reply({
                "id": f"cmpl-{uuid.uuid4().hex[:24]}", "object": "text_completion",
                "created": created, "model": model,
                "choices": [{"index": i, "text": o.text, "finish_reason": o.finish_reason,
                             "logprobs": None} for i, o in enumerate(outs)],
                "usage": _usage(sum(o.prompt_tokens for o in outs),
                                sum(o.completion_tokens for o in outs))})
        messages = _messages(body, self.name)
        json_options = _json_options(body)
        top = _top_logprobs(body)
        out = await self._run(lambda m: m.chat(messages, **options, **json_options))
        logprobs = None
        if top is not None:
            first = await self._run(lambda m: m.first_token_logprobs(messages, max(top, 1)))
            logprobs = _first_token_logprobs(first, top)
        return _reply({
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": created, "model": model, "system_fingerprint": "llamos-llama.cpp",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": out.text,
                                                 "refusal": None},
                         "finish_reason": out.finish_reason, "logprobs": logprobs}],
            "usage": _usage(out.prompt_tokens, out.completion_tokens)})

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        if call.endpoint == "embeddings":
            raise InvalidRequest("embeddings cannot be streamed", param="stream")
        body = call.body
        options = _options(body)
        # loaded before the first byte, so a missing model is an error status, not a broken stream
        await anyio.to_thread.run_sync(self._loaded)
        if call.endpoint == "completions":
            prompts = text_prompts(body, self.name)
            if len(prompts) != 1:
                raise InvalidRequest(f"{self.name} streams one prompt at a time", param="prompt")
            prompt = prompts[0]
            return self._chunks(call, lambda m: iter([m.complete(prompt, **options).text]),
                                lambda m: m.count_tokens(prompt))
        messages = _messages(body, self.name)
        json_options = _json_options(body)
        return self._chunks(call, lambda m: m.chat_stream(messages, **options, **json_options),
                            lambda m: _chat_prompt_tokens(m, messages))

    async def _chunks(self, call: UpstreamCall, pieces_of: Callable[[LocalModel], Iterator[str]],
                      prompt_tokens: Callable[[LocalModel], int]) -> AsyncIterator[bytes]:
        body = call.body
        chat = call.endpoint == "chat/completions"
        base = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion.chunk" if chat else "text_completion",
                "created": int(time.time()), "model": str(body.get("model") or self.name)}
        if chat:
            yield _sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                   "content": ""},
                                             "finish_reason": None}]})
        text: list[str] = []
        # the whole generation holds the model; the borrower is this stream, not a task (a
        # server may close the stream from another task than the one that iterated it)
        holder = object()
        index = await self._borrow(holder)
        try:
            model = await anyio.to_thread.run_sync(self._loaded, index)
            pieces = pieces_of(model)
            try:
                while (piece := await anyio.to_thread.run_sync(next, pieces, None)) is not None:
                    text.append(piece)
                    choice = ({"index": 0, "delta": {"content": piece}, "finish_reason": None}
                              if chat else {"index": 0, "text": piece, "finish_reason": None})
                    yield _sse({**base, "choices": [choice]})
            finally:
                close = getattr(pieces, "close", None)  # a generator releases the model's lock
                if close is not None:
                    await anyio.to_thread.run_sync(close)
            options = body.get("stream_options") or {}
            usage = None
            if isinstance(options, dict) and options.get("include_usage"):
                completion = "".join(text)
                usage = await anyio.to_thread.run_sync(
                    lambda: _usage(prompt_tokens(model),
                                   model.count_tokens(completion) if completion else 0))
        finally:
            self._give_back(holder, index)
        done: dict[str, Any] = ({"index": 0, "delta": {}, "finish_reason": "stop"} if chat
                                else {"index": 0, "text": "", "finish_reason": "stop"})
        yield _sse({**base, "choices": [done]})
        if usage is not None:
            yield _sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    async def aclose(self) -> None:
        """Closes each copy once no call holds it."""
        holders = [object() for _ in self._models]
        indices = [await self._borrow(holder) for holder in holders]
        try:
            models = [m for m in self._models if m is not None]
            self._models = [None] * len(self._models)
            if self._owns_model:
                for model in models:
                    await anyio.to_thread.run_sync(model.close)
        finally:
            for holder, index in zip(holders, indices, strict=True):
                self._give_back(holder, index)


def _reply(obj: dict[str, Any]) -> UpstreamReply:
    return UpstreamReply(status=200, content=orjson.dumps(obj))


def _options(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling options the model honours; anything else is left to the model's defaults."""
    stop = body.get("stop")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
    seed = body.get("seed")
    return {"max_tokens": int(max_tokens),
            "temperature": float(body.get("temperature") or 0.0),
            "stop": [stop] if isinstance(stop, str) else list(stop or []),
            "seed": int(seed) if isinstance(seed, int) else None}


def _top_logprobs(body: dict[str, Any]) -> int | None:
    """How many alternatives `logprobs: true` asks for (`top_logprobs`, 0-20), None when
    logprobs are not asked for."""
    if body.get("logprobs") is not True:
        return None
    top = body.get("top_logprobs")
    if top is None:
        return 0
    if not isinstance(top, int) or isinstance(top, bool) or not 0 <= top <= 20:
        raise InvalidRequest("top_logprobs must be an integer from 0 to 20",
                             param="top_logprobs")
    return top


def _first_token_logprobs(first: list[tuple[str, float]], top: int) -> dict[str, Any] | None:
    """OpenAI's `choices[].logprobs` for the first token of the reply only: in-process models
    report the distribution the reply starts from (for label scoring), not every token's."""
    if not first:
        return None
    token, logprob = first[0]
    return {"content": [{"token": token, "logprob": logprob,
                         "bytes": list(token.encode()),
                         "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())}
                                          for t, lp in first[:top]]}]}


def _json_options(body: dict[str, Any]) -> dict[str, Any]:
    """`response_format` as the model's grammar: OpenAI's `json_object` (any JSON object;
    llama-cpp-python's `schema` key inside it is honoured too) or `json_schema`."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return {}
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return {"json_schema": schema} if isinstance(schema, dict) else {"json_mode": True}
    if fmt.get("type") == "json_object":
        schema = fmt.get("schema")
        return {"json_schema": schema} if isinstance(schema, dict) else {"json_mode": True}
    return {}


def _messages(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest(f"{name}: messages must be a non-empty list", param="messages")
    return [{"role": m.get("role", "user"), "content": _text(m.get("content"))}
            for m in messages if isinstance(m, dict)]


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content
                       if isinstance(p, dict) and p.get("type") == "text")
    return content if isinstance(content, str) else ""


def _inputs(body: dict[str, Any], name: str) -> list[str]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InvalidRequest(f"{name} embeds only text inputs", param="input")
    return texts


def _mean_embedding(model: LocalModel, text: str) -> list[float]:
    rows = model.token_embeddings(text) if text else np.zeros((0, 0), dtype=np.float32)
    if rows.size == 0:
        rows = model.token_embeddings(" ")
    return [round(float(x), 6) for x in rows.mean(axis=0)]


def _chat_prompt_tokens(model: LocalModel, messages: list[dict[str, Any]]) -> int:
    """An estimate for streamed usage: the messages' tokens plus a few per turn for the
    template (a non-streamed reply reports llama.cpp's own count)."""
    return sum(model.count_tokens(str(m["content"])) + 4 for m in messages)
