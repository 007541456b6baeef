"""litellm adapter: any provider litellm knows (Anthropic, Bedrock, Vertex, Ollama, ...).

The only module that imports litellm. Its results are turned into OpenAI-shaped JSON bytes
at this border, and its exceptions into our error tree: a provider's 4xx keeps its status, a
body litellm could not read becomes 502 `upstream_invalid_response`, and every string taken
from the provider goes through the `Redactor` (the one the pass-through path uses). A stream
is started before it is handed back: a provider error that litellm only raises on the first
chunk (legacy completions do) still gets its HTTP status instead of a 200 and an error event.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any, cast

import orjson

from llamos_gateway.errors import (
    LlamosError,
    UpstreamError,
    UpstreamInvalidResponse,
    UpstreamStatusError,
    UpstreamTimeout,
)
from llamos_gateway.upstream import UpstreamCall, UpstreamReply
from llamos_gateway.upstream.deadline import deadline_after, paced
from llamos_gateway.upstream.redaction import MESSAGE_CHARS, Redactor

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import
import litellm  # noqa: E402
import openai  # noqa: E402  # litellm's own client library, for legacy completions (below)
from litellm import exceptions as llx  # noqa: E402
from litellm.litellm_core_utils import logging_worker  # noqa: E402

_SOCKET_MARGIN_S = 1.0  # litellm's socket timeout past our deadline (see _deadline)

litellm.suppress_debug_info = True  # no "Give Feedback" banners on our stdout

# OpenAI request fields litellm takes as keyword arguments; anything else rides in extra_body.
_KNOWN = frozenset({
    "messages", "prompt", "input", "temperature", "top_p", "n", "stream", "stream_options", "stop",
    "max_tokens", "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias",
    "user", "response_format", "seed", "tools", "tool_choice", "parallel_tool_calls", "logprobs",
    "top_logprobs", "functions", "function_call", "dimensions", "encoding_format", "echo",
    "best_of", "suffix", "modalities", "audio", "reasoning_effort", "metadata", "store",
    "prediction", "service_tier",
})


class LiteLLMUpstream:
    def __init__(self, *, name: str, model: str, api_base: str | None = None,
                 api_key: str | None = None, timeout_s: float = 120.0, max_retries: int = 2,
                 extra_headers: dict[str, str] | None = None) -> None:
        self.name = name
        self._model = model
        self._redact = Redactor([api_key, *(extra_headers or {}).values()])
        self._common: dict[str, Any] = {"timeout": timeout_s, "num_retries": max_retries}
        if api_base:
            self._common["api_base"] = api_base
        if api_key:
            self._common["api_key"] = api_key
        elif api_base and model.startswith("openai/"):
            # a self-hosted OpenAI-compatible server (vLLM, Ollama) needs no key, but the
            # OpenAI client refuses to start without one
            self._common["api_key"] = "no-key"
        if extra_headers:
            self._common["extra_headers"] = extra_headers
        # litellm (1.106) builds a new OpenAI client, and an aiohttp session it never closes,
        # for every legacy completion of an OpenAI-compatible model: "Unclosed connector"
        # errors and sockets held until garbage collection. One client of ours, reused.
        self._completions_client: openai.AsyncOpenAI | None = None
        if model.startswith("openai/"):
            self._completions_client = openai.AsyncOpenAI(
                api_key=self._common.get("api_key", "no-key"), base_url=api_base,
                timeout=timeout_s + _SOCKET_MARGIN_S, max_retries=0,
                default_headers=extra_headers)

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        kwargs = self._kwargs(call, stream=False)
        timeout_s = self._deadline(kwargs)
        try:
            async with asyncio.timeout(timeout_s):  # the whole call: upstream.deadline
                if call.endpoint == "chat/completions":
                    result = await litellm.acompletion(**kwargs)
                elif call.endpoint == "completions":
                    result = await litellm.atext_completion(**kwargs)
                else:
                    result = await litellm.aembedding(**kwargs)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.name} did not answer within "
                                  f"{timeout_s:g}s") from exc
        except Exception as exc:  # litellm raises its own tree; map it, never swallow
            raise self._map(exc) from exc
        return UpstreamReply(status=200, content=self._redact.data(orjson.dumps(_dump(result))))

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        kwargs = self._kwargs(call, stream=True)
        timeout_s = self._deadline(kwargs)
        first_by = deadline_after(timeout_s)
        try:
            async with asyncio.timeout_at(first_by):
                if call.endpoint == "chat/completions":
                    chunks = await litellm.acompletion(**kwargs)
                else:
                    chunks = await litellm.atext_completion(**kwargs)
                self._check_stream(chunks)
                first = await anext(aiter(chunks), None)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.name} did not answer within "
                                  f"{timeout_s:g}s") from exc
        except Exception as exc:
            raise self._map(exc) from exc
        return paced(self._relay(first, chunks), name=self.name, first_by=first_by,
                     idle_s=timeout_s)

    @staticmethod
    def _deadline(kwargs: dict[str, Any]) -> float:
        """Our deadline (`upstream.deadline`) is the call's `timeout`; litellm's own socket
        timeout gets a margin past it, so that ours decides (and says upstream_timeout)."""
        timeout_s = float(kwargs["timeout"])
        kwargs["timeout"] = timeout_s + _SOCKET_MARGIN_S
        return timeout_s

    async def aclose(self) -> None:
        if self._completions_client is not None:
            await self._completions_client.close()
        await _stop_litellm_logging()

    def _check_stream(self, chunks: Any) -> None:
        """An OpenAI-compatible provider that answers a stream request with a JSON body sent
        no events (litellm would make one empty chunk of it)."""
        if not self._model.startswith("openai/"):
            return  # other providers stream in formats of their own (Bedrock, Vertex)
        hidden = cast(dict[str, Any], getattr(chunks, "_hidden_params", None) or {})
        kind = str((hidden.get("additional_headers") or {}).get("llm_provider-content-type", ""))
        if kind and not kind.lower().startswith("text/event-stream"):
            raise UpstreamInvalidResponse(
                f"upstream {self.name} answered a stream request with "
                f"{self._redact.text(kind, 80)}, not an event stream")

    async def _relay(self, first: Any, chunks: Any) -> AsyncIterator[bytes]:
        try:
            if first is not None:
                yield self._event(first)
                async for chunk in chunks:
                    yield self._event(chunk)
        except Exception as exc:
            raise self._map(exc) from exc
        yield b"data: [DONE]\n\n"

    def _event(self, chunk: Any) -> bytes:
        return b"data: " + self._redact.data(orjson.dumps(_dump(chunk))) + b"\n\n"

    def _kwargs(self, call: UpstreamCall, *, stream: bool) -> dict[str, Any]:
        body = call.body
        kwargs: dict[str, Any] = {k: v for k, v in body.items() if k in _KNOWN}
        extra = {k: v for k, v in body.items() if k not in _KNOWN and k != "model"}
        if extra:
            kwargs["extra_body"] = extra
        kwargs.update(self._common, model=self._model)
        if call.timeout_s is not None:
            kwargs["timeout"] = call.timeout_s
        if call.endpoint != "embeddings":
            kwargs["stream"] = stream
        if call.endpoint == "completions" and self._completions_client is not None:
            kwargs["client"] = self._completions_client
        if call.endpoint == "chat/completions" and body.get("tools"):
            # litellm otherwise routes tool calls through its MCP gateway check, which needs the
            # optional `mcp` package; plain function tools never need it
            kwargs["_skip_mcp_handler"] = True
        return kwargs

    def _map(self, exc: Exception) -> LlamosError:
        if isinstance(exc, LlamosError):
            return exc
        # secrets out of the whole message first, then the first line, then the cut
        message = self._redact.text(str(getattr(exc, "message", None) or exc), 1 << 20)
        lines = message.split("\nTraceback", 1)[0].strip().splitlines()
        message = self._redact.text(lines[0] if lines else "", MESSAGE_CHARS)
        message = f"upstream {self.name}: {message or type(exc).__name__}"
        status = getattr(exc, "status_code", None)
        if isinstance(exc, llx.Timeout):
            return UpstreamTimeout(message)
        if isinstance(exc, llx.AuthenticationError | llx.PermissionDeniedError) or status in (
                401, 403):
            return UpstreamError(f"upstream {self.name} rejected the gateway's credentials",
                                 code="upstream_auth_failed")
        if isinstance(exc, llx.RateLimitError):
            return UpstreamStatusError(message, status=429, type_="rate_limit_error",
                                       code="rate_limit_exceeded")
        if isinstance(exc, llx.NotFoundError):
            return UpstreamStatusError(message, status=404, type_="invalid_request_error",
                                       code="model_not_found")
        if isinstance(exc, llx.BadRequestError):  # 422 included: its status is kept
            return UpstreamStatusError(message, status=_client_status(status) or 400,
                                       type_="invalid_request_error", code="upstream_bad_request")
        if _unreadable(exc):
            return UpstreamInvalidResponse(message)
        if _client_status(status):  # 409, 413...: the provider's own status
            return UpstreamStatusError(message, status=cast(int, status),
                                       type_="invalid_request_error", code="upstream_bad_request")
        return UpstreamError(message)


async def _stop_litellm_logging() -> None:
    """litellm keeps a logging task on the loop that first used it. Stopped with the gateway,
    on that loop, so the task is not destroyed pending when the loop closes ("Task was
    destroyed but it is pending!", then "Event loop is closed" at garbage collection)."""
    worker = logging_worker.GLOBAL_LOGGING_WORKER
    task = getattr(worker, "_worker_task", None)
    if isinstance(task, asyncio.Task) and task.get_loop() is asyncio.get_running_loop():
        await worker.stop()


def _client_status(status: object) -> int | None:
    return status if isinstance(status, int) and 400 <= status < 500 else None


def _unreadable(exc: BaseException) -> bool:
    """litellm could not read the provider's 200: a JSON or UTF-8 decoding error in the chain,
    or its own "invalid response" verdict."""
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 10:
        if isinstance(cause, ValueError | AttributeError):  # JSONDecodeError, UnicodeDecodeError
            return True
        if "Empty or invalid response" in str(cause):
            return True
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return False


def _dump(result: Any) -> Any:
    if hasattr(result, "model_dump"):
        data = result.model_dump(exclude_none=False)
        data.pop("_hidden_params", None)
        data.pop("_response_headers", None)
        return data
    return result
