"""Graceful shutdown inside a worker: what happens to open requests after SIGTERM.

uvicorn stops accepting at once and waits for open requests; `ShutdownNotice` (one per app,
opened by the lifespan) hooks the same stop signal and, `server.shutdown_grace_s` after it,
*cuts* what is still open before uvicorn would cancel it (uvicorn's own timeout is the grace
plus `CUT_MARGIN_S`):

- a stream ends with an SSE error event `server_shutting_down` (no `[DONE]`), its upstream
  request closed, and is logged with status 503 and that code;
- a request still waiting for its answer gets 503 `server_shutting_down`.

So nothing is cancelled under the application's feet: no "Exception in ASGI application"
traceback, and every cut request has its request log line. Streams register the per-chunk
timeout they wait under (`track`); the cut reschedules those to fire now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from llamos_gateway.errors import LlamosError

log = logging.getLogger(__name__)

CUT_MARGIN_S = 1.0  # uvicorn's graceful timeout past the grace: the cut happens first
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShuttingDown(LlamosError):
    status = 503
    type = "api_error"
    code = "server_shutting_down"


class ShutdownNotice:
    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.cut_at: float | None = None  # loop time, once a stop signal arrived
        self._timeouts: set[asyncio.Timeout] = set()
        self._on_cut: set[Callable[[], object]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.contextmanager
    def hooked(self) -> Iterator[ShutdownNotice]:
        """Hook SIGTERM/SIGINT (the server's own handlers still run after ours) while the app
        runs. Off the main thread (an app served in a test thread) nothing is hooked."""
        self._loop = asyncio.get_running_loop()
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in _SIGNALS}

        def on_signal(sig: int, frame: FrameType | None) -> None:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self.begin)
            chained = previous[sig]
            if callable(chained):
                chained(sig, frame)

        for sig in _SIGNALS:
            signal.signal(sig, on_signal)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                if signal.getsignal(signum) is on_signal:
                    signal.signal(signum, handler)

    def begin(self) -> None:
        """A stop signal arrived: cut what is still open `grace_s` from now."""
        if self.cut_at is not None:
            return
        loop = asyncio.get_running_loop()
        self.cut_at = loop.time() + self.grace_s
        log.info("shutting down: requests and streams still open in %gs will be cut",
                 self.grace_s)
        for timeout in self._timeouts:
            timeout.reschedule(self.cut_at)
        loop.call_at(self.cut_at, self._cut)

    @property
    def cutting(self) -> bool:
        return self.cut_at is not None and asyncio.get_running_loop().time() >= self.cut_at

    def _cut(self) -> None:
        if self._timeouts or self._on_cut:
            log.warning("shutdown grace of %gs over: cutting %d open streams and %d requests",
                        self.grace_s, len(self._timeouts), len(self._on_cut))
        for callback in list(self._on_cut):
            callback()

    def track(self, timeout: asyncio.Timeout) -> Callable[[], None]:
        """A stream's wait for its next chunk; it fires at the cut. Returns the untrack."""
        self._timeouts.add(timeout)
        return lambda: self._timeouts.discard(timeout)

    def on_cut(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call `callback` at the cut (a request waiting for its answer). Returns the undo."""
        self._on_cut.add(callback)
        return lambda: self._on_cut.discard(callback)


def notice_of(state: Any) -> ShutdownNotice | None:
    """The app's notice from `request.state` (None when the lifespan did not open one)."""
    notice = getattr(state, "shutdown", None)
    return notice if isinstance(notice, ShutdownNotice) else None
