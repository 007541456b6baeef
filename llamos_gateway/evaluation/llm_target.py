"""An LLM as a classification target: prompt with the task description, parse the answer.

The model is reached through a `ChatBackend`: the in-process gateway (`GatewayChat`, the
exact code path the HTTP API runs), a gateway URL (`HttpChat`), or any `Upstream`
(`UpstreamChat`). Answers map to label words; ambiguous or unparseable answers are a row of
zeros (wrong). Scores come from logprobs when the model returns them, otherwise one-hot.
Repeated queries are answered from a `QueryCache`.
"""

from __future__ import annotations

import asyncio
import math
import re
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import numpy as np
import numpy.typing as npt
import orjson

from llamos_gateway.errors import UpstreamError, UpstreamStatusError, UpstreamTimeout
from llamos_gateway.evaluation.datasets import TaskSpec
from llamos_gateway.evaluation.protocols import LabelScores, TextInput
from llamos_gateway.evaluation.query_cache import QueryCache
from llamos_gateway.files import content_hash
from llamos_gateway.upstream import Upstream, UpstreamCall

PROMPT_TEMPLATE = "{description}\n{fields}\nAnswer:"


class ChatBackend(Protocol):
    """Sends one OpenAI chat-completions body, returns the parsed JSON reply."""

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]: ...


def _json(content: bytes, where: str) -> dict[str, Any]:
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(f"{where} answered with invalid JSON") from exc
    if not isinstance(value, dict):
        raise UpstreamError(f"{where} answered with a non-object JSON body")
    return value


class HttpChat:
    """A gateway (or any OpenAI-compatible server) at `base_url`, e.g. http://127.0.0.1:8000/v1."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers,
                                         timeout=httpx.Timeout(timeout_s, connect=5.0),
                                         transport=transport)

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._client.post("/chat/completions", content=orjson.dumps(body),
                                                headers={"Content-Type": "application/json"})
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"target at {self.base_url} timed out") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(f"target unreachable at {self.base_url}: "
                                f"{type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise UpstreamStatusError(f"target at {self.base_url} answered HTTP "
                                      f"{response.status_code}: {response.text[:200]}",
                                      status=response.status_code)
        return _json(response.content, f"target at {self.base_url}")

    async def aclose(self) -> None:
        await self._client.aclose()


class UpstreamChat:
    """Any `Upstream` (e.g. the built-in `SentimentChatModel`), called directly."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self._upstream.complete(UpstreamCall("chat/completions", body))
        return _json(reply.content, self._upstream.name)


class GatewayChat:
    """The in-process gateway: `Gateway.handle`, the code the HTTP API runs, defense off.

    The evaluation applies the defense itself (so it can measure with and without), hence the
    gateway's own defense is bypassed with `DefenseMode.OFF`."""

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway

    async def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        from llamos_gateway.defense.policy import PolicyOverride
        from llamos_gateway.gateway import Caller
        from llamos_gateway.settings import DefenseMode
        from llamos_gateway.trace import Trace

        trace = Trace(request_id=f"eval-{uuid.uuid4().hex[:16]}", route="eval")
        off = Caller(key_id="eval", header=PolicyOverride(mode=DefenseMode.OFF))
        reply = await self._gateway.handle("chat/completions", body, off, trace)
        if reply.status >= 400 or reply.content is None:
            raise UpstreamStatusError(f"gateway answered {reply.status}", status=reply.status)
        return _json(reply.content, "gateway")


def render_prompt(task: TaskSpec, value: TextInput) -> str:
    fields = (value,) if isinstance(value, str) else value
    names = (("Sentence",) if len(fields) == 1
             else tuple(f"Sentence{i + 1}" for i in range(len(fields))))
    lines = "\n".join(f"{name}: {text}" for name, text in zip(names, fields, strict=True))
    return PROMPT_TEMPLATE.format(description=task.description, fields=lines)


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.lower()).strip()


def parse_answer(answer: str, labels: Sequence[str]) -> int:
    """The label index named in `answer`; -1 when none or more than one label is named."""
    text = " " + re.sub(r"[^\w\s\-]", " ", answer.lower()).replace("_", " ").replace("-", " ") + " "
    found = set()
    for index in sorted(range(len(labels)), key=lambda i: -len(labels[i])):
        pattern = re.compile(r"(?<!\w)" + re.escape(_norm(labels[index])) + r"(?!\w)")
        if pattern.search(text):
            found.add(index)
            text = pattern.sub(" ", text)
    return found.pop() if len(found) == 1 else -1


def logprob_scores(choice: dict[str, Any], labels: Sequence[str]) -> npt.NDArray[np.float64] | None:
    """Label probabilities from the first answer token's top logprobs, when present."""
    content = ((choice.get("logprobs") or {}).get("content")) or []
    if not content or not isinstance(content[0], dict):
        return None
    scores = np.zeros(len(labels), dtype=np.float64)
    for alt in content[0].get("top_logprobs") or []:
        token = _norm(str(alt.get("token", "")))
        if not token:
            continue
        for index, label in enumerate(labels):
            if _norm(label).startswith(token):
                scores[index] += math.exp(float(alt.get("logprob", -math.inf)))
    total = scores.sum()
    return scores / total if total > 0 else None


class LLMTarget:
    """A `Classifier` backed by a chat model. Bounded concurrency; cached queries."""

    def __init__(self, backend: ChatBackend, model: str, task: TaskSpec, *,
                 cache: QueryCache | None = None, concurrency: int = 8,
                 logprobs: bool = False, max_tokens: int = 8) -> None:
        self.name = model
        self.labels = task.labels
        self._backend = backend
        self._task = task
        self._cache = cache
        self._slots = asyncio.Semaphore(concurrency)
        self._logprobs = logprobs
        self._max_tokens = max_tokens
        self.prompt_version = content_hash(PROMPT_TEMPLATE.encode(), task.description.encode())
        self.queries = 0
        self.cache_hits = 0

    async def predict(self, inputs: Sequence[TextInput]) -> LabelScores:
        rows = await asyncio.gather(*(self._row(v) for v in inputs))
        return LabelScores(self.labels,
                           np.vstack(rows) if rows else np.zeros((0, len(self.labels))))

    async def _row(self, value: TextInput) -> npt.NDArray[np.float64]:
        prompt = render_prompt(self._task, value)
        key = content_hash(self.name.encode(), self.prompt_version.encode(),
                           str(self._logprobs).encode(), prompt.encode())
        if self._cache is not None and (hit := await self._cache.get(key)) is not None:
            self.cache_hits += 1
            return np.frombuffer(hit, dtype=np.float64).copy()
        async with self._slots:
            reply = await self._backend.chat(self._body(prompt))
        self.queries += 1
        row = self._scores(reply)
        if self._cache is not None:
            await self._cache.set(key, row.tobytes())
        return row

    def _body(self, prompt: str) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.name, "temperature": 0,
                                "max_tokens": self._max_tokens,
                                "messages": [{"role": "user", "content": prompt}]}
        if self._logprobs:
            body.update(logprobs=True, top_logprobs=20)  # OpenAI's most: small models spread
        return body

    def _scores(self, reply: dict[str, Any]) -> npt.NDArray[np.float64]:
        choices = reply.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        from_logprobs = logprob_scores(choice, self.labels)
        if from_logprobs is not None:
            return from_logprobs
        message = choice.get("message") or {}
        index = parse_answer(str(message.get("content") or ""), self.labels)
        row: npt.NDArray[np.float64] = LabelScores.one_hot(self.labels, [index]).scores[0]
        return row
