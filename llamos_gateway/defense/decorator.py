"""`PurifierDecorator`: the small base every purifier decorator shares (caching, segmenting,
memo). It is a `Purifier` that wraps another: same name, the inner's `cache_identity` unless
it adds what changes results, and `purify` delegating until a subclass overrides it."""

from __future__ import annotations

from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult


class PurifierDecorator:
    def __init__(self, inner: Purifier) -> None:
        self.inner = inner
        self.name = inner.name

    @property
    def cache_identity(self) -> str:
        return self.inner.cache_identity

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        return await self.inner.purify(request)
