"""`llamos audit tail [--follow]`: print the audit trail.

With `redis.url` it reads the shared Redis stream directly. Without it (the Quickstart
defaults) the trail lives in the gateway process, so it asks the running gateway over HTTP
(`GET /v1/audit` on server.host:server.port, or `--url`), with an admin key when the gateway
has keys (`--api-key` or LLAMOS_API_KEY).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
import typer

from llamos_gateway.cli._common import ConfigOption, help_when_bare
from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import Settings, load_settings
from llamos_gateway.storage import AuditReader, StoreUnavailable


def register(app: typer.Typer) -> None:
    audit = typer.Typer(help="Read the audit trail of what the defense changed.",
                        invoke_without_command=True, rich_markup_mode=None)
    audit.callback()(help_when_bare)
    audit.command()(tail)
    app.add_typer(audit, name="audit")


def tail(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000,
                                       help="how many of the newest records")] = 20,
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="keep printing new records")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="whole records, one JSON per line")] = False,
    interval_s: Annotated[float, typer.Option(min=0.05, help="poll interval with --follow")] = 1.0,
    url: Annotated[str | None, typer.Option(
        help="read from this gateway's GET /v1/audit [default without redis.url: "
             "http://server.host:server.port]")] = None,
    api_key: Annotated[str | None, typer.Option(
        envvar="LLAMOS_API_KEY", show_envvar=True,
        help="an admin key of that gateway, when it has keys")] = None,
) -> None:
    """Print the newest audit records (oldest first); with --follow, then wait for more.

    Reads Redis when redis.url is set, else the running gateway over HTTP."""
    settings = load_settings(config)
    asyncio.run(_tail(settings, url, api_key, limit, follow, as_json, interval_s))


async def _tail(settings: Settings, url: str | None, api_key: str | None, limit: int,
                follow: bool, as_json: bool, interval_s: float) -> None:
    async with _reader(settings, url, api_key) as (reader, source):
        after = await _print(reader, None, limit, as_json)
        if after is None:
            print(f"llamos: the audit trail at {source} is empty"
                  f"{'; waiting for records' if follow else ''}", file=sys.stderr)
        while follow:
            await asyncio.sleep(interval_s)
            after = await _print(reader, after, 1000, as_json)


@asynccontextmanager
async def _reader(settings: Settings, url: str | None,
                  api_key: str | None) -> AsyncIterator[tuple[AuditReader, str]]:
    if url is None and settings.redis.url:
        from llamos_gateway.storage.redis_audit import RedisStreamSink
        from llamos_gateway.storage.redis_client import RedisClient

        client = RedisClient(settings.redis.model_copy(update={"socket_timeout_s": 5.0}))
        try:
            yield (RedisStreamSink(client, maxlen=settings.audit.stream_maxlen),
                   f"Redis ({settings.redis.key_prefix}audit)")
        finally:
            await client.aclose()
        return
    from llamos_gateway.storage.remote_audit import GatewayAuditReader

    remote = GatewayAuditReader(url or _local_url(settings), api_key=api_key)
    try:
        yield remote, remote.base_url
    finally:
        await remote.aclose()


def _local_url(settings: Settings) -> str:
    """Where `llamos serve` with these settings listens, as a client reaches it."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(
        settings.server.host, settings.server.host)
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.server.port}"


async def _print(reader: AuditReader, after: str | None, limit: int,
                 as_json: bool) -> str | None:
    try:
        rows = await reader.read(after=after, limit=limit)
    except StoreUnavailable as exc:
        raise ConfigError(f"cannot read the audit trail: {exc}") from exc
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
