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


def _big_trace(parts: int, size: int, edits: int = 0) -> Trace:
    results = []
    for i in range(parts):
        text = (f"part {i} " + "x" * size)[:size]
        results.append(PurifyResult(text, text.upper(), "lexical",
                                    edits=tuple(Edit(j, j + 1, "x" * 500, "X" * 500, "case")
                                                for j in range(edits))))
    trace = Trace(request_id="big", route="chat/completions", key_id="team-a", model="m")
    trace.defense = DefenseOutcome(mode=DefenseMode.ENFORCE, backend="lexical",
                                   results=tuple(results), purify_ms=1.0)
    trace.finish(200)
    return trace


@pytest.mark.parametrize(("parts", "size", "edits"), [(1, 3_000_000, 0), (1, 200_000, 5_000),
                                                      (5_000, 100, 0), (40, 20_000, 50)])
async def test_one_record_is_cut_to_max_record_bytes(parts: int, size: int, edits: int) -> None:
    sink = MemoryAuditSink(100)
    trail = AuditTrail(sink, AuditSettings(max_record_bytes=16_384))
    trail.observe(_big_trace(parts, size, edits))
    await trail.flush()
    [(_, raw)] = await sink.read(after=None, limit=10)
    assert len(raw) <= 16_384
    record = orjson.loads(raw)
    assert record["id"] == "big" and record["status"] == 200
    kept = record["texts"]
    assert kept, "some text is kept"
    assert record["texts_omitted"] == parts - len(kept)
    first = kept[0]
    full = (("part 0 " + "x" * size)[:size])
    if len(full) > 16_384:
        assert first["truncated"] is True
        assert "…[cut: " in first["original"]
        assert full.startswith(first["original"].split("…[cut: ")[0])
        assert first["original_sha256"] == hashlib.sha256(full.encode()).hexdigest()
    if edits:
        assert first["edits_omitted"] == edits - len(first["edits"])
        assert first["edits_omitted"] > 0


async def test_a_small_record_is_stored_whole() -> None:
    sink = MemoryAuditSink(100)
    trail = AuditTrail(sink, AuditSettings(max_record_bytes=16_384))
    trail.observe(_big_trace(3, 1000, 2))
    await trail.flush()
    [(_, raw)] = await sink.read(after=None, limit=10)
    record = orjson.loads(raw)
    assert record["texts_omitted"] == 0
    assert [t["truncated"] for t in record["texts"]] == [False] * 3
    assert record["texts"][0]["original"] == ("part 0 " + "x" * 1000)[:1000]


async def test_buffer_is_bounded_by_bytes_while_the_sink_is_down() -> None:
    sink = DownSink()
    trail = AuditTrail(sink, AuditSettings(max_bytes=40_000, max_record_bytes=16_384))
    for _ in range(10):
        trail.observe(_big_trace(1, 12_000))
    assert trail.pending < 10
    assert trail.dropped == 10 - trail.pending
    assert trail._buffered_bytes <= 40_000
