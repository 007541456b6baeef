"""`TieredPurifier`: the lexical screen in front of an agent."""

from __future__ import annotations

import pytest

from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult
from llamos_gateway.defense.tiered import TieredPurifier
from llamos_gateway.errors import DefenseUnavailable
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.testing import FailingPurifier, MarkPurifier


async def test_clean_text_skips_the_agent(purifier: LexicalPurifier) -> None:
    agent = MarkPurifier()
    tiered = TieredPurifier(screen=purifier, agent=agent, always=False)
    assert isinstance(tiered, Purifier)
    result = await tiered.purify(PurifyRequest(text="a charming and often affecting journey . "))
    assert result.purified == "a charming and often affecting journey . "
    assert not result.agent_called and agent.history == [] and result.backend == "tiered"
    assert "screen_skip" in result.reasons
    assert tiered.stats.skipped == 1 and tiered.stats.skipped_share == 1.0


async def test_attacked_text_goes_to_the_agent_after_the_lexical_pass(
        purifier: LexicalPurifier) -> None:
    agent = MarkPurifier()
    tiered = TieredPurifier(screen=purifier, agent=agent, always=False)
    text = "a sometimes tedious flim . @fasuv3"
    result = await tiered.purify(PurifyRequest(text=text, task="sentiment"))
    (seen,) = agent.history
    assert seen.text == "a sometimes tedious film ." and seen.task == "sentiment"
    assert result.original == text and result.purified == "[clean] a sometimes tedious film ."
    assert result.agent_called and result.suspicious and result.score > 0.5
    assert [e.rule for e in result.edits] == ["spelling", "junk_handle", "mark"]
    assert result.extra["screened"] == "a sometimes tedious film ."
    assert tiered.stats.as_dict() == {"screened": 1, "agent_calls": 1, "skipped": 0,
                                      "skipped_share": 0.0}


async def test_always_calls_the_agent(purifier: LexicalPurifier) -> None:
    agent = MarkPurifier()
    tiered = TieredPurifier(screen=purifier, agent=agent, always=True)
    result = await tiered.purify(PurifyRequest(text="a fine film"))
    assert result.agent_called and "screen_always" in result.reasons
    assert len(agent.history) == 1 and tiered.stats.skipped == 0


async def test_agent_failure_reaches_the_caller(purifier: LexicalPurifier) -> None:
    tiered = TieredPurifier(screen=purifier, agent=FailingPurifier(), always=True)
    with pytest.raises(DefenseUnavailable):
        await tiered.purify(PurifyRequest(text="a fine film"))
    assert tiered.stats.agent_calls == 1


async def test_agent_failure_carries_the_screens_result(purifier: LexicalPurifier) -> None:
    tiered = TieredPurifier(screen=purifier, agent=FailingPurifier(), always=False)
    text = "a sometimes tedious flim . @fasuv3"
    with pytest.raises(DefenseUnavailable) as failed:
        await tiered.purify(PurifyRequest(text=text))
    partial = failed.value.partial
    assert isinstance(partial, PurifyResult)
    assert partial.original == text and partial.purified == "a sometimes tedious film ."
    assert partial.backend == "tiered" and partial.agent_called
    assert partial.reasons[-2:] == ("screen_flagged", "agent_unavailable")


def test_cache_identity_follows_agent_and_policy() -> None:
    from llamos_gateway.defense.tiered import TieredPurifier
    from llamos_gateway.lexical.purifier import LexicalPurifier

    class Agent:
        name = "llamos"

        def __init__(self, identity: str) -> None:
            self.cache_identity = identity

        async def purify(self, request):  # type: ignore[no-untyped-def]
            raise AssertionError("not called")

    screen = LexicalPurifier()
    a = TieredPurifier(screen, Agent("llamos|model-a|llamos-111"))  # type: ignore[arg-type]
    b = TieredPurifier(screen, Agent("llamos|model-b|llamos-111"))  # type: ignore[arg-type]
    c = TieredPurifier(screen, Agent("llamos|model-a|llamos-111"), always=True)  # type: ignore[arg-type]
    assert len({a.cache_identity, b.cache_identity, c.cache_identity}) == 3
    assert screen.cache_identity in a.cache_identity
    assert LexicalPurifier(screen_threshold=0.7).cache_identity != screen.cache_identity
