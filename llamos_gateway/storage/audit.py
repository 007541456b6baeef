"""The audit trail: what the defender changed, one record per request that reached it.

`AuditTrail` is a `RequestObserver`: `observe` builds the record from the finished trace and
puts it in a bounded buffer (never blocks, never raises); a background task writes the
buffer to the sink (a Redis stream, or memory) and to the optional JSONL mirror, in batches
(it waits up to 50 ms for more records; `GET /v1/audit` flushes first). While the
sink is down records wait in the buffer; past `buffer_max` the oldest are dropped and
counted; the buffer is also bounded by `max_bytes`. With `store_text: false` texts are
replaced by their SHA-256 and edits keep only their offsets and rule. A record over
`max_record_bytes` is cut down to it (`record_budget.fit`: texts cut with a marker, their
SHA-256 kept, edits and texts past the budget counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import deque
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from llamos_gateway.defense.codec import public
from llamos_gateway.defense.protocol import PurifyResult
from llamos_gateway.settings import AuditSettings
from llamos_gateway.storage import AuditSink, StoreUnavailable
from llamos_gateway.storage.record_budget import MIN_EDIT_BYTES, MIN_TEXT_BYTES, fit
from llamos_gateway.trace import Trace

log = logging.getLogger(__name__)

_BATCH = 256
_LINGER_S = 0.05


class AuditText(BaseModel):
    """One purified text of the request. Exactly one of the text / hash pairs is set, except
    for a text cut to the record's size cap (`truncated`), which has both."""

    model_config = ConfigDict(frozen=True)

    original: str | None = None
    purified: str | None = None
    original_sha256: str | None = None
    purified_sha256: str | None = None
    changed: bool
    edits: list[dict[str, Any]]
    reasons: list[str]
    cache_hit: bool
    fallback: str | None = None
    defense_tokens: int = 0
    score: float = 0.0
    verdict: str = "clean"
    truncated: bool = False
    edits_omitted: int = 0
    prompt_tokens: int = 0  # of defense_tokens, those the defense model read


class AuditRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    time: str
    key_id: str | None
    route: str
    model: str | None
    status: int
    mode: str
    backend: str
    prompt_version: str | None
    changed: bool
    cache_hit: bool
    reasons: list[str]
    fail_open: str | None
    score: float = 0.0
    verdict: str = "clean"
    action: str = "purify"
    texts: list[AuditText]
    defense_tokens: int
    prompt_tokens: int = 0
    purify_ms: float
    upstream_ms: float | None
    total_ms: float | None
    texts_omitted: int = 0

    @classmethod
    def from_trace(cls, trace: Trace, *, store_text: bool,
                   max_record_bytes: int | None = None) -> AuditRecord | None:
        """The record of a finished request (None when it never reached the defense). With
        `max_record_bytes`, texts and edits that could not fit are counted, not built
        (`record_budget.fit` then cuts the rest): building stays proportional to the cap."""
        outcome = trace.defense
        if outcome is None:
            return None
        results = outcome.results
        max_edits: int | None = None
        if max_record_bytes is not None:
            results = results[:max(1, max_record_bytes // MIN_TEXT_BYTES)]
            max_edits = max_record_bytes // MIN_EDIT_BYTES
        return cls(
            id=trace.request_id,
            time=datetime.fromtimestamp(trace.wall_time, UTC).isoformat(timespec="milliseconds"),
            key_id=trace.key_id, route=trace.route, model=trace.model, status=trace.status,
            mode=outcome.mode.value, backend=outcome.backend,
            prompt_version=outcome.prompt_version, changed=outcome.changed,
            cache_hit=outcome.cache_hit, reasons=list(outcome.reasons),
            fail_open=outcome.fail_open, score=round(outcome.score, 4),
            verdict=outcome.verdict.value, action=outcome.policy.action.value,
            texts=[_text(r, v.value, store_text, max_edits)
                   for r, v in zip(results, outcome.verdicts[:len(results)], strict=True)],
            texts_omitted=len(outcome.results) - len(results),
            defense_tokens=sum(r.defense_tokens for r in outcome.results),
            prompt_tokens=sum(r.prompt_tokens for r in outcome.results),
            purify_ms=round(outcome.purify_ms, 3),
            upstream_ms=None if trace.upstream_ms is None else round(trace.upstream_ms, 3),
            total_ms=None if trace.total_ms is None else round(trace.total_ms, 3))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


_AUDITED = ("changed", "reasons", "cache_hit", "fallback", "defense_tokens", "score")


def _text(result: PurifyResult, verdict: str, store_text: bool,
          max_edits: int | None = None) -> AuditText:
    omitted = 0
    if max_edits is not None and len(result.edits) > max_edits:
        omitted = len(result.edits) - max_edits
        result = replace(result, edits=result.edits[:max_edits])
    data = public(result)
    common: dict[str, Any] = {key: data[key] for key in _AUDITED} | {"verdict": verdict}
    common.update(edits_omitted=omitted, truncated=omitted > 0)
    common["prompt_tokens"] = result.prompt_tokens
    if store_text:
        return AuditText(original=data["text"], purified=data["purified"], edits=data["edits"],
                         **common)
    edits = [{"start": e["start"], "end": e["end"], "rule": e["rule"]} for e in data["edits"]]
    return AuditText(original_sha256=sha256(result.original),
                     purified_sha256=sha256(result.purified), edits=edits, **common)


class AuditTrail:
    """Observer + bounded buffer + background writer. Use as an async context manager."""

    def __init__(self, sink: AuditSink, settings: AuditSettings, *,
                 retry_after_s: float = 2.0) -> None:
        self.sink = sink
        self._store_text = settings.store_text
        self._jsonl = settings.jsonl_path
        self._buffer: deque[bytes] = deque()
        self._mirror: deque[bytes] = deque(maxlen=settings.buffer_max)
        self._max = settings.buffer_max
        self._max_bytes = settings.max_bytes
        self._record_bytes = settings.max_record_bytes
        self._buffered_bytes = 0
        self._retry_after_s = retry_after_s
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.failed_writes = 0

    def observe(self, trace: Trace) -> None:
        record = AuditRecord.from_trace(trace, store_text=self._store_text,
                                        max_record_bytes=self._record_bytes)
        if record is None:
            return
        data = fit(record.model_dump(mode="json"), self._record_bytes)
        self._buffer.append(data)
        self._buffered_bytes += len(data)
        self._trim()
        if self._jsonl is not None:
            self._mirror.append(data)
        self._wake.set()

    def _trim(self) -> None:
        """Drop the oldest buffered records past `buffer_max` or `max_bytes` (counted)."""
        while len(self._buffer) > self._max or (
                self._buffered_bytes > self._max_bytes and len(self._buffer) > 1):
            self._buffered_bytes -= len(self._buffer.popleft())
            self.dropped += 1

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def stats(self) -> dict[str, int]:
        return {"written": self.written, "pending": self.pending, "dropped": self.dropped,
                "failed_writes": self.failed_writes}

    async def __aenter__(self) -> AuditTrail:
        self._task = asyncio.create_task(self._run(), name="llamos-audit-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=2.0)  # never hang the shutdown
        with contextlib.suppress(StoreUnavailable, TimeoutError):
            async with asyncio.timeout(2.0):
                await self.flush()
        if self._buffer:
            log.warning("audit: %d records not written at shutdown", len(self._buffer))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if len(self._buffer) < _BATCH:
                await asyncio.sleep(_LINGER_S)  # gather a batch: one pipeline, not one per request
            self._wake.clear()
            try:
                await self.flush()
            except StoreUnavailable:
                self.failed_writes += 1
                await asyncio.sleep(self._retry_after_s)
                self._wake.set()
            except Exception:  # a defect here must not stop the trail; the records stay queued
                log.exception("audit writer failed")
                await asyncio.sleep(self._retry_after_s)
                self._wake.set()

    async def flush(self) -> None:
        """Write everything buffered; `StoreUnavailable` leaves the rest in the buffer."""
        async with self._flushing:
            await self._flush()

    async def _flush(self) -> None:
        if self._mirror:
            lines = list(self._mirror)
            self._mirror.clear()
            await asyncio.to_thread(_append_lines, self._jsonl, lines)
        while self._buffer:
            batch = [self._buffer.popleft() for _ in range(min(_BATCH, len(self._buffer)))]
            size = sum(len(b) for b in batch)
            self._buffered_bytes -= size
            try:
                await self.sink.append(batch)
            except BaseException:
                self._buffer.extendleft(reversed(batch))  # back in front, in order
                self._buffered_bytes += size
                self._trim()
                raise
            self.written += len(batch)


def _append_lines(path: Path | None, lines: list[bytes]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
