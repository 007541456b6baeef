"""Opens what an evaluation needs from the gateway: the target and the defense backends.

The only place in the package that reaches the composition root (`llamos_gateway.wiring`):
defenses are built by `build_purifier(settings, router, backend)`, and an LLM target talks to
the in-process `Gateway` (`via="gateway"`), a gateway URL (`via="http://..."`), or, for
`local/sst2-sentiment`, the classifier itself (`via="local"`, the fast default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from llamos_gateway.errors import InvalidRequest
from llamos_gateway.evaluation.datasets import TaskSpec
from llamos_gateway.evaluation.llm_target import GatewayChat, HttpChat, LLMTarget
from llamos_gateway.evaluation.local_model import MODEL_NAME, LocalSentimentClassifier
from llamos_gateway.evaluation.protocols import Classifier
from llamos_gateway.evaluation.query_cache import QueryCache
from llamos_gateway.purifier import PassthroughPurifier, Purifier
from llamos_gateway.settings import Settings

DEFENSES = ("lexical", "llamos", "tiered", "passthrough")


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
    names = tuple(n.strip() for n in value.split(",") if n.strip() and n.strip() != "none")
    for name in names:
        if name not in DEFENSES:
            raise InvalidRequest(f"unknown defense {name!r} (choose from {', '.join(DEFENSES)}, "
                                 "or none)", param="defense")
    return names


@dataclass(frozen=True, slots=True)
class EvalSession:
    target: Classifier
    defenses: dict[str, Purifier]


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
    async with AsyncExitStack() as stack:
        components: Any = None
        if via == "gateway" or defenses:
            from llamos_gateway.wiring import build_purifier, open_components

            components = await stack.enter_async_context(
                open_components(settings, purifier=PassthroughPurifier()))
        cache: QueryCache | None = None
        if spec.cache and via != "local":
            from llamos_gateway.wiring import open_query_cache

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
        built = {name: build_purifier(settings, components.router, name) for name in defenses}
        yield EvalSession(target=target, defenses=built)
