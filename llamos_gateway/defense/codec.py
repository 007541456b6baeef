"""`PurifyResult` as JSON: the one encoder and decoder.

`encode`/`decode` are the complete form (every field), used by the purification cache.
`public` is the form users see, derived from it: `llamos purify --json` prints it, and
`POST /v1/purify` and the audit trail pick their fields from it.
"""

from __future__ import annotations

from typing import Any

from llamos_gateway.defense.protocol import Edit, ProtectedSpan, PurifyResult


def encode(result: PurifyResult) -> dict[str, Any]:
    """Every field of `result` (and `changed`), JSON-ready, in the order users see them."""
    return {
        "original": result.original, "purified": result.purified, "changed": result.changed,
        "suspicious": result.suspicious, "score": result.score, "backend": result.backend,
        "edits": [e.as_dict() for e in result.edits],
        "protected": [p.as_dict() for p in result.protected], "reasons": list(result.reasons),
        "fallback": result.fallback, "cache_hit": result.cache_hit,
        "agent_called": result.agent_called, "prompt_version": result.prompt_version,
        "purify_ms": result.purify_ms, "defense_tokens": result.defense_tokens,
        "extra": result.extra,
    }


def decode(data: dict[str, Any], **override: Any) -> PurifyResult:
    """The inverse of `encode`; `override` replaces fields (one construction, no `replace`:
    this is the cache-hit path)."""
    edits = override.pop("edits", None)
    fields: dict[str, Any] = {
        "original": data["original"], "purified": data["purified"], "backend": data["backend"],
        "edits": tuple(decode_edit(e) for e in data["edits"]) if edits is None else edits,
        "reasons": tuple(data["reasons"]), "suspicious": bool(data["suspicious"]),
        "score": float(data["score"]), "purify_ms": float(data["purify_ms"]),
        "prompt_version": data["prompt_version"], "fallback": data["fallback"],
        "cache_hit": bool(data.get("cache_hit", False)),
        "agent_called": bool(data["agent_called"]), "defense_tokens": int(data["defense_tokens"]),
        "protected": tuple(decode_protected(p) for p in data.get("protected", ())),
        "extra": dict(data["extra"]),
    }
    fields.update(override)
    return PurifyResult(**fields)


def decode_edit(data: dict[str, Any], shift: int = 0) -> Edit:
    return Edit(int(data["start"]) + shift, int(data["end"]) + shift, str(data["before"]),
                str(data["after"]), str(data["rule"]))


def decode_protected(data: dict[str, Any], shift: int = 0) -> ProtectedSpan:
    return ProtectedSpan(int(data["start"]) + shift, int(data["end"]) + shift, str(data["kind"]))


def public(result: PurifyResult) -> dict[str, Any]:
    """What users see of a result: the complete form less internals, the input as `text`,
    scores and times rounded."""
    rounded = {"score": round(result.score, 4), "purify_ms": round(result.purify_ms, 3)}
    return {("text" if key == "original" else key): rounded.get(key, value)
            for key, value in encode(result).items() if key != "extra"}
