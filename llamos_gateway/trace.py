"""The record of one request as it moves through the gateway.

The API layer opens a `Trace`, the gateway fills it in, and when the response (or the
stream) is finished every `RequestObserver` sees it once: logs, metrics and the audit
trail all read from here, so they always agree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llamos_gateway.defense import DefenseOutcome


@dataclass(slots=True)
class Trace:
    request_id: str
    route: str
    started: float = field(default_factory=time.perf_counter)
    wall_time: float = field(default_factory=time.time)
    key_id: str | None = None
    model: str | None = None
    upstream_path: str | None = None
    stream: bool = False
    status: int = 0
    error_code: str | None = None
    defense: DefenseOutcome | None = None
    upstream_ms: float | None = None
    total_ms: float | None = None
    rate_limited: bool = False

    def finish(self, status: int, error_code: str | None = None) -> None:
        if self.total_ms is None:
            self.status = status
            self.error_code = error_code
            self.total_ms = (time.perf_counter() - self.started) * 1000.0


class RequestObserver(Protocol):
    """Sees every finished request exactly once. Must be cheap and must not raise."""

    def observe(self, trace: Trace) -> None: ...
