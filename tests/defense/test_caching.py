from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson

from llamos_gateway.defense import Defense
from llamos_gateway.defense.caching import CachingPurifier, restore
from llamos_gateway.defense.codec import decode, encode
from llamos_gateway.defense.policy import Policy
from llamos_gateway.defense.protocol import Edit, PurifyRequest, PurifyResult
from llamos_gateway.settings import DefenseMode
from llamos_gateway.storage.memory import MemoryCache


@dataclass
class AgentLike:
    """Changes `bad` to `good`, reports tokens, and has a cache identity like the agent."""

    cache_identity: str = "llamos|gpt-x|prompt:abc123"
    name: str = "llamos"
    seen: list[PurifyRequest] = field(default_factory=list)

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        self.seen.append(request)
        text = request.text
        at = text.find("bad")
        edits = (Edit(at, at + 3, "bad", "good", "word"),) if at >= 0 else ()
        return PurifyResult(original=text, purified=text.replace("bad", "good", 1),
                            backend=self.name, edits=edits, reasons=("typo",),
                            prompt_version="abc123", agent_called=True, defense_tokens=42)


def cached(inner: AgentLike | None = None) -> tuple[CachingPurifier, AgentLike]:
    agent = inner or AgentLike()
    return CachingPurifier(agent, MemoryCache(ttl_s=60, max_entries=100)), agent


async def test_second_call_is_a_marked_hit_without_defense_tokens() -> None:
    purifier, agent = cached()
    first = await purifier.purify(PurifyRequest("a bad film"))
    second = await purifier.purify(PurifyRequest("a bad film"))
    assert len(agent.seen) == 1
    assert first.cache_hit is False
    assert first.defense_tokens == 42
    assert second.cache_hit is True
    assert second.agent_called is False
    assert second.defense_tokens == 0
    assert second.extra["cached_defense_tokens"] == 42
    assert second.purified == first.purified == "a good film"
    assert second.edits == first.edits
    assert purifier.name == "llamos"


async def test_key_covers_identity_and_task_but_not_outer_whitespace() -> None:
    purifier, agent = cached()
    await purifier.purify(PurifyRequest("bad", task="sentiment"))
    await purifier.purify(PurifyRequest("bad", task="nli"))
    assert len(agent.seen) == 2
    other = CachingPurifier(AgentLike(cache_identity="llamos|gpt-x|prompt:def456"),
                            MemoryCache(ttl_s=60, max_entries=10))
    assert other.key("bad", None) != purifier.key("bad", None)
    assert purifier.key("bad", None) == purifier.key("bad", None)
    assert purifier.key("bad", None) != purifier.key("bad ", None)


async def test_whitespace_variants_share_an_entry_and_keep_their_own_whitespace() -> None:
    purifier, agent = cached()
    plain = await purifier.purify(PurifyRequest("so bad"))
    padded = await purifier.purify(PurifyRequest("  so bad\n"))
    assert len(agent.seen) == 1
    assert agent.seen[0].text == "so bad"
    assert plain.purified == "so good"
    assert padded.original == "  so bad\n"
    assert padded.purified == "  so good\n"
    edit = padded.edits[0]
    assert padded.original[edit.start:edit.end] == "bad"
    blank = await purifier.purify(PurifyRequest("   "))
    assert blank.purified == "   "  # whitespace only: straight to the inner purifier


async def test_the_inner_identity_keys_the_cache() -> None:
    class Plain:
        name = "plain"

        def __init__(self, identity: str) -> None:
            self.cache_identity = identity

        async def purify(self, request: PurifyRequest) -> PurifyResult:
            return PurifyResult(request.text, request.text + "!", self.cache_identity)

    cache = MemoryCache(ttl_s=60, max_entries=10)
    one, other = CachingPurifier(Plain("v1"), cache), CachingPurifier(Plain("v2"), cache)
    assert one.cache_identity == "v1" and one.key("a", None) != other.key("a", None)
    assert (await one.purify(PurifyRequest("a"))).backend == "v1"
    again = await other.purify(PurifyRequest("a"))  # another identity: not the v1 entry
    assert again.backend == "v2" and not again.cache_hit
    assert (await one.purify(PurifyRequest("a"))).cache_hit


async def test_concurrent_identical_prompts_make_one_call() -> None:
    class Slow(AgentLike):
        async def purify(self, request: PurifyRequest) -> PurifyResult:
            await asyncio.sleep(0.02)
            return await super().purify(request)

    purifier, agent = cached(Slow())
    results = await asyncio.gather(*(purifier.purify(PurifyRequest("bad")) for _ in range(10)))
    assert len(agent.seen) == 1
    assert sum(r.cache_hit for r in results) == 9


async def test_shadow_results_are_cached_and_reused_by_enforce() -> None:
    purifier, agent = cached()
    defense = Defense(purifier)
    body = {"model": "m", "messages": [{"role": "user", "content": "bad"}]}
    shadow_body, shadow = await defense.apply("chat/completions", body,
                                              Policy(mode=DefenseMode.SHADOW))
    assert shadow_body is body
    assert shadow.cache_hit is False
    enforced_body, enforced = await defense.apply("chat/completions", body, Policy())
    assert enforced_body["messages"][0]["content"] == "good"
    assert enforced.cache_hit is True
    assert enforced.headers()["x-llamos-cache"] == "hit"
    assert len(agent.seen) == 1


def test_encoding_round_trips() -> None:
    result = PurifyResult("a bad", "a good", "llamos", edits=(Edit(2, 5, "bad", "good", "w"),),
                          reasons=("r",), suspicious=True, score=0.5, prompt_version="v",
                          fallback=None, agent_called=True, defense_tokens=3, extra={"n": 1})
    assert decode(encode(result)) == result
    assert restore(orjson.dumps(encode(result))) == result
