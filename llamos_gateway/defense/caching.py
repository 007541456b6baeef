"""`CachingPurifier`: a purifier decorator that remembers results in a shared cache.

The key is the SHA-256 of (text without its outer whitespace, the inner purifier's
`cache_identity` (backend, defense model, prompt version hash), task hint). The inner
purifier sees the stripped text; the outer whitespace is put back and edit offsets are
shifted, so "  hi" and "hi\n" share one entry and one defense call. Identical texts arriving
together cause one inner call across all workers (`ResultCache.once`). Results read from the
cache are marked `cache_hit=True` and spent no defense tokens. The defense mode is not part
of the key: shadow-mode results are cached and reused.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import orjson

from llamos_gateway.defense.codec import decode, decode_edit, decode_protected, encode
from llamos_gateway.defense.decorator import PurifierDecorator
from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult

_FORMAT = "v2"


class ResultCache(Protocol):
    """What the decorator needs of a cache (`storage.Cache` is one): single flight."""

    async def once(self, key: str, compute: Callable[[], Awaitable[bytes]]) -> tuple[bytes, bool]:
        """The value for `key`, computed by at most one caller across all workers while the
        others wait for it. The bool is True when it came from the cache."""
        ...


class CachingPurifier(PurifierDecorator):
    def __init__(self, inner: Purifier, cache: ResultCache) -> None:
        super().__init__(inner)
        self._cache = cache
        self._identity = inner.cache_identity

    def key(self, core: str, task: str | None) -> str:
        material = "\x1f".join((_FORMAT, self._identity, task or "", core))
        return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        started = time.perf_counter()
        text = request.text
        core = text.strip()
        if not core:
            return await self.inner.purify(request)

        async def compute() -> bytes:
            inner = request if core == text else PurifyRequest(core, request.task, request.role)
            return orjson.dumps(encode(await self.inner.purify(inner)), default=str)

        raw, hit = await self._cache.once(self.key(core, request.task), compute)
        return restore(raw, text=text, hit=hit, started=started)


def restore(raw: bytes, *, text: str | None = None, hit: bool = False,
            started: float = 0.0) -> PurifyResult:
    """A stored result; for `text` (the stripped text plus outer whitespace) when given, with
    its edits shifted. A hit spent no defense tokens and took the time since `started`."""
    data = orjson.loads(raw)
    purified, shift = data["purified"], 0
    original = data["original"]
    if text is not None and text != original:
        shift = len(text) - len(text.lstrip())
        purified = text[:shift] + purified + text[shift + len(original):]
        original = text
    tokens, extra = int(data["defense_tokens"]), dict(data["extra"])
    if hit:
        extra["cached_defense_tokens"] = tokens
        if "prompt_tokens" in extra:  # read by the model once, when it was cached
            extra["cached_prompt_tokens"] = extra.pop("prompt_tokens")
    return decode(data, original=original, purified=purified, cache_hit=hit, extra=extra,
                  edits=tuple(decode_edit(e, shift) for e in data["edits"]),
                  protected=tuple(decode_protected(p, shift) for p in data.get("protected", ())),
                  purify_ms=(time.perf_counter() - started) * 1000.0 if hit
                  else float(data["purify_ms"]),
                  agent_called=bool(data["agent_called"]) and not hit,
                  defense_tokens=0 if hit else tokens)
