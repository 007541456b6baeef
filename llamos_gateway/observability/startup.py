"""What `llamos serve` says about the gateway itself: one line at start-up (where it listens,
which models, which defense backend and mode, whether Redis holds the shared state, whether
clients need a key) and one when it has stopped. Both go through the configured logger, so
they are JSON lines like the rest (plain text on a terminal), with the facts also as fields.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from llamos_gateway import __version__, backends
from llamos_gateway.routing import plan_routes
from llamos_gateway.settings import Settings

SERVE_LOGGER = "llamos.serve"


def startup_fields(settings: Settings) -> dict[str, Any]:
    server, defense = settings.server, settings.defense
    return {
        "version": __version__,
        "url": f"http://{_host(server.host)}:{server.port}/v1",
        "workers": server.workers,
        "models": [{"name": p.alias, "path": p.path, "upstream_model": p.upstream_model}
                   for p in plan_routes(settings)],
        "defense": {"backend": settings.defense_backend, "mode": defense.mode.value,
                    "model": defense.model, "fail_policy": defense.fail_policy},
        "redis": _redis_address(settings.redis.url),
        "auth_keys": len(settings.auth.api_keys),
    }


def startup_line(fields: dict[str, Any]) -> str:
    workers = fields["workers"]
    models = ", ".join(f"{m['name']} ({m['path']})" for m in fields["models"])
    d = fields["defense"]
    uses_model = backends.get(d["backend"]).needs_model
    agent = f" with {d['model']}" if d["model"] and uses_model else ""
    redis = (f"{fields['redis']} (shared cache, rate limits, audit)" if fields["redis"]
             else "none (state in memory, this process only)")
    keys = fields["auth_keys"]
    auth = f"{keys} key{'s' if keys != 1 else ''}" if keys else "none (any client)"
    return (f"llamos-gateway {fields['version']} on {fields['url']} "
            f"({workers} worker{'s' if workers != 1 else ''}) | models: {models} | "
            f"defense: {d['backend']}{agent}, {d['mode']}, fail-{d['fail_policy']} | "
            f"redis: {redis} | auth: {auth}")


def log_startup(settings: Settings, log: logging.Logger | None = None) -> None:
    fields = startup_fields(settings)
    (log or logging.getLogger(SERVE_LOGGER)).info(
        startup_line(fields), extra={"event": "start", **fields})


def log_stopped(uptime_s: float, log: logging.Logger | None = None) -> None:
    (log or logging.getLogger(SERVE_LOGGER)).info(
        f"llamos-gateway stopped after {uptime_s:.1f} s",
        extra={"event": "stop", "uptime_s": round(uptime_s, 3)})


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _redis_address(url: str | None) -> str | None:
    """host:port/db, never the password a URL may carry."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    db = parts.path.strip("/") or "0"
    return f"{parts.hostname}:{parts.port or 6379}/{db}"
