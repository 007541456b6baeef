"""`CachingPurifier`: a purifier decorator that remembers results in a shared `Cache`.

The key is the SHA-256 of (text without its outer whitespace, the inner purifier's
`cache_identity` (backend, defense model, prompt version hash; its `name` when it has none),
task hint). The inner purifier sees the stripped text; the outer whitespace is put back and
edit offsets are shifted, so "  hi" and "hi\n" share one entry and one defense call.
Identical texts arriving together cause one inner call across all workers (`Cache.once`).
Results read from the cache are marked `cache_hit=True` and spent no defense tokens.
The defense mode is not part of the key: shadow-mode results are cached and reused.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from llamos_gateway.purifier import Edit, Purifier, PurifyRequest, PurifyResult
from llamos_gateway.storage import Cache

_FORMAT = "v1"


class CachingPurifier:
    def __init__(self, inner: Purifier, cache: Cache) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache = cache
        self._identity = str(getattr(inner, "cache_identity", inner.name))

    @property
    def cache_identity(self) -> str:
        return self._identity

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
            return encode(await self.inner.purify(inner))

        raw, hit = await self._cache.once(self.key(core, request.task), compute)
        return decode(raw, text=text, hit=hit, started=started)


def encode(result: PurifyResult) -> bytes:
    data: dict[str, Any] = {
        "original": result.original, "purified": result.purified, "backend": result.backend,
        "edits": [e.as_dict() for e in result.edits], "reasons": list(result.reasons),
        "suspicious": result.suspicious, "score": result.score, "purify_ms": result.purify_ms,
        "prompt_version": result.prompt_version, "fallback": result.fallback,
        "agent_called": result.agent_called, "defense_tokens": result.defense_tokens,
        "extra": result.extra,
    }
    return orjson.dumps(data, default=str)


def decode(raw: bytes, *, text: str | None = None, hit: bool = False,
           started: float = 0.0) -> PurifyResult:
    """A stored result; for `text` (the stripped text plus outer whitespace) when given, with
    its edits shifted. A hit spent no defense tokens and took the time since `started`.
    One construction, no `dataclasses.replace`: this is the cache-hit path."""
    data = orjson.loads(raw)
    purified, shift = data["purified"], 0
    original = data["original"]
    if text is not None and text != original:
        shift = len(text) - len(text.lstrip())
        purified = text[:shift] + purified + text[shift + len(original):]
        original = text
    edits = tuple(Edit(int(e["start"]) + shift, int(e["end"]) + shift, str(e["before"]),
                       str(e["after"]), str(e["rule"])) for e in data["edits"])
    tokens, extra = int(data["defense_tokens"]), dict(data["extra"])
    if hit:
        extra["cached_defense_tokens"] = tokens
    return PurifyResult(
        original=original, purified=purified, backend=data["backend"], edits=edits,
        reasons=tuple(data["reasons"]), suspicious=bool(data["suspicious"]),
        score=float(data["score"]),
        purify_ms=(time.perf_counter() - started) * 1000.0 if hit else float(data["purify_ms"]),
        prompt_version=data["prompt_version"], fallback=data["fallback"],
        cache_hit=hit, agent_called=bool(data["agent_called"]) and not hit,
        defense_tokens=0 if hit else tokens, extra=extra)
