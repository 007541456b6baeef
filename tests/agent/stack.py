"""The gateway as `wiring.py` builds it for the llamos/tiered backends, for tests that serve
it: `settings_kw(fake_url, ...)` points the defense model at the fake server and
`llamos_components(recorder)` records every finished request (`Recorder.traces`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from llamos_gateway.settings import Settings
from llamos_gateway.trace import Trace
from llamos_gateway.wiring import Components, open_components


class Recorder:
    def __init__(self) -> None:
        self.traces: list[Trace] = []

    def observe(self, trace: Trace) -> None:
        self.traces.append(trace)


def llamos_components(
        recorder: Recorder | None = None,
) -> Callable[[Settings], AbstractAsyncContextManager[Components]]:
    """The production composition root (`open_components`), plus a request recorder."""

    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[Components]:
        async with open_components(settings) as built:
            if recorder is not None:
                built.observers.append(recorder)
            yield built

    return factory


def settings_kw(fake_url: str, backend: str = "llamos", **defense: Any) -> dict[str, Any]:
    """Settings overrides: the agent's defense model is the `defense` alias on the fake server."""
    return {"models": {"defense": {"model": "openai/fake-model", "api_base": fake_url,
                                   "max_retries": 0}},
            "defense": {"backend": backend, "model": "defense", "timeout_s": 2.0,
                        "max_retries": 1, **defense},
            "limits": {"max_retries": 0}}
