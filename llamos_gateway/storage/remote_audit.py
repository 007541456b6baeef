"""The audit trail of a running gateway, read over its API (`GET /v1/audit`).

Without `redis.url` the trail lives in the gateway process's memory, so `llamos audit tail`
asks the gateway for it; with Redis it reads the stream directly (`redis_audit`). Both answer
`read(after=, limit=)` with (cursor, record JSON) pairs, oldest first.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from llamos_gateway.storage import StoreUnavailable


class GatewayAuditReader:
    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                         timeout=httpx.Timeout(timeout_s), transport=transport)

    async def read(self, *, after: str | None, limit: int) -> list[tuple[str, bytes]]:
        params: dict[str, Any] = {"limit": limit, **({"after": after} if after else {})}
        try:
            reply = await self._client.get("/v1/audit", params=params)
        except httpx.ConnectError as exc:
            raise StoreUnavailable(f"no gateway answers at {self.base_url} (is `llamos serve` "
                                   f"running? point at it with --url)") from exc
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"the gateway at {self.base_url} did not answer: "
                                   f"{type(exc).__name__}") from exc
        if reply.status_code != 200:
            raise StoreUnavailable(self._refusal(reply))
        try:
            body = reply.json()
            rows = [(str(item.pop("cursor")), orjson.dumps(item)) for item in body["data"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreUnavailable(f"{self.base_url}/v1/audit did not answer with an audit "
                                   f"list (is this a llamos gateway?)") from exc
        return rows

    def _refusal(self, reply: httpx.Response) -> str:
        try:
            message = str(reply.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = reply.reason_phrase
        hint = " (set LLAMOS_API_KEY or --api-key to an admin key)" if reply.status_code in (
            401, 403) else ""
        return f"the gateway at {self.base_url} answered {reply.status_code}: {message}{hint}"

    async def aclose(self) -> None:
        await self._client.aclose()
