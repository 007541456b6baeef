"""The agent stack as the composition root builds it, for tests that serve the gateway.

`llamos_components(defense_url)` is a components factory for `create_app`: it opens an
httpx client to the fake defense model, builds `SegmentingPurifier(LLMPurifier(...))` from
the settings, and records every finished request (`Recorder.traces`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from llamos_gateway.agent import DriftLimits, LLMPurifier, SegmentingPurifier, load_prompts
from llamos_gateway.purifier import Purifier
from llamos_gateway.settings import Settings
from llamos_gateway.trace import Trace
from llamos_gateway.upstream import Upstream
from llamos_gateway.upstream.passthrough import HttpUpstream, build_http_client
from llamos_gateway.wiring import Components, open_components


class Recorder:
    def __init__(self) -> None:
        self.traces: list[Trace] = []

    def observe(self, trace: Trace) -> None:
        self.traces.append(trace)


def agent_for(settings: Settings, upstream: Upstream, model: str) -> Purifier:
    """What wiring builds for `defense.backend: llamos`."""
    d = settings.defense
    agent = LLMPurifier(
        upstream=upstream, model=model,
        prompts=load_prompts(d.prompts_dir / "llamos", examples=d.examples),
        task=d.task, limits=DriftLimits(d.max_edit_ratio, d.max_length_ratio),
        timeout_s=d.timeout_s, max_retries=d.max_retries,
        idempotence_check=d.idempotence_check,
        drift_policy="reject" if d.fail_policy == "closed" else "forward")
    return SegmentingPurifier(agent, max_chars=d.max_chars, mode=d.long_text,
                              concurrency=d.concurrency)


def llamos_components(
        defense_url: str, recorder: Recorder | None = None,
        wrap: Callable[[Purifier], Purifier] | None = None,
) -> Callable[[Settings], AbstractAsyncContextManager[Components]]:
    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[Components]:
        async with build_http_client(max_connections=64, timeout_s=30.0,
                                     connect_timeout_s=5.0) as client:
            upstream = HttpUpstream(name="defense", api_base=defense_url, client=client,
                                    max_retries=0)
            purifier = agent_for(settings, upstream, "fake-model")
            if wrap is not None:
                purifier = wrap(purifier)
            async with open_components(settings, purifier=purifier) as built:
                if recorder is not None:
                    built.observers.append(recorder)
                yield built

    return factory


def settings_kw(**defense: Any) -> dict[str, Any]:
    return {"defense": {"backend": "llamos", "timeout_s": 2.0, "max_retries": 1, **defense},
            "limits": {"max_retries": 0}}
