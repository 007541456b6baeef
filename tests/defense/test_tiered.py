"""`TieredPurifier`: the lexical screen in front of an agent."""

from __future__ import annotations

import pytest

from llamos_gateway.defense.protocol import Purifier, PurifyRequest, PurifyResult
from llamos_gateway.defense.tiered import TieredPurifier
from llamos_gateway.errors import DefenseUnavailable
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.lexical.scope import UnknownWordScope
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


class Rewriter:
    """A scripted defense agent: answers each text with the rewrite it was given for it."""

    name = "llamos"
    cache_identity = "rewriter"

    def __init__(self, rewrites: dict[str, str]) -> None:
        self.rewrites = rewrites
        self.seen: list[str] = []

    async def purify(self, request: PurifyRequest) -> PurifyResult:
        self.seen.append(request.text)
        purified = self.rewrites.get(request.text, request.text)
        return PurifyResult(original=request.text, purified=purified, backend=self.name,
                            agent_called=True)


def scoped(purifier: LexicalPurifier, agent: Purifier) -> TieredPurifier:
    return TieredPurifier(screen=purifier, agent=agent, always=True,
                          scope=UnknownWordScope(purifier.lexicon))


async def test_words_scope_keeps_only_repairs_of_unknown_words(
        purifier: LexicalPurifier) -> None:
    # What the bundled 135M model does besides repairing: capitals, the space before the full
    # stop, a real word "corrected", a name changed, a word dropped.
    text = "audrey said the plot is pefrct , and rather bleak ."
    agent = Rewriter({text: "Audrey said the plot is perfect, and really bleak performances."})
    result = await scoped(purifier, agent).purify(PurifyRequest(text=text))
    assert agent.seen == [text]  # the screen has no repair for `pefrct`
    assert result.purified == "audrey said the plot is perfect , and rather bleak ."
    assert [(e.before, e.after, e.rule) for e in result.edits] == [
        ("pefrct", "perfect", "agent_word")]
    assert "agent_edits_vetoed" in result.reasons
    assert {"before": "rather", "after": "really"} in result.extra["vetoed"]


async def test_words_scope_vetoes_what_the_lexicon_cannot_vouch_for(
        purifier: LexicalPurifier) -> None:
    cases = {
        "the plot is xqzvbt": "the plot is boring",       # more than two edits away
        "the plot is pefrct": "the plot is pefrect",        # into another unknown word
        "the plot is PEFRCT": "the plot is Perfect",        # the case changes
        "the plot is tedious": "the plot is tedius",        # a known word made unknown
    }
    agent = Rewriter(cases)
    tiered = scoped(purifier, agent)
    for text in cases:
        result = await tiered.purify(PurifyRequest(text=text))
        assert agent.seen[-1] == text and result.purified == text, text
        assert "agent_edits_vetoed" in result.reasons


async def test_words_scope_leaves_protected_spans_and_the_screens_repairs(
        purifier: LexicalPurifier) -> None:
    # `flim` is the screen's repair (film); `fooo_barr` is an identifier; the agent may not
    # touch either, and may repair `pefrct`.
    text = "a flim , the plot is pefrct , see `fooo_barr`"
    screened = (await purifier.purify(PurifyRequest(text=text))).purified
    assert "film" in screened and "pefrct" in screened and "fooo_barr" in screened
    rewrite = screened.replace("film", "flim").replace("pefrct", "perfect").replace(
        "fooo_barr", "foo_bar")
    result = await scoped(purifier, Rewriter({screened: rewrite})).purify(
        PurifyRequest(text=text))
    assert result.purified == screened.replace("pefrct", "perfect")
    assert [e.rule for e in result.edits][-1] == "agent_word"


async def test_without_a_scope_the_agents_output_is_taken_whole(
        purifier: LexicalPurifier) -> None:
    text = "the plot is tedious"
    agent = Rewriter({text: "The plot is boring."})
    result = await TieredPurifier(screen=purifier, agent=agent, always=True).purify(
        PurifyRequest(text=text))
    assert result.purified == "The plot is boring." and "agent_edits_vetoed" not in result.reasons


def test_cache_identity_names_the_scope(purifier: LexicalPurifier) -> None:
    agent = Rewriter({})
    whole = TieredPurifier(screen=purifier, agent=agent)
    words = TieredPurifier(screen=purifier, agent=agent, scope=UnknownWordScope(purifier.lexicon))
    assert whole.cache_identity != words.cache_identity
    assert "unknown-words" in words.cache_identity


async def test_words_scope_on_a_long_text(purifier: LexicalPurifier) -> None:
    # past the inline bound the alignment runs in a worker thread; repeated words (one token
    # thousands of times) once made it quadratic
    text = "the plot is pefrct , and rather bleak . " * 400
    screened = (await purifier.purify(PurifyRequest(text=text))).purified
    rewrite = screened.replace("pefrct", "perfect").replace("rather", "really", 3)
    result = await scoped(purifier, Rewriter({screened: rewrite})).purify(
        PurifyRequest(text=text))
    assert result.purified == screened.replace("pefrct", "perfect")
    assert len(result.extra["vetoed"]) == 3
