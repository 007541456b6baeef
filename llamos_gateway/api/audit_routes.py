"""`GET /v1/audit?limit=&after=`: the audit trail, oldest first after a cursor, else the newest.
Admin keys only.

A page holds at most `limit` records and ends before `audit.page_max_bytes` of them (at least
one record, itself at most `audit.max_record_bytes`); `truncated: true` says the byte budget
ended it, and `next_after` continues either way."""

from __future__ import annotations

import contextlib

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from llamos_gateway.api.openai_routes import authenticate, components
from llamos_gateway.auth import Authenticator
from llamos_gateway.errors import InvalidRequest, LlamosError, NotFound
from llamos_gateway.storage import StoreUnavailable
from llamos_gateway.storage.memory import parse_cursor

router = APIRouter()
MAX_LIMIT = 1000


class AuditUnavailable(LlamosError):
    status = 503
    type = "api_error"
    code = "audit_unavailable"


@router.get("/v1/audit")
async def read_audit(request: Request) -> Response:
    Authenticator.require_admin(authenticate(request))
    trail = components(request).audit
    if trail is None:
        raise NotFound("the audit trail is disabled (audit.enabled: false)")
    limit = _limit(request.query_params.get("limit"))
    after = request.query_params.get("after") or None
    if after is not None:
        try:
            parse_cursor(after)
        except ValueError:
            raise InvalidRequest("after must be a cursor like 1700000000000-0",
                                 param="after") from None
    with contextlib.suppress(StoreUnavailable):
        await trail.flush()  # what this worker has buffered becomes visible
    try:
        rows = await trail.sink.read(after=after, limit=limit)
    except StoreUnavailable as exc:
        raise AuditUnavailable("the audit store (Redis) is unavailable; try again shortly",
                               headers={"retry-after": "2"}) from exc
    page = _page(rows, components(request).settings.audit.page_max_bytes)
    data = [{"cursor": cursor, **orjson.loads(raw)} for cursor, raw in page]
    body = {"object": "list", "data": data, "next_after": page[-1][0] if page else after,
            "truncated": len(page) < len(rows), "pending": trail.pending}
    return Response(orjson.dumps(body), media_type="application/json")


def _page(rows: list[tuple[str, bytes]], max_bytes: int) -> list[tuple[str, bytes]]:
    """The first rows that fit in `max_bytes` (always the first one)."""
    size = 0
    for count, (cursor, raw) in enumerate(rows):
        size += len(raw) + len(cursor) + 16  # the cursor field and the separators
        if size > max_bytes and count > 0:
            return rows[:count]
    return rows


def _limit(value: str | None) -> int:
    if value is None:
        return 100
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses
    if not (value.isascii() and value.isdigit() and len(value) <= 6) or \
            not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be an integer from 1 to {MAX_LIMIT}", param="limit")
    return int(value)
