"""Fast path for OpenAI-compatible upstreams (vLLM, Ollama, LM Studio, OpenAI itself).

Forwards the request body through one pooled aiohttp session and relays the response bytes
as they are: no re-serialising of the reply. A 200 body must look like a JSON object (braces
at both ends; otherwise it must parse as one) and a stream must be server-sent events that
end with `[DONE]` (checked line by line, structurally, in `sse.py`), else the client gets 502
`upstream_invalid_response` (an SSE error event once a stream has started). Errors become
`LlamosError`s; every field taken from a provider's error, and every relayed byte, goes
through the `Redactor` first, so the provider key never reaches a client or a log line.

Why aiohttp and not httpx here: measured on the 2-core build machine against the same fake
upstream, an httpx.AsyncClient spent 1.2 ms of CPU per request at concurrency 1 and 3.1 ms at
concurrency 32 (its connection pool degrades with concurrency); aiohttp spent 0.28 and 0.21 ms.
On the request path that difference is the whole latency budget. This module is the only one
that talks to aiohttp (the composition root only creates the session, with
`build_http_client`, and hands it over).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
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
from llamos_gateway.upstream.redaction import Redactor
from llamos_gateway.upstream.sse import EventStreamCheck

_RETRY_STATUSES = frozenset({502, 503, 504})
_RELAYED_HEADERS = ("openai-processing-ms", "x-ratelimit-remaining-requests",
                    "x-ratelimit-remaining-tokens", "retry-after")


class HttpUpstream:
    """One OpenAI-compatible base URL. The client is shared by every alias that points there."""

    def __init__(self, *, name: str, api_base: str, client: aiohttp.ClientSession,
                 api_key: str | None = None, max_retries: int = 2,
                 timeout_s: float | None = None, extra_headers: dict[str, str] | None = None,
                 backoff_s: float = 0.05, request_id_header: str | None = None) -> None:
        self.name = name
        self._base = api_base.rstrip("/")
        self._client = client
        self._redact = Redactor([api_key, *(extra_headers or {}).values()])
        self._retries = max_retries
        self._timeout = timeout_s
        self._backoff = backoff_s
        self._headers = {"content-type": "application/json", **(extra_headers or {})}
        # The request id is ours, not the upstream's: sent only under a header the model's
        # config names (llama-cpp-python's server answers 400 to an x-request-id that is not
        # a UUID, for one).
        self._request_id_header = request_id_header
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"

    @property
    def base_url(self) -> str:
        return self._base

    async def complete(self, call: UpstreamCall) -> UpstreamReply:
        timeout_s = call.timeout_s or self._timeout
        try:
            async with asyncio.timeout(timeout_s):  # the whole call: see upstream.deadline
                response = await self._send(call)
                try:
                    content = await response.read()
                finally:
                    response.release()
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.name} did not answer within "
                                  f"{timeout_s:g}s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"upstream {self.name} failed: {type(exc).__name__}") from exc
        if response.status >= 400:
            raise self._status_error(response.status, content)
        _check_json(self.name, content)
        headers = {h: response.headers[h] for h in _RELAYED_HEADERS if h in response.headers}
        return UpstreamReply(status=response.status, content=self._redact.data(content),
                             headers=headers)

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]:
        timeout_s = call.timeout_s or self._timeout
        first_by = deadline_after(timeout_s)
        try:
            async with asyncio.timeout_at(first_by):
                response = await self._send(call)
                if response.status >= 400:
                    try:
                        content = await response.read()
                    finally:
                        response.release()
                    raise self._status_error(response.status, content)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.name} did not answer within "
                                  f"{timeout_s:g}s") from exc
        kind = response.headers.get("content-type", "")
        if not kind.lower().startswith("text/event-stream"):
            response.close()
            raise UpstreamInvalidResponse(
                f"upstream {self.name} answered a stream request with "
                f"{self._redact.text(kind, 80) or 'no content type'}, not an event stream")
        check = EventStreamCheck(self.name, require_done=call.endpoint != "responses")
        return paced(self._relay(response, check), name=self.name, first_by=first_by,
                     idle_s=timeout_s)

    async def _relay(self, response: aiohttp.ClientResponse,
                     check: EventStreamCheck) -> AsyncIterator[bytes]:
        finished = False
        try:
            async for chunk in response.content.iter_any():
                lines = check.feed(chunk)
                if lines:
                    yield self._redact.data(lines)
                if check.error is not None:
                    raise check.error
            rest = check.close()
            if rest:
                yield self._redact.data(rest)
            finished = True
        except TimeoutError as exc:
            raise UpstreamTimeout(f"upstream {self.name} timed out mid-stream") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"upstream {self.name} stream broke: {type(exc).__name__}") from exc
        finally:
            # an unfinished stream (client gone, error) closes the connection, which tells the
            # upstream to stop generating; a finished one goes back to the pool
            if finished:
                response.release()
            else:
                response.close()

    async def aclose(self) -> None:
        """The shared client is closed by whoever built it (the composition root)."""

    async def _send(self, call: UpstreamCall) -> aiohttp.ClientResponse:
        content = call.raw if call.raw is not None else orjson.dumps(call.body)
        timeout_s = call.timeout_s or self._timeout
        kwargs: dict[str, Any] = {"data": content, "headers": self._headers}
        if timeout_s is not None:
            kwargs["timeout"] = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s,
                                                      sock_read=timeout_s)
        if call.request_id and self._request_id_header:
            kwargs["headers"] = {**self._headers, self._request_id_header: call.request_id}
        url = f"{self._base}/{call.endpoint}"
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = await self._client.post(url, **kwargs)
            except aiohttp.ClientConnectorError as exc:  # nothing was sent: safe to retry
                if last:
                    raise UpstreamError(
                        f"upstream {self.name} unreachable: {type(exc).__name__}") from exc
            except TimeoutError as exc:
                raise UpstreamTimeout(f"upstream {self.name} timed out") from exc
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # reset or closed before any byte of a reply: as retryable as a 502
                if last:
                    raise UpstreamError(
                        f"upstream {self.name} failed: {type(exc).__name__}") from exc
            except aiohttp.ClientError as exc:
                raise UpstreamError(f"upstream {self.name} failed: {type(exc).__name__}") from exc
            else:
                if response.status not in _RETRY_STATUSES or last:
                    return response
                response.release()
            await asyncio.sleep(self._backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _status_error(self, status: int, content: bytes) -> LlamosError:
        message, type_, code, param = _parse_error(content, self._redact)
        if not content.strip():
            message = f"HTTP {status} with an empty body"
        message = f"upstream {self.name}: {message}"
        if status in (401, 403):
            # Our provider credentials failed; the client's key was fine, so this is ours: 502.
            return UpstreamError(f"upstream {self.name} rejected the gateway's credentials",
                                 code="upstream_auth_failed")
        if status >= 500:
            return UpstreamError(message)
        return UpstreamStatusError(message, status=status, type_=type_ or "invalid_request_error",
                                   code=code, param=param)


def _parse_error(content: bytes,
                 redact: Redactor) -> tuple[str, str | None, str | None, str | None]:
    """message, type, code and param of an upstream's error body, each one redacted."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return _snippet(content, redact) or "no body", None, None, None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return (redact.text(str(err.get("message") or "error")), redact.field(err.get("type")),
                redact.field(err.get("code")), redact.field(err.get("param")))
    if isinstance(err, str):
        return redact.text(err), None, None, None
    return _snippet(content, redact), None, None, None


def _snippet(content: bytes, redact: Redactor) -> str:
    """The start of a body as text: secrets out of the whole body first, then cut."""
    return redact.text(redact.data(content)[:2000].decode("utf-8", "replace"), 200)


def _check_json(name: str, content: bytes) -> None:
    """A 200 body must be a JSON object (what every OpenAI endpoint returns). Braces at both
    ends pass at once: the body is relayed unparsed, and parsing a 1.4 MB embeddings reply
    just to check it took 22 ms. Anything else must parse as an object."""
    if content[:64].lstrip()[:1] == b"{" and content[-64:].rstrip()[-1:] == b"}":
        return
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UpstreamInvalidResponse(
            f"upstream {name} answered 200 with {len(content)} bytes that are not a JSON object")


def build_http_client(*, max_connections: int, timeout_s: float,
                      connect_timeout_s: float) -> aiohttp.ClientSession:
    """The pooled session every pass-through upstream shares. Call inside a running loop."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections, ttl_dns_cache=300),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout_s,
                                      sock_read=timeout_s),
        auto_decompress=True, raise_for_status=False,
    )


async def probe(client: aiohttp.ClientSession, base: str, timeout_s: float = 2.0) -> str | None:
    """None when `base/models` answers at all (any status), else the error's name."""
    try:
        async with client.get(f"{base.rstrip('/')}/models",
                              timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            await response.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return type(exc).__name__
    return None
