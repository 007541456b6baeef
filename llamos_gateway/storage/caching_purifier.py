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
from dataclasses import replace
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
        inner_request = replace(request, text=core) if core != text else request

        async def compute() -> bytes:
            return encode(await self.inner.purify(inner_request))

        raw, hit = await self._cache.once(self.key(core, request.task), compute)
        result = decode(raw)
        if hit:
            extra = {**result.extra, "cached_defense_tokens": result.defense_tokens}
            result = replace(result, cache_hit=True, agent_called=False, defense_tokens=0,
                             extra=extra)
        lead = text[: len(text) - len(text.lstrip())]
        if lead or core != text:
            result = rebase(result, text, lead, text[len(lead) + len(core):])
        return result.with_timing(started) if hit else result


def rebase(result: PurifyResult, text: str, lead: str, trail: str) -> PurifyResult:
    """A result for the stripped text turned into one for `text` = lead + core + trail."""
    shift = len(lead)
    edits = tuple(replace(e, start=e.start + shift, end=e.end + shift) for e in result.edits)
    return replace(result, original=text, purified=lead + result.purified + trail, edits=edits)


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


def decode(raw: bytes) -> PurifyResult:
    data = orjson.loads(raw)
    edits = tuple(Edit(int(e["start"]), int(e["end"]), str(e["before"]), str(e["after"]),
                       str(e["rule"])) for e in data["edits"])
    return PurifyResult(
        original=data["original"], purified=data["purified"], backend=data["backend"],
        edits=edits, reasons=tuple(data["reasons"]), suspicious=bool(data["suspicious"]),
        score=float(data["score"]), purify_ms=float(data["purify_ms"]),
        prompt_version=data["prompt_version"], fallback=data["fallback"],
        agent_called=bool(data["agent_called"]), defense_tokens=int(data["defense_tokens"]),
        extra=dict(data["extra"]))
