"""Where the evaluation keeps target answers: Redis when `redis.url` is set, else SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from llamos_gateway.evaluation.datasets import Dataset
from llamos_gateway.evaluation.llm_target import LLMTarget, UpstreamChat
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.query_cache import DiskQueryCache, open_query_cache
from llamos_gateway.evaluation.sentiment_model import SentimentChatModel
from llamos_gateway.settings import RedisSettings, Settings
from llamos_gateway.storage.redis_cache import RedisCache
from tests.storage.redis_helpers import SHARED_URL


@pytest.mark.redis
async def test_answers_are_shared_through_redis(redis_settings: RedisSettings,
                                                classifier: LocalSentimentClassifier,
                                                sst2: Dataset) -> None:
    settings = Settings(redis=redis_settings)
    texts = [e.input for e in sst2.examples[:12]]
    async with open_query_cache(settings) as cache:
        assert isinstance(cache, RedisCache)
        first = LLMTarget(UpstreamChat(SentimentChatModel(classifier)), "local/sst2-sentiment",
                          sst2.task, cache=cache)
        expected = (await first.predict(texts)).predicted.tolist()
        assert first.queries == 12 and first.cache_hits == 0
    keys = redis.Redis.from_url(SHARED_URL).keys(redis_settings.key_prefix + "*")
    names = {k.decode().removeprefix(redis_settings.key_prefix).split(":", 1)[0] for k in keys}
    assert len(keys) == 12 and names == {"query"}  # apart from the purification cache
    # another run (a new process, another machine) gets the same answers without a query
    async with open_query_cache(settings) as cache:
        again = LLMTarget(UpstreamChat(SentimentChatModel(classifier)), "local/sst2-sentiment",
                          sst2.task, cache=cache)
        assert (await again.predict(texts)).predicted.tolist() == expected
        assert again.cache_hits == 12


async def test_without_redis_answers_go_to_disk(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMOS_CACHE_DIR", str(tmp_path))
    async with open_query_cache(Settings()) as cache:
        assert isinstance(cache, DiskQueryCache) and cache.path.is_relative_to(tmp_path)
        await cache.set("k", b"\x01")
        assert await cache.get("k") == b"\x01"
