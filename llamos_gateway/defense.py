"""The defense step: find the text parts of a request, purify them, substitute the results.

Knows nothing about HTTP. Applies the mode (enforce / shadow / off) and the failure policy
(fail-open forwards what the backend could still do, else the original, and says why;
fail-closed raises `DefenseUnavailable`).
Image, audio and other non-text parts are never touched; system and assistant messages
only when configured.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from llamos_gateway.errors import DefenseUnavailable
from llamos_gateway.purifier import Purifier, PurifyRequest, PurifyResult
from llamos_gateway.settings import DefenseMode
from llamos_gateway.upstream import Endpoint

log = logging.getLogger(__name__)

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class TextSlot:
    """Where a text sits in the request body, and whose it is."""

    path: Path
    text: str
    role: str


@dataclass(frozen=True, slots=True)
class DefenseOutcome:
    mode: DefenseMode
    backend: str
    results: tuple[PurifyResult, ...] = ()
    purify_ms: float = 0.0
    fail_open: str | None = None
    failed: bool = False

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.results)

    @property
    def prompt_version(self) -> str | None:
        return next((r.prompt_version for r in self.results if r.prompt_version), None)

    @property
    def cache_hit(self) -> bool:
        return bool(self.results) and all(r.cache_hit for r in self.results)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for r in self.results for code in r.reasons))

    def headers(self) -> dict[str, str]:
        out = {"x-llamos-defense": self.mode.value,
               "x-llamos-changed": "true" if self.changed else "false",
               "x-llamos-purify-ms": f"{self.purify_ms:.3f}"}
        if self.prompt_version:
            out["x-llamos-prompt"] = self.prompt_version
        if self.fail_open:
            out["x-llamos-fail-open"] = self.fail_open
        if self.results and self.mode is not DefenseMode.OFF:
            out["x-llamos-cache"] = "hit" if self.cache_hit else "miss"
        return out


def fail_open_result(exc: DefenseUnavailable) -> PurifyResult | None:
    """The backend's partial result to forward under fail-open, marked with the failure."""
    partial = exc.partial
    if not isinstance(partial, PurifyResult):
        return None
    return replace(partial, extra={**partial.extra, "fail_open": exc.reason})


def failed_open(results: Sequence[PurifyResult]) -> str | None:
    """The failure reason when any of `results` is a fail-open partial result."""
    return next((str(r.extra["fail_open"]) for r in results if "fail_open" in r.extra), None)


def text_slots(endpoint: Endpoint, body: dict[str, Any], roles: frozenset[str],
               embeddings: bool) -> list[TextSlot]:
    """Every purifiable text of a (validated) request body, in order."""
    if endpoint == "chat/completions":
        slots = []
        for i, message in enumerate(body["messages"]):
            role = message.get("role")
            if role not in roles:
                continue
            content = message.get("content")
            if isinstance(content, str):
                slots.append(TextSlot(("messages", i, "content"), content, role))
            elif isinstance(content, list):
                slots.extend(TextSlot(("messages", i, "content", j, "text"), part["text"], role)
                             for j, part in enumerate(content)
                             if isinstance(part, dict) and part.get("type") == "text"
                             and isinstance(part.get("text"), str))
        return slots
    key = "prompt" if endpoint == "completions" else "input"
    if endpoint == "embeddings" and not embeddings:
        return []
    value = body.get(key)
    if isinstance(value, str):
        return [TextSlot((key,), value, "user")]
    if isinstance(value, list):
        return [TextSlot((key, i), v, "user") for i, v in enumerate(value) if isinstance(v, str)]
    return []  # token-id prompts are not text


def substitute(body: dict[str, Any], replacements: Sequence[tuple[Path, str]]) -> dict[str, Any]:
    """A copy of `body` with the texts at `paths` replaced. Copy-on-write: untouched parts are shared."""
    root: dict[str, Any] = dict(body)
    copied: set[Path] = {()}
    for path, text in replacements:
        node: Any = root
        for depth, key in enumerate(path[:-1]):
            child_path = path[: depth + 1]
            child = node[key]
            if child_path not in copied:
                child = dict(child) if isinstance(child, dict) else list(child)
                node[key] = child
                copied.add(child_path)
            node = child
        node[path[-1]] = text
    return root


class Defense:
    def __init__(self, purifier: Purifier, *, roles: Sequence[str] = ("user",),
                 purify_embeddings: bool = False, fail_policy: str = "open",
                 concurrency: int = 8, task: str | None = None) -> None:
        self.purifier = purifier
        self._roles = frozenset(roles)
        self._embeddings = purify_embeddings
        self._fail_closed = fail_policy == "closed"
        self._semaphore = asyncio.Semaphore(concurrency)
        self._task = task

    @property
    def backend(self) -> str:
        return self.purifier.name

    async def apply(self, endpoint: Endpoint, body: dict[str, Any], mode: DefenseMode,
                    task: str | None = None) -> tuple[dict[str, Any], DefenseOutcome]:
        if mode is DefenseMode.OFF:
            return body, DefenseOutcome(mode=mode, backend=self.backend)
        slots = text_slots(endpoint, body, self._roles, self._embeddings)
        if not slots:
            return body, DefenseOutcome(mode=mode, backend=self.backend)
        started = time.perf_counter()
        fail_open = not (self._fail_closed and mode is DefenseMode.ENFORCE)
        try:
            results = await self.purify_texts(slots, task or self._task, fail_open=fail_open)
        except DefenseUnavailable as exc:
            if not fail_open:
                raise
            ms = (time.perf_counter() - started) * 1000.0
            return body, DefenseOutcome(mode=mode, backend=self.backend, purify_ms=ms,
                                        fail_open=exc.reason, failed=True)
        ms = (time.perf_counter() - started) * 1000.0
        reason = failed_open(results)
        outcome = DefenseOutcome(mode=mode, backend=self.backend, results=tuple(results),
                                 purify_ms=ms, fail_open=reason, failed=reason is not None)
        if mode is DefenseMode.SHADOW or not outcome.changed:
            return body, outcome
        changes = [(s.path, r.purified) for s, r in zip(slots, results, strict=True) if r.changed]
        return substitute(body, changes), outcome

    async def purify_texts(self, slots: Sequence[TextSlot], task: str | None, *,
                           fail_open: bool = False) -> list[PurifyResult]:
        """One result per slot. With `fail_open`, a backend's partial result stands in for a
        failed text (see `fail_open_result`); without one the failure propagates."""
        if len(slots) == 1:
            return [await self._purify_one(slots[0], task, fail_open)]
        try:  # the first failure cancels the other texts' purification
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._bounded(s, task, fail_open)) for s in slots]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None  # _purify_one raises only DefenseUnavailable
        return [t.result() for t in tasks]

    async def _bounded(self, slot: TextSlot, task: str | None, fail_open: bool) -> PurifyResult:
        async with self._semaphore:
            return await self._purify_one(slot, task, fail_open)

    async def _purify_one(self, slot: TextSlot, task: str | None, fail_open: bool) -> PurifyResult:
        try:
            return await self.purifier.purify(PurifyRequest(slot.text, task=task, role=slot.role))
        except DefenseUnavailable as exc:
            partial = fail_open_result(exc) if fail_open else None
            if partial is None:
                raise
            return partial
        except Exception as exc:
            # A defect in a backend must not turn into an unhandled 500 on the request path:
            # it follows the same fail-open/closed policy as a model outage, and is logged.
            log.exception("purifier %s failed", self.backend)
            raise DefenseUnavailable(f"defense backend {self.backend} failed",
                                     reason="defense_internal_error") from exc
