"""Structured logs: JSON lines on stderr (plain text on a terminal), one INFO line per request.

`configure_logging` is called by the entry points (`llamos serve`, `app_from_env` in each
uvicorn worker), never at import. The request line (`RequestLog`, a `RequestObserver`) carries
ids, routes, statuses, timings and defense outcomes: never a prompt, a completion or a key.
Texts are logged only at DEBUG, and only when `logging.log_text` allows it.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

from llamos_gateway.settings import LoggingSettings
from llamos_gateway.trace import Trace

REQUEST_LOGGER = "llamos.request"
_HANDLER_NAME = "llamos"
# uvicorn adds `color_message` (the message with ANSI colours) to its lifecycle lines
_STD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode("utf-8")


def _iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def configure_logging(settings: LoggingSettings) -> None:
    """Install the gateway's handler on the root logger (idempotent: replaces its own)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    if json_lines(settings, sys.stderr):
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(settings.level)
    # Third-party clients are chatty at DEBUG and may echo request bodies: keep them quieter.
    for noisy in ("httpx", "httpcore", "LiteLLM", "litellm"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def json_lines(settings: LoggingSettings, stream: TextIO) -> bool:
    """`logging.json_lines`: true or false, or auto: plain text for a person at a terminal,
    JSON lines for everything else (a pipe, a file, a container's log collector)."""
    if settings.json_lines == "auto":
        return not stream.isatty()
    return settings.json_lines is True


def request_fields(trace: Trace) -> dict[str, Any]:
    """What the INFO line says about a request. No texts, no keys."""
    fields: dict[str, Any] = {
        "request_id": trace.request_id, "route": trace.route, "model": trace.model,
        "key_id": trace.key_id, "status": trace.status, "error_code": trace.error_code,
        "stream": trace.stream, "upstream_path": trace.upstream_path,
        "total_ms": _ms(trace.total_ms), "upstream_ms": _ms(trace.upstream_ms),
        "rate_limited": trace.rate_limited,
    }
    outcome = trace.defense
    if outcome is not None:
        fields["defense"] = {
            "mode": outcome.mode.value, "backend": outcome.backend, "texts": len(outcome.results),
            "changed": outcome.changed, "cache_hit": outcome.cache_hit,
            "fail_open": outcome.fail_open, "reasons": list(outcome.reasons),
            "purify_ms": _ms(outcome.purify_ms), "prompt_version": outcome.prompt_version,
            "score": round(outcome.score, 4), "verdict": outcome.verdict.value,
            "action": outcome.policy.action.value,
        }
    return fields


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class RequestLog:
    """Writes the per-request line at INFO (WARNING for 5xx); texts at DEBUG when allowed."""

    def __init__(self, *, log_text: bool = False, logger: logging.Logger | None = None) -> None:
        self._log = logger or logging.getLogger(REQUEST_LOGGER)
        self._log_text = log_text

    def observe(self, trace: Trace) -> None:
        level = logging.WARNING if trace.status >= 500 else logging.INFO
        if self._log.isEnabledFor(level):
            self._log.log(level, "request", extra=request_fields(trace))
        if self._log_text and trace.defense is not None and self._log.isEnabledFor(logging.DEBUG):
            texts = [{"original": r.original, "purified": r.purified, "edits": len(r.edits)}
                     for r in trace.defense.results]
            self._log.debug("request texts", extra={"request_id": trace.request_id,
                                                    "texts": texts})
