"""The LLM attacker and the LLAMOS defender against scripted fake LLMs on 127.0.0.1.

The attacker model and the defense model are two `FakeOpenAI` servers; the target is a
keyword classifier (positive iff the word "good" is there), so the script decides exactly
which attempt fools it. One example, two attempts per round, two rounds, one at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from llamos_gateway.arena.attacker_prompts import load_attacker_prompts
from llamos_gateway.arena.config import ArenaConfig
from llamos_gateway.arena.engine import Arena, RoundPlan
from llamos_gateway.arena.judge import ClassificationJudge
from llamos_gateway.arena.llm_attacker import LLMAttacker
from llamos_gateway.arena.roles import Lesson, Proposal
from llamos_gateway.arena.setup import build_defender
from llamos_gateway.arena.store import RunStore
from llamos_gateway.defense.protocol import PassthroughPurifier, PurifyRequest
from llamos_gateway.evaluation.datasets import Example
from llamos_gateway.evaluation.protocols import LabelScores, TextInput, as_text
from llamos_gateway.settings import PROMPTS_DIR, load_settings
from llamos_gateway.testing import FakeOpenAI, Reply, ServedApp
from llamos_gateway.wiring import open_components

CLEAN = "a good film with a warm heart and fine acting ."
KEPT = "a good film with a warm heart and fine acting !"      # label kept
FOOLS = "a g00d film with a warm heart and fine acting ."     # label flipped, 1 word of 11
LATER = "a goood film with a warm heart and fine acting ."


class KeywordTarget:
    name = "keyword"
    labels: tuple[str, ...] = ("negative", "positive")

    async def predict(self, inputs: Sequence[TextInput]) -> LabelScores:
        return LabelScores.one_hot(self.labels, [int("good" in as_text(i).split())
                                                 for i in inputs])


@pytest.fixture(scope="module")
def attacker_server() -> Iterator[tuple[FakeOpenAI, str]]:
    fake = FakeOpenAI()
    with ServedApp(fake) as served:
        yield fake, served.url + "/v1"


def agent(purified: str, changed: bool) -> Reply:
    return Reply(content=json.dumps({"purified": purified, "changed": changed}))


def prompt_of(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list)
    return str(messages[-1]["content"])


async def test_attacker_feedback_and_defender_pool_grow(
        attacker_server: tuple[FakeOpenAI, str], fake_upstream: FakeOpenAI,
        fake_url: str, tmp_path: Path) -> None:
    attacker_fake, attacker_url = attacker_server
    attacker_fake.reset()
    settings = load_settings(  # pass-through aliases only: litellm's import costs seconds
        models={"attacker": {"model": "openai/fake-model", "api_base": attacker_url},
                "fake": {"model": "openai/fake-model", "api_base": fake_url}},
        defense={"backend": "llamos", "model": "fake", "timeout_s": 5.0, "max_retries": 0},
        limits={"max_retries": 0})
    # round 1: attempt 1 keeps the label, attempt 2 fools the target (the defense misses it)
    attacker_fake.enqueue(Reply(content=KEPT), Reply(content=f'"{FOOLS}"'))
    fake_upstream.enqueue(agent(CLEAN, False), agent(KEPT, False), agent(FOOLS, False))
    # round 2: the defense now repairs the old trick; the attacker's second try gets through
    attacker_fake.enqueue(Reply(content=FOOLS), Reply(content=LATER))
    fake_upstream.enqueue(agent(CLEAN, False), agent(CLEAN, True), agent(LATER, False))

    config = ArenaConfig(attacker="llm", attacker_model="attacker", defense="llamos", rounds=2,
                         output_dir=tmp_path, defender_pool=4)
    async with open_components(settings, purifier=PassthroughPurifier()) as components:
        route = components.router.resolve("attacker")
        attacker = LLMAttacker(upstream=route.upstream, model=route.upstream_model,
                               prompts=load_attacker_prompts(PROMPTS_DIR / "attacker"),
                               instructions=("C1",))
        defender, version = build_defender(config, settings, components.builder, "sentiment")
        arena = Arena(examples=[Example(7, (CLEAN,), 1)], labels=KeywordTarget.labels,
                      target=KeywordTarget(), defense=components.defense, defender=defender,
                      attacker=attacker,
                      judge=ClassificationJudge(),
                      plan=RoundPlan(rounds=2, attempts=2, patience=0, task="sentiment"),
                      store=RunStore(tmp_path, config.run_key()))
        records = await arena.run()

    assert [(r.successes, r.attempts, r.defender_pool, r.attacker_pool) for r in records] == [
        (1, 2, 1, 1), (1, 2, 2, 2)]
    assert records[0].defense_calls == 3 and records[0].attack_queries == 2

    prompts = [prompt_of(b) for b in attacker_fake.bodies]
    assert len(prompts) == 4
    instruction = load_attacker_prompts(PROMPTS_DIR / "attacker").instructions["C1"]
    assert all(instruction in p for p in prompts)
    assert "earlier attempts" not in prompts[0]
    assert f'attempt 1: "{KEPT}" -> after the defense: "{KEPT}" -> classified as positive' \
        in prompts[1]
    assert f"{CLEAN} -> {FOOLS}" in prompts[2]  # round 2 shows its own past success

    defense_bodies = fake_upstream.bodies
    assert len(defense_bodies) == 6
    round1, round2 = defense_bodies[1]["messages"], defense_bodies[4]["messages"]
    assert not any(FOOLS in m["content"] for m in round1)
    demos = round2[1:-1]  # the in-context turns between the system and the input
    assert len(demos) == len(round1[1:-1]) + 2
    assert FOOLS in demos[0]["content"]
    assert json.loads(demos[1]["content"]) == {"purified": CLEAN, "changed": True}
    assert defender.pool == (FOOLS, LATER)
    assert version is not None and version.startswith("llamos-")

    transcript = [json.loads(x) for x in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    assert [(t["round"], t["attempt"], t["verdict"]) for t in transcript] == [
        (1, 1, "label_kept"), (1, 2, "success"), (2, 1, "label_kept"), (2, 2, "success")]
    assert transcript[2]["purified"] == CLEAN


async def test_tiered_defender_keeps_its_screen_and_grows_the_agent_pool(
        fake_upstream: FakeOpenAI, fake_url: str, tmp_path: Path) -> None:
    settings = load_settings(models={"fake": {"model": "openai/fake-model", "api_base": fake_url}},
                             defense={"model": "fake", "max_retries": 0})
    config = ArenaConfig(defense="tiered", output_dir=tmp_path, defender_pool=1)
    async with open_components(settings, purifier=PassthroughPurifier()) as components:
        defender, _ = build_defender(config, settings, components.builder, "sentiment")
        assert defender.name == "tiered"
        defender.learn([Lesson(CLEAN, FOOLS, FOOLS, "C1"), Lesson(CLEAN, LATER, LATER, "C1")])
        assert defender.pool == (LATER,)  # capped, most recent kept
        result = await defender.purify(PurifyRequest(CLEAN, task="sentiment"))
    assert result.purified == CLEAN and not result.agent_called
    assert fake_upstream.bodies == []  # clean text passed the screen: no agent call


class TwoTries:
    """Proposes KEPT (which keeps the label), then LATER; learns nothing."""

    name = "one-trick"
    pool_size = 0

    async def propose(self, task: object, oracle: object) -> Proposal:
        return Proposal(KEPT if task.attempt == 1 else LATER, "C1")  # type: ignore[attr-defined]

    def learn(self, outcomes: object) -> None:
        return None

    def snapshot(self) -> dict[str, object]:
        return {}

    def restore(self, state: object) -> None:
        return None


@pytest.mark.parametrize("policy", ["open", "closed"])
async def test_defender_failures_are_counted_and_the_round_goes_on(
        fake_upstream: FakeOpenAI, fake_url: str, tmp_path: Path, policy: str) -> None:
    settings = load_settings(
        models={"fake": {"model": "openai/fake-model", "api_base": fake_url}},
        defense={"backend": "llamos", "model": "fake", "timeout_s": 0.5, "max_retries": 0,
                 "fail_policy": policy}, limits={"max_retries": 0})
    # the clean text is purified; the first attack gets prose back, the second a timeout
    fake_upstream.enqueue(agent(CLEAN, False), Reply(content="Looks fine to me!"),
                          Reply(delay_s=2.0, content="late"))
    config = ArenaConfig(defense="llamos", rounds=1, output_dir=tmp_path)
    async with open_components(settings, purifier=PassthroughPurifier()) as components:
        defender, _ = build_defender(config, settings, components.builder, "sentiment")
        arena = Arena(examples=[Example(7, (CLEAN,), 1)], labels=KeywordTarget.labels,
                      target=KeywordTarget(), defense=components.defense, defender=defender,
                      attacker=TwoTries(), judge=ClassificationJudge(),
                      plan=RoundPlan(rounds=1, attempts=2, patience=0, task="sentiment"),
                      store=RunStore(tmp_path, config.run_key()))
        (record,) = await arena.run()
    transcript = [json.loads(x) for x in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    if policy == "open":  # the attacks went on as they were; LATER flips the keyword target
        assert record.defense_failures == {"defense_timeout": 1, "defense_unparseable": 1}
        assert [(t["purified"], t["verdict"]) for t in transcript] == [
            (KEPT, "label_kept"), (LATER, "success")]
    else:  # refused: no answer, which counts as wrong, so the first attempt already "won"
        assert record.defense_failures == {"defense_unparseable": 1}
        assert transcript[0]["purified"] is None
        assert transcript[0]["adversarial_prediction"] is None


async def test_meta_replies_and_destroyed_sentences_never_count(
        attacker_server: tuple[FakeOpenAI, str], tmp_path: Path) -> None:
    """The issue's replies: text about the task is a failed attempt (nothing classified); a
    candidate that flips the label but drops the sentence's content is rejected, counted in
    the ASR without the floor only, and listed in arena.md."""
    from llamos_gateway.arena.report import write_report
    from llamos_gateway.evaluation.fidelity import FidelityFilter

    attacker_fake, attacker_url = attacker_server
    attacker_fake.reset()
    meta = ("The original sentence can be reorganized to improve its clarity and grammar. Here "
            "is an example of how you could do this:")
    attacker_fake.enqueue(Reply(content=meta), Reply(content="a bad movie with no story at all ."))
    settings = load_settings(models={"attacker": {"model": "openai/fake-model",
                                                  "api_base": attacker_url}},
                             limits={"max_retries": 0})
    config = ArenaConfig(attacker="llm", attacker_model="attacker", defense="none",
                         output_dir=tmp_path)
    judge = ClassificationJudge(FidelityFilter())
    async with open_components(settings, purifier=PassthroughPurifier()) as components:
        route = components.router.resolve("attacker")
        attacker = LLMAttacker(upstream=route.upstream, model=route.upstream_model,
                               prompts=load_attacker_prompts(PROMPTS_DIR / "attacker"),
                               instructions=("S2",))
        defender, _ = build_defender(config, settings, components.builder, "sentiment")
        arena = Arena(examples=[Example(7, (CLEAN,), 1)], labels=KeywordTarget.labels,
                      target=KeywordTarget(), defense=components.defense, defender=defender,
                      attacker=attacker, judge=judge,
                      plan=RoundPlan(rounds=1, attempts=2, patience=0, task="sentiment"),
                      store=RunStore(tmp_path, config.run_key()))
        (record,) = await arena.run()

    transcript = [json.loads(x) for x in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    assert [(t["fidelity_reason"], t["flipped"], t["success"]) for t in transcript] == [
        ("unparsed", False, False), ("content", True, False)]
    assert transcript[0]["adversarial"] == meta and transcript[0]["queries"] == 0
    second_prompt = prompt_of(attacker_fake.bodies[1])
    assert "(no sentence found in your reply)" in second_prompt and "unparsed" not in second_prompt
    assert (record.successes, record.attack_success_rate) == (0, 0.0)
    assert record.unfiltered_attack_success_rate == 1.0
    assert record.candidates == {"S2": 2}
    assert record.rejections == {"S2": {"unparsed": 1, "content": 1}}
    assert [r["reason"] for r in record.rejected] == ["unparsed", "content"]
    assert attacker.pool_size == 0 and defender.pool == ()

    write_report(tmp_path, {"fidelity": judge.filter.describe()}, [record])
    body = json.loads((tmp_path / "arena.json").read_text())
    assert body["fidelity"]["similarity"] == "skipped: no similarity model"
    assert body["rounds"][0]["rejections"] == {"S2": {"unparsed": 1, "content": 1}}
    report = (tmp_path / "arena.md").read_text()
    assert "| S2 | 2 | 100% | content 1, unparsed 1 |" in report
    assert "## Rejected candidates (2)" in report
    assert "a bad movie with no story at all ." in report and "reorganized to improve" in report
