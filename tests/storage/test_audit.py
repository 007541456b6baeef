from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from llamos_gateway.defense import DefenseOutcome
from llamos_gateway.defense.protocol import Edit, PurifyResult
from llamos_gateway.settings import AuditSettings, DefenseMode
from llamos_gateway.storage import StoreUnavailable
from llamos_gateway.storage.audit import AuditRecord, AuditTrail
from llamos_gateway.storage.memory import MemoryAuditSink
from llamos_gateway.storage.redis_audit import RedisStreamSink
from llamos_gateway.storage.redis_client import RedisClient
from llamos_gateway.trace import Trace


def finished_trace(request_id: str = "req-1", text: str = "a bad film") -> Trace:
    result = PurifyResult(text, text.replace("bad", "good"), "llamos",
                          edits=(Edit(2, 5, "bad", "good", "word"),), reasons=("typo",),
                          prompt_version="abc123", defense_tokens=17)
    trace = Trace(request_id=request_id, route="chat/completions", key_id="team-a",
                  model="gpt-x")
    trace.defense = DefenseOutcome(mode=DefenseMode.ENFORCE, backend="llamos",
                                   results=(result,), purify_ms=12.5)
    trace.upstream_ms = 30.0
    trace.finish(200)
    return trace


def test_record_holds_what_the_defender_did() -> None:
    record = AuditRecord.from_trace(finished_trace(), store_text=True)
    assert record is not None
    assert (record.id, record.key_id, record.model, record.status) == ("req-1", "team-a",
                                                                         "gpt-x", 200)
    assert (record.mode, record.backend, record.prompt_version) == ("enforce", "llamos", "abc123")
    assert record.changed is True
    assert record.cache_hit is False
    assert record.reasons == ["typo"]
    assert record.defense_tokens == 17
    assert record.texts[0].original == "a bad film"
    assert record.texts[0].purified == "a good film"
    assert record.texts[0].edits[0]["before"] == "bad"
    assert record.purify_ms == 12.5
    assert record.total_ms is not None


def test_privacy_keeps_hashes_and_no_text() -> None:
    record = AuditRecord.from_trace(finished_trace(), store_text=False)
    assert record is not None
    text = record.texts[0]
    assert text.original is None
    assert text.purified is None
    assert text.original_sha256 == hashlib.sha256(b"a bad film").hexdigest()
    assert text.purified_sha256 == hashlib.sha256(b"a good film").hexdigest()
    dumped = orjson.dumps(record.model_dump(mode="json"))
    assert b"bad" not in dumped
    assert b"good" not in dumped


def test_requests_that_never_reached_the_defense_are_not_recorded() -> None:
    trace = Trace(request_id="r", route="chat/completions")
    trace.finish(401, "invalid_api_key")
    assert AuditRecord.from_trace(trace, store_text=True) is None


class DownSink(MemoryAuditSink):
    def __init__(self) -> None:
        super().__init__(maxlen=100)
        self.down = True

    async def append(self, records: Sequence[bytes]) -> None:
        if self.down:
            raise StoreUnavailable("down")
        await super().append(records)


async def test_buffer_is_bounded_while_the_sink_is_down_then_drains() -> None:
    sink = DownSink()
    trail = AuditTrail(sink, AuditSettings(buffer_max=3))
    for i in range(5):
        trail.observe(finished_trace(f"req-{i}"))
    with pytest.raises(StoreUnavailable):
        await trail.flush()
    assert trail.pending == 3
    assert trail.dropped == 2
    sink.down = False
    await trail.flush()
    rows = await sink.read(after=None, limit=10)
    assert [orjson.loads(r)["id"] for _, r in rows] == ["req-2", "req-3", "req-4"]
    assert trail.written == 3
    assert trail.pending == 0


async def test_background_writer_and_jsonl_mirror(tmp_path: Path) -> None:
    mirror = tmp_path / "audit" / "trail.jsonl"
    sink = MemoryAuditSink(maxlen=100)
    async with AuditTrail(sink, AuditSettings(jsonl_path=mirror)) as trail:
        trail.observe(finished_trace("one"))
        trail.observe(finished_trace("two"))
    # leaving the context flushed everything
    assert [orjson.loads(r)["id"] for _, r in await sink.read(after=None, limit=10)] == [
        "one", "two"]
    lines = mirror.read_bytes().splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == ["one", "two"]


@pytest.mark.redis
async def test_redis_stream_is_capped_and_paged(redis_client: RedisClient) -> None:
    sink = RedisStreamSink(redis_client, maxlen=10)
    await sink.append([f"r{i}".encode() for i in range(300)])
    length = await redis_client.run(lambda r: r.xlen(sink.stream))  # type: ignore[arg-type, return-value]
    assert 10 <= length < 300  # MAXLEN ~ trims in whole nodes
    newest = await sink.read(after=None, limit=3)
    assert [r for _, r in newest] == [b"r297", b"r298", b"r299"]
    later = await sink.read(after=newest[0][0], limit=10)
    assert [r for _, r in later] == [b"r298", b"r299"]
