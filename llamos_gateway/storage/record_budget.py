"""`fit`: one audit record cut down to a byte budget (`audit.max_record_bytes`).

A record over the budget keeps its shape: every top-level field, then as many of its texts
as fit (`texts_omitted` counts the rest). Each kept text gets an equal share: its original
and purified texts are cut with a marker (`…[cut: N bytes in all]`), and their SHA-256 is
kept so the full text can still be matched; its edits are kept while they fit, each edit's
`before`/`after` cut too (`edits_omitted` counts the rest). A record that still does not fit
(a budget smaller than its metadata) keeps no texts at all.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

MIN_TEXT_BYTES = 512        # below this share a text is omitted rather than cut to nothing
_EDIT_FIELD_BYTES = 120     # `before` / `after` of a kept edit
MIN_EDIT_BYTES = 32         # the smallest an edit's JSON can be
_MARGIN_BYTES = 256         # room for the markers and counters added while cutting


def fit(data: dict[str, Any], max_bytes: int) -> bytes:
    """`data` (an `AuditRecord` as JSON) serialised within `max_bytes` where possible."""
    raw = orjson.dumps(data)
    if len(raw) <= max_bytes:
        return raw
    texts: list[dict[str, Any]] = data.get("texts", [])
    omitted = int(data.get("texts_omitted", 0))
    base = len(orjson.dumps({**data, "texts": []}))
    budget = max_bytes - base - _MARGIN_BYTES
    keep = min(len(texts), max(0, budget // MIN_TEXT_BYTES))
    while keep > 0:
        share = budget // keep
        cut = [_cut_text(t, share) for t in texts[:keep]]
        raw = orjson.dumps({**data, "texts": cut,
                             "texts_omitted": omitted + len(texts) - keep})
        if len(raw) <= max_bytes:
            return raw
        budget = budget * 3 // 4  # escapes made the JSON longer than counted: try smaller
        keep = min(keep, max(0, budget // MIN_TEXT_BYTES))
    return orjson.dumps({**data, "texts": [], "texts_omitted": omitted + len(texts)})


def _cut_text(text: dict[str, Any], share: int) -> dict[str, Any]:
    out = dict(text)
    strings = [k for k in ("original", "purified") if isinstance(text.get(k), str)]
    string_share = share * 2 // 5 if strings else 0
    for key in strings:
        value: str = text[key]
        cut = cut_string(value, string_share)
        if cut != value:
            out[key] = cut
            out[f"{key}_sha256"] = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
            out["truncated"] = True
    edits, room = [], share - string_share * len(strings) - 64
    for edit in text.get("edits", []):
        small = {k: cut_string(v, _EDIT_FIELD_BYTES) if k in ("before", "after") else v
                 for k, v in edit.items()}
        size = len(orjson.dumps(small)) + 1
        if size > room:
            break
        room -= size
        edits.append(small)
    if len(edits) < len(text.get("edits", [])):
        out["edits"] = edits
        out["edits_omitted"] = int(text.get("edits_omitted", 0)) + len(text["edits"]) - len(edits)
        out["truncated"] = True
    return out


def cut_string(value: Any, max_bytes: int) -> Any:
    """`value` cut to about `max_bytes` of UTF-8 with a marker saying how long it was."""
    if not isinstance(value, str):
        return value
    encoded = value.encode("utf-8", "replace")
    if len(encoded) <= max_bytes:
        return value
    head = encoded[:max(0, max_bytes - 40)].decode("utf-8", "ignore")
    return f"{head}…[cut: {len(encoded)} bytes in all]"
