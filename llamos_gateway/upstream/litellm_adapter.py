"""litellm adapter: any provider litellm knows (Anthropic, Bedrock, Vertex, Ollama, ...).

The only module that imports litellm. Its results are turned into OpenAI-shaped JSON bytes
at this border, and its exceptions into our error tree.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import orjson

from llamos_gateway.errors import (
    LlamosError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from llamos_gateway.upstream import UpstreamCall, UpstreamReply
from llamos_gateway.upstream.deadline import deadline_after, paced

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import
import litellm  # noqa: E402
from litellm import exceptions as llx  # noqa: E402

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
        self._secret = api_key
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
        return UpstreamReply(status=200, content=orjson.dumps(_dump(result)))

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
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.name} did not answer within "
                                  f"{timeout_s:g}s") from exc
        except Exception as exc:
            raise self._map(exc) from exc
        return paced(self._relay(chunks), name=self.name, first_by=first_by, idle_s=timeout_s)

    @staticmethod
    def _deadline(kwargs: dict[str, Any]) -> float:
        """Our deadline (`upstream.deadline`) is the call's `timeout`; litellm's own socket
        timeout gets a margin past it, so that ours decides (and says upstream_timeout)."""
        timeout_s = float(kwargs["timeout"])
        kwargs["timeout"] = timeout_s + _SOCKET_MARGIN_S
        return timeout_s

    async def aclose(self) -> None:
        return None

    async def _relay(self, chunks: Any) -> AsyncIterator[bytes]:
        try:
            async for chunk in chunks:
                yield b"data: " + orjson.dumps(_dump(chunk)) + b"\n\n"
        except Exception as exc:
            raise self._map(exc) from exc
        yield b"data: [DONE]\n\n"

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
        if call.endpoint == "chat/completions" and body.get("tools"):
            # litellm otherwise routes tool calls through its MCP gateway check, which needs the
            # optional `mcp` package; plain function tools never need it
            kwargs["_skip_mcp_handler"] = True
        return kwargs

    def _map(self, exc: Exception) -> LlamosError:
        message = str(getattr(exc, "message", None) or exc)
        lines = message.split("\nTraceback", 1)[0].strip().splitlines()
        message = lines[0][:500] if lines else ""
        if self._secret:
            message = message.replace(self._secret, "***")
        message = f"upstream {self.name}: {message or type(exc).__name__}"
        if isinstance(exc, llx.Timeout):
            return UpstreamTimeout(message)
        if isinstance(exc, llx.AuthenticationError | llx.PermissionDeniedError):
            return UpstreamError(f"upstream {self.name} rejected the gateway's credentials",
                                 code="upstream_auth_failed")
        if isinstance(exc, llx.RateLimitError):
            return UpstreamStatusError(message, status=429, type_="rate_limit_error",
                                       code="rate_limit_exceeded")
        if isinstance(exc, llx.NotFoundError):
            return UpstreamStatusError(message, status=404, type_="invalid_request_error",
                                       code="model_not_found")
        if isinstance(exc, llx.BadRequestError):
            return UpstreamStatusError(message, status=400, type_="invalid_request_error",
                                       code="upstream_bad_request")
        if isinstance(exc, LlamosError):
            return exc
        return UpstreamError(message)


def _dump(result: Any) -> Any:
    if hasattr(result, "model_dump"):
        data = result.model_dump(exclude_none=False)
        data.pop("_hidden_params", None)
        data.pop("_response_headers", None)
        return data
    return result
