"""Opens what an evaluation needs from the gateway: the target and the defense.

An evaluation is an entry point like `llamos serve`: it opens the components once
(`wiring.open_components`, the purification cache off, so that every defended text is
purified and timed) and runs its defenses as backends of their one `Defense`. An LLM target
talks to the in-process `Gateway` (`via="gateway"`), a gateway URL (`via="http://..."`), or,
for `local/sst2-sentiment`, the classifier itself (`via="local"`, the fast default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llamos_gateway import backends
from llamos_gateway.defense import Defense, PassthroughPurifier
from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.datasets import TaskSpec
from llamos_gateway.evaluation.llm_target import GatewayChat, HttpChat, LLMTarget
from llamos_gateway.evaluation.local_model import MODEL_NAME, LocalSentimentClassifier
from llamos_gateway.evaluation.protocols import Classifier
from llamos_gateway.evaluation.query_cache import QueryCache, open_query_cache
from llamos_gateway.settings import Settings

if TYPE_CHECKING:
    from llamos_gateway.wiring import Components

NO_DEFENSE = "none"


@dataclass(frozen=True, slots=True)
class TargetSpec:
    model: str
    via: str = "auto"  # auto | local | gateway | http(s)://...
    api_key: str | None = None
    concurrency: int = 8
    logprobs: bool = False
    cache: bool = True

    @property
    def resolved_via(self) -> str:
        if self.via != "auto":
            return self.via
        return "local" if self.model == MODEL_NAME else "gateway"


def parse_defenses(value: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(",") if n.strip() and n.strip() != NO_DEFENSE)
    for name in names:
        if name not in backends.names():
            raise InvalidRequest(f"unknown defense {name!r} (choose from "
                                 f"{', '.join(backends.names())}, or {NO_DEFENSE})",
                                 param="defense")
    return names


@dataclass(frozen=True, slots=True)
class EvalSession:
    target: Classifier
    components: Components
    names: tuple[str, ...]  # the defense backends to evaluate

    @property
    def defense(self) -> Defense:
        return self.components.defense


@asynccontextmanager
async def open_session(settings: Settings, spec: TargetSpec, task: TaskSpec,
                       defenses: Sequence[str]) -> AsyncIterator[EvalSession]:
    via = spec.resolved_via
    if via == "local" and spec.model != MODEL_NAME:
        raise InvalidRequest(f"only {MODEL_NAME} runs without the gateway; use --via gateway "
                             "or --via URL", param="via")
    if via == "local" and task.labels != LocalSentimentClassifier.labels:
        raise InvalidRequest(f"{MODEL_NAME} answers negative/positive; the dataset's labels are "
                             f"{', '.join(task.labels)}", param="target")
    if via not in ("local", "gateway") and not via.startswith(("http://", "https://")):
        raise InvalidRequest(f"--via must be local, gateway or an http(s) URL, not {via!r}",
                             param="via")
    from llamos_gateway.wiring import open_components

    # the evaluation measures the defense: no answer comes from the purification cache
    uncached = settings.model_copy(
        update={"cache": settings.cache.model_copy(update={"enabled": False})})
    async with AsyncExitStack() as stack:
        components = await stack.enter_async_context(open_components(
            uncached, purifier=None if defenses else PassthroughPurifier()))
        for name in defenses:
            if name not in components.defense.backends:  # the reason, from the builder
                components.builder.build(name)
        cache: QueryCache | None = None
        if spec.cache and via != "local":
            cache = await stack.enter_async_context(open_query_cache(settings))
        target: Classifier
        if via == "local":
            target = LocalSentimentClassifier()
        elif via == "gateway":
            target = LLMTarget(GatewayChat(components.gateway), spec.model, task, cache=cache,
                               concurrency=spec.concurrency, logprobs=spec.logprobs)
        else:
            http = HttpChat(via, api_key=spec.api_key)
            stack.push_async_callback(http.aclose)
            target = LLMTarget(http, spec.model, task, cache=cache,
                               concurrency=spec.concurrency, logprobs=spec.logprobs)
        yield EvalSession(target=target, components=components, names=tuple(defenses))
