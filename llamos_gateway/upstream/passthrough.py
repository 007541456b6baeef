"""Fast path for OpenAI-compatible upstreams (vLLM, Ollama, LM Studio, OpenAI itself).

Forwards the request body through one pooled httpx client and relays the response bytes
as they are: no parsing, no re-serialising of the reply. Errors become `LlamosError`s
with the provider's secret scrubbed from any message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from llamos_gateway.errors import (
    LlamosError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeout,
)
from llamos_gateway.upstream import UpstreamCall, UpstreamReply

_RETRY_STATUSES = frozenset({502, 503, 504})
_RELAYED_HEADERS = ("openai-processing-ms", "x-ratelimit-remaining-requests",
                    "x-ratelimit-remaining-tokens", "retry-after")


class HttpUpstream:
    """One OpenAI-compatible base URL. The client is shared by every alias that points there."""

    def __init__(self, *, name: str, api_base: str, client: httpx.AsyncClient,
                 api_key: str | None = None, max_retries: int = 2,
                 timeout_s: float | None = None, extra_headers: dict[str, str] | None = None,
                 backoff_s: float = 0.05) -> None:
        self.name = name
        self._base = api_base.rstrip("/")
        self._client = client
        self._secret = api_key
        self._retries = max_retries
        self._timeout = timeout_s
        self._backoff = backoff_s
        self._headers = {"content-type": "application/json", **(extra_headers or {})}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"

    @property
    def base_url(self) -> str:
        return self._base

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        response = await self._send(call, stream=False)
        try:
            content = await response.aread()
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"upstream {self.name} timed out") from exc
        except httpx.TransportError as exc:
            raise UpstreamError(f"upstream {self.name} failed: {type(exc).__name__}") from exc
        finally:
            await response.aclose()
        if response.status_code >= 400:
            raise self._status_error(response.status_code, content)
        headers = {h: response.headers[h] for h in _RELAYED_HEADERS if h in response.headers}
        return UpstreamReply(status=response.status_code, content=content, headers=headers)

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        response = await self._send(call, stream=True)
        if response.status_code >= 400:
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            raise self._status_error(response.status_code, content)
        return self._relay(response)

    async def _relay(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"upstream {self.name} timed out mid-stream") from exc
        except httpx.TransportError as exc:
            raise UpstreamError(f"upstream {self.name} stream broke: {type(exc).__name__}") from exc
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """The shared client is closed by whoever built it (the composition root)."""

    async def _send(self, call: UpstreamCall, *, stream: bool) -> httpx.Response:
        content = call.raw if call.raw is not None else orjson.dumps(call.body)
        timeout = call.timeout_s or self._timeout
        extensions: dict[str, Any] = {}
        if timeout is not None:
            extensions["timeout"] = httpx.Timeout(timeout).as_dict()
        request = self._client.build_request(
            "POST", f"{self._base}/{call.endpoint}", content=content, headers=self._headers,
            extensions=extensions,
        )
        if call.request_id:
            request.headers["x-request-id"] = call.request_id
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                if last or not isinstance(exc, httpx.ConnectTimeout):
                    raise UpstreamTimeout(f"upstream {self.name} timed out") from exc
            except httpx.TransportError as exc:
                if last:
                    raise UpstreamError(
                        f"upstream {self.name} unreachable: {type(exc).__name__}") from exc
            else:
                if response.status_code not in _RETRY_STATUSES or last:
                    return response
                await response.aclose()
            await asyncio.sleep(self._backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _status_error(self, status: int, content: bytes) -> LlamosError:
        message, type_, code, param = _parse_error(content)
        if self._secret:
            message = message.replace(self._secret, "***")
        message = f"upstream {self.name}: {message}"
        if status in (401, 403):
            # Our provider credentials failed; the client's key was fine, so this is ours: 502.
            return UpstreamError(f"upstream {self.name} rejected the gateway's credentials",
                                 code="upstream_auth_failed")
        if status >= 500:
            return UpstreamError(message)
        return UpstreamStatusError(message, status=status, type_=type_ or "invalid_request_error",
                                   code=code, param=param)


def _parse_error(content: bytes) -> tuple[str, str | None, str | None, str | None]:
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content[:200].decode("utf-8", "replace") or "no body", None, None, None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return (str(err.get("message") or "error"), _opt(err.get("type")), _opt(err.get("code")),
                _opt(err.get("param")))
    if isinstance(err, str):
        return err, None, None, None
    return str(data)[:200], None, None, None


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def build_http_client(*, max_connections: int, timeout_s: float, connect_timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections),
        follow_redirects=False,
    )
