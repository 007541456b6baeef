"""`LlamaCppUpstream` with several copies of a model: calls run at once, one per copy, and a
copy is never used by two calls at the same time (a scripted model, no llama.cpp)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from llamos_gateway.localllm import ChatOutput
from llamos_gateway.upstream import UpstreamCall
from llamos_gateway.upstream.llamacpp import LlamaCppUpstream


class SlowModel:
    """Answers after `delay` seconds; counts the calls in flight, over all copies and its own."""

    lock = threading.Lock()
    in_flight = 0
    peak = 0

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.busy = False
        self.closed = False

    def chat(self, messages: Any, **options: Any) -> ChatOutput:
        assert not self.busy, "one copy answered two calls at once"
        self.busy = True
        with SlowModel.lock:
            SlowModel.in_flight += 1
            SlowModel.peak = max(SlowModel.peak, SlowModel.in_flight)
        time.sleep(self.delay)
        with SlowModel.lock:
            SlowModel.in_flight -= 1
        self.busy = False
        return ChatOutput(text=str(id(self)), prompt_tokens=3, completion_tokens=1,
                          finish_reason="stop")

    def close(self) -> None:
        self.closed = True


def chat() -> UpstreamCall:
    return UpstreamCall("chat/completions", {"model": "m", "messages": [
        {"role": "user", "content": "hi"}]}, timeout_s=10)


@pytest.mark.parametrize("instances", [1, 2, 3])
async def test_calls_spread_over_the_copies(instances: int, tmp_path: Path) -> None:
    SlowModel.in_flight = SlowModel.peak = 0
    opened: list[SlowModel] = []

    def open_model(path: Path) -> Any:
        opened.append(SlowModel(0.05))
        return opened[-1]

    upstream = LlamaCppUpstream("m", tmp_path / "m.gguf", open_model=open_model,
                                instances=instances)
    answers: list[str] = []

    async def one() -> None:
        reply = await upstream.complete(chat())
        answers.append(orjson.loads(reply.content)["choices"][0]["message"]["content"])

    async with anyio.create_task_group() as tasks:
        for _ in range(6):
            tasks.start_soon(one)
    assert len(answers) == 6 and SlowModel.peak == instances
    assert len(opened) == instances == len(set(answers))  # each copy opened once, each used
    await upstream.aclose()
    assert not any(m.closed for m in opened)  # models from open_model belong to the caller


def test_cores_are_split_between_copies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    class Recorder:
        def __init__(self, path: Path, **options: Any) -> None:
            seen.update(options)

    monkeypatch.setattr("llamos_gateway.upstream.llamacpp.LocalModel", Recorder)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    LlamaCppUpstream("m", tmp_path / "m.gguf", instances=2)._loaded(1)
    assert seen["n_threads"] == 2
    LlamaCppUpstream("m", tmp_path / "m.gguf", instances=2, n_threads=3)._loaded(0)
    assert seen["n_threads"] == 3
    with pytest.raises(ValueError):
        LlamaCppUpstream("m", tmp_path / "m.gguf", instances=0)
