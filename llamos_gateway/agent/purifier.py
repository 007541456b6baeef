"""`LLMPurifier`: the LLAMOS defense agent as a `Purifier`.

One call to the defense model per text (temperature 0, strict JSON asked for), through any
`Upstream`: the pass-through client for an OpenAI-compatible `api_base`, or the litellm
adapter for `anthropic/...`, `ollama/...` and the rest. Errors, timeouts and unparseable
replies are retried `max_retries` times and then raised as `DefenseUnavailable`; the
gateway's defense service applies fail-open or fail-closed. Outputs that fail a guard are
replaced by the input (`drift_policy="forward"`) or rejected (`"reject"`), with the reason
code recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from llamos_gateway.agent.diff import char_edits
from llamos_gateway.agent.guards import DriftLimits, drift_reason, new_boundary
from llamos_gateway.agent.parse import AgentAnswer, ParseFailure, parse_answer
from llamos_gateway.agent.prompts import PromptSet
from llamos_gateway.defense.protocol import PurifyRequest, PurifyResult
from llamos_gateway.errors import DefenseUnavailable, LlamosError, UpstreamTimeout
from llamos_gateway.upstream import Upstream, UpstreamCall

log = logging.getLogger(__name__)

DEFENSE_TIMEOUT = "defense_timeout"
DEFENSE_BUSY = "defense_busy"
DEFENSE_ERROR = "defense_error"
DEFENSE_UNPARSEABLE = "defense_unparseable"
FLAG_MISMATCH = "changed_flag_mismatch"
OSCILLATION = "idempotence_oscillation"
RETRIED = "defense_retried"

DriftPolicy = Literal["forward", "reject"]
# How the reply is constrained: OpenAI's JSON mode, a JSON schema (OpenAI's structured
# outputs; small local models need it: a grammar over two fields is also much faster for
# llama.cpp than one over any JSON), or nothing.
ResponseFormat = Literal["json_object", "json_schema", "off"]
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["purified", "changed"],
    "properties": {"purified": {"type": "string"}, "changed": {"type": "boolean"}}}
_OPTIONAL_PARAMS = ("response_format", "max_tokens", "temperature")


@dataclass(frozen=True, slots=True)
class _Reply:
    answer: AgentAnswer
    boundary: str
    tokens: int
    prompt_tokens: int
    attempts: int
    defense_ms: float


class LLMPurifier:
    """The defense agent. `model` is the upstream's own model name for the defense LLM."""

    name = "llamos"

    def __init__(self, *, upstream: Upstream, model: str, prompts: PromptSet,
                 task: str | None = None, limits: DriftLimits | None = None,
                 timeout_s: float = 20.0, max_retries: int = 1,
                 idempotence_check: bool = False, drift_policy: DriftPolicy = "forward",
                 response_format: ResponseFormat = "json_object",
                 inflight: asyncio.Semaphore | None = None,
                 boundary: Callable[[str], str] = new_boundary) -> None:
        self._upstream = upstream
        self._model = model
        self._prompts = prompts
        self._task = task
        self._limits = limits or DriftLimits()
        self._timeout_s = timeout_s
        self._retries = max_retries
        self._idempotence = idempotence_check
        self._drift_policy = drift_policy
        self._response_format = response_format
        self._boundary = boundary
        self._dropped: set[str] = set()
        # A burst of flagged requests must not become a burst of defense calls: `inflight`
        # (shared by the agents of one worker) bounds the calls at once; the rest queue, and
        # the wait counts against the timeout.
        self._inflight = inflight

    @property
    def prompt_version(self) -> str:
        return self._prompts.version

    @property
    def cache_identity(self) -> str:
        """Everything besides text and task that decides the result (for `CachingPurifier`)."""
        limits = self._limits
        return (f"{self.name}|{self._model}|{self._prompts.version}|edit={limits.max_edit_ratio}"
                f"|length={limits.max_length_ratio}|slack={limits.slack_chars}"
                f"|drift={self._drift_policy}|idempotence={self._idempotence}"
                f"|default_task={self._task}|format={self._response_format}")

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        started = time.perf_counter()
        original = request.text
        if not original.strip():
            return PurifyResult(original=original, purified=original, backend=self.name,
                                reasons=("empty_input",), prompt_version=self._prompts.version)
        task = request.task or self._task
        reply = await self._ask(original, task)
        purified = _keep_outer_whitespace(original, reply.answer.purified)
        reasons: list[str] = [RETRIED] if reply.attempts > 1 else []
        if reply.answer.changed != (purified != original):
            reasons.append(FLAG_MISMATCH)
        fallback = drift_reason(original, purified, boundary=reply.boundary, limits=self._limits)
        tokens = reply.tokens
        extra: dict[str, object] = {"parse": reply.answer.path, "attempts": reply.attempts,
                                    "defense_ms": round(reply.defense_ms, 3),
                                    "prompt_tokens": reply.prompt_tokens}
        if fallback is not None:
            log.warning("defense output rejected: %s (prompt %s)", fallback, self._prompts.version)
            if self._drift_policy == "reject":
                raise DefenseUnavailable(f"defense output rejected by guard: {fallback}",
                                         reason=fallback)
            purified = original
            reasons.append(fallback)
        elif self._idempotence and purified != original:
            again = await self._ask(purified, task)
            tokens += again.tokens
            extra["prompt_tokens"] = reply.prompt_tokens + again.prompt_tokens
            extra["defense_ms"] = round(reply.defense_ms + again.defense_ms, 3)
            if again.answer.purified != purified:
                reasons.append(OSCILLATION)
        return PurifyResult(
            original=original, purified=purified, backend=self.name,
            edits=char_edits(original, purified), reasons=tuple(reasons),
            suspicious=purified != original, score=1.0 if purified != original else 0.0,
            prompt_version=self._prompts.version,
            fallback=fallback, agent_called=True, defense_tokens=tokens, extra=extra,
        ).with_timing(started)

    def request_body(self, text: str, *, boundary: str, task: str | None) -> dict[str, Any]:
        """The chat/completions body sent to the defense model."""
        messages = self._prompts.messages(text, boundary=boundary, task=task)
        body: dict[str, Any] = {
            "model": self._model,
            "messages": [m.as_dict() for m in messages],
            "temperature": 0,
            "max_tokens": len(text) // 2 + 128,
        }
        if self._response_format == "json_object":
            body["response_format"] = {"type": "json_object"}
        elif self._response_format == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "purification", "schema": self._schema(text)}}
        for param in self._dropped:
            body.pop(param, None)
        return body

    async def _ask(self, text: str, task: str | None) -> _Reply:
        reason, detail = DEFENSE_ERROR, "no attempt made"
        spent_ms = 0.0
        attempt = 0
        while attempt <= self._retries:
            attempt += 1
            boundary = self._boundary(text)
            call = UpstreamCall("chat/completions", self.request_body(text, boundary=boundary,
                                                                      task=task),
                                timeout_s=self._timeout_s)
            sent = time.perf_counter()
            started = False
            try:
                async with asyncio.timeout(self._timeout_s):
                    if self._inflight is not None:
                        await self._inflight.acquire()
                    try:
                        started = True
                        reply = await self._upstream.complete(call)
                    finally:
                        if self._inflight is not None:
                            self._inflight.release()
            except (TimeoutError, UpstreamTimeout):
                spent_ms += (time.perf_counter() - sent) * 1000.0
                if not started:  # the timeout passed in the queue: retrying would queue again
                    reason, detail = DEFENSE_BUSY, (f"no free defense call slot within "
                                                    f"{self._timeout_s}s (defense.max_inflight)")
                    break
                reason, detail = (DEFENSE_TIMEOUT,
                                  f"defense model timed out after {self._timeout_s}s")
                continue
            except LlamosError as exc:
                reason, detail = DEFENSE_ERROR, f"defense model failed: {exc.message}"
                spent_ms += (time.perf_counter() - sent) * 1000.0
                if self._drop_unsupported(exc, call.body):
                    attempt -= 1  # the model refused a parameter, not the request: ask again
                    continue
                if 400 <= exc.status < 500 and exc.status not in (408, 409, 429):
                    break
                continue
            spent_ms += (time.perf_counter() - sent) * 1000.0
            if reply.status >= 400:
                reason, detail = DEFENSE_ERROR, f"defense model answered HTTP {reply.status}"
                continue
            try:
                content, tokens, prompt_tokens = _completion(reply.content)
                answer = parse_answer(content)
            except ParseFailure as exc:
                reason, detail = DEFENSE_UNPARSEABLE, f"defense model reply unusable: {exc}"
                continue
            return _Reply(answer=answer, boundary=boundary, tokens=tokens,
                          prompt_tokens=prompt_tokens, attempts=attempt,
                          defense_ms=spent_ms)
        log.warning("defense unavailable: %s (%s)", reason, detail)
        raise DefenseUnavailable(detail, reason=reason)

    def _schema(self, text: str) -> dict[str, Any]:
        """The answer's schema, the purified text no longer than the length guard allows (a
        grammar then stops a model that repeats itself where the guard would reject it)."""
        longest = int(len(text) * self._limits.max_length_ratio) + self._limits.slack_chars
        purified = {**ANSWER_SCHEMA["properties"]["purified"], "maxLength": longest}
        return {**ANSWER_SCHEMA, "properties": {**ANSWER_SCHEMA["properties"],
                                                "purified": purified}}

    def _drop_unsupported(self, exc: LlamosError, sent: dict[str, Any]) -> bool:
        """A 400 naming one of our optional parameters (some servers reject `response_format`,
        reasoning models `max_tokens` or `temperature`): leave it out from now on."""
        if exc.status != 400:
            return False
        message = exc.message.lower()
        for param in _OPTIONAL_PARAMS:
            if param in sent and param not in self._dropped and param in message:
                self._dropped.add(param)
                log.warning("defense model %s rejects `%s`; sending requests without it",
                            self._model, param)
                return True
        return False


def _keep_outer_whitespace(original: str, purified: str) -> str:
    """Models often strip or add surrounding whitespace; the input's own is kept."""
    core = original.strip()
    return original[: original.find(core)] + purified.strip() + original[
        original.find(core) + len(core):]


def _completion(content: bytes) -> tuple[str, int, int]:
    """The assistant text, total and prompt tokens of an OpenAI chat completion body."""
    try:
        body = orjson.loads(content)
        message = body["choices"][0]["message"]
        text = message["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise ParseFailure(f"not a chat completion ({type(exc).__name__})") from exc
    if not isinstance(text, str):
        raise ParseFailure("completion has no text content")
    usage = body.get("usage") if isinstance(body, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    tokens, prompt = usage.get("total_tokens", 0), usage.get("prompt_tokens", 0)
    return (text, tokens if isinstance(tokens, int) else 0,
            prompt if isinstance(prompt, int) else 0)
