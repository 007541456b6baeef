"""The upstream seam: how the gateway reaches a target (or defense) model.

`complete` returns the provider's JSON body as bytes, relayed without re-serialising on the
pass-through path. `stream` connects, checks the status (raising a `LlamosError` before any
byte is sent to the client), and returns an async iterator of raw SSE bytes that ends with
`data: [DONE]`. Closing that iterator (`aclose`) closes the upstream request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Endpoint = Literal["chat/completions", "completions", "embeddings", "responses"]


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One request to a model. `body` is the OpenAI-shaped request, `model` already the
    upstream's own name. `raw` is the client's original body bytes when they can be
    forwarded verbatim (nothing was changed), which spares a re-serialisation."""

    endpoint: Endpoint
    body: dict[str, Any]
    request_id: str = ""
    raw: bytes | None = None
    timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class UpstreamReply:
    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Upstream(Protocol):
    name: str

    async def complete(self, call: UpstreamCall) -> UpstreamReply: ...

    async def stream(self, call: UpstreamCall) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...
