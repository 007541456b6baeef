"""`llamos audit tail [--follow]`: print the audit trail from Redis (or the JSONL mirror)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
import typer

from llamos_gateway.cli._common import ConfigOption
from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import Settings, load_settings
from llamos_gateway.storage import AuditSink, StoreUnavailable


def register(app: typer.Typer) -> None:
    audit = typer.Typer(help="Read the audit trail of what the defense changed.",
                        no_args_is_help=True)
    audit.command()(tail)
    app.add_typer(audit, name="audit")


def tail(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000,
                                       help="how many of the newest records")] = 20,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing new records")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="whole records, one JSON per line")] = False,
    interval_s: Annotated[float, typer.Option(help="poll interval with --follow")] = 1.0,
) -> None:
    """Print the newest audit records (oldest first); with --follow, then wait for more."""
    settings = load_settings(config)
    asyncio.run(_tail(settings, limit, follow, as_json, interval_s))


async def _tail(settings: Settings, limit: int, follow: bool, as_json: bool,
                interval_s: float) -> None:
    if not settings.redis.url:
        raise ConfigError("audit tail reads the shared trail: set redis.url (LLAMOS_REDIS__URL); "
                          "the in-memory trail lives inside the gateway process (GET /v1/audit)")
    from llamos_gateway.storage.redis_audit import RedisStreamSink
    from llamos_gateway.storage.redis_client import RedisClient

    client = RedisClient(settings.redis.model_copy(update={"socket_timeout_s": 5.0}))
    try:
        sink = RedisStreamSink(client, maxlen=settings.audit.stream_maxlen)
        after = await _print(sink, None, limit, as_json)
        while follow:
            await asyncio.sleep(interval_s)
            after = await _print(sink, after, 1000, as_json)
    finally:
        await client.aclose()


async def _print(sink: AuditSink, after: str | None, limit: int, as_json: bool) -> str | None:
    try:
        rows = await sink.read(after=after, limit=limit)
    except StoreUnavailable as exc:
        raise ConfigError(f"cannot read the audit stream: {exc}") from exc
    for cursor, raw in rows:
        typer.echo(raw.decode() if as_json else line(cursor, orjson.loads(raw)))
    return rows[-1][0] if rows else after


def line(cursor: str, record: dict[str, Any]) -> str:
    """One human-readable line per record."""
    cache = "hit" if record.get("cache_hit") else "miss"
    reasons = ",".join(record.get("reasons") or []) or "-"
    return (f"{record.get('time')} {cursor} {record.get('id')} key={record.get('key_id')} "
            f"model={record.get('model')} mode={record.get('mode')} "
            f"backend={record.get('backend')} changed={str(record.get('changed')).lower()} "
            f"cache={cache} texts={len(record.get('texts') or [])} reasons={reasons} "
            f"purify_ms={record.get('purify_ms')}")
