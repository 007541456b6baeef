"""The rounds engine: attack every example against the defended target, judge, learn, repeat.

Each round: purify and classify the clean inputs (robust baseline, clean-changed rate); for
every example the defended target got right, up to `attempts` attacker proposals, each
purified, classified and judged, the feedback of one attempt going into the next; then the
defender learns from the attacks that beat it and the attacker from every outcome. State is
saved after each round (`RunStore`), so an interrupted run resumes at the next round.
The defender purifies through the process's `Defense` (`DefendedClassifier`): a defense
failure follows its failure policy and is counted in the round's `defense_failures`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llamos_gateway.arena.judge import unparsed
from llamos_gateway.arena.roles import (
    Attacker,
    AttackTask,
    Defender,
    Feedback,
    Judge,
    Lesson,
    Outcome,
    Proposal,
    RoundRecord,
    Target,
)
from llamos_gateway.arena.store import RunStore
from llamos_gateway.defense import Defense
from llamos_gateway.defense.memo import MemoPurifier
from llamos_gateway.evaluation.datasets import Example
from llamos_gateway.evaluation.defended import DefendedClassifier
from llamos_gateway.evaluation.protocols import LabelScores

REFUSED = "(refused by the defense)"
UNPARSED = "(no sentence found in your reply)"
REJECTED_KEPT = 100  # rejected candidates kept per round for the report


@dataclass(frozen=True, slots=True)
class RoundPlan:
    rounds: int = 5
    attempts: int = 2
    patience: int = 2
    tolerance: float = 0.01
    seed: int = 0
    concurrency: int = 1
    task: str | None = None


class CountingOracle:
    def __init__(self, defended: DefendedClassifier) -> None:
        self._defended = defended
        self.queries = 0

    async def scores(self, texts: Sequence[str]) -> LabelScores:
        self.queries += len(texts)
        return await self._defended.predict(list(texts))


def converged(records: Sequence[RoundRecord], patience: int, tolerance: float) -> bool:
    """ASR moved by less than `tolerance` in each of the last `patience` rounds."""
    if patience < 1 or len(records) <= patience:
        return False
    rates = [r.attack_success_rate for r in records[-patience - 1:]]
    return all(abs(b - a) < tolerance for a, b in zip(rates, rates[1:], strict=False))


class Arena:
    def __init__(self, *, examples: Sequence[Example], labels: tuple[str, ...], target: Target,
                 defense: Defense, defender: Defender, attacker: Attacker, judge: Judge,
                 plan: RoundPlan, store: RunStore) -> None:
        self.examples = list(examples)
        self.defense = defense
        self.labels = labels
        self.target = target
        self.defender = defender
        self.attacker = attacker
        self.judge = judge
        self.plan = plan
        self.store = store

    async def run(self, on_round: Callable[[RoundRecord], None] | None = None,
                  on_progress: Callable[[int, int], None] | None = None) -> list[RoundRecord]:
        records = self.store.resume(self.attacker, self.defender)
        for record in records:
            if on_round is not None:
                on_round(record)
        while len(records) < self.plan.rounds and not converged(
                records, self.plan.patience, self.plan.tolerance):
            outcomes, record = await self.play(len(records) + 1, on_progress)
            records.append(record)
            self.store.save_round(record, outcomes, self.labels, self.attacker, self.defender)
            if on_round is not None:
                on_round(record)
        stopped = "converged" if converged(records, self.plan.patience,
                                           self.plan.tolerance) else "rounds"
        self.store.finish(stopped)
        return records

    async def play(self, number: int, on_progress: Callable[[int, int], None] | None = None
                   ) -> tuple[list[Outcome], RoundRecord]:
        started = time.perf_counter()
        memo = MemoPurifier(self.defender)
        defended = DefendedClassifier(self.target, self.defense, purifier=memo,
                                      task=self.plan.task)
        texts = [e.fields[0] for e in self.examples]
        clean_purified = await defended.purify_texts(texts)
        clean = (await defended.classify(clean_purified)).predicted
        oracle = CountingOracle(defended)
        slots = asyncio.Semaphore(self.plan.concurrency)
        done = 0

        async def one(example: Example, prediction: int) -> list[Outcome]:
            nonlocal done
            async with slots:
                result = await self._attack(number, example, prediction, defended, oracle)
            done += 1
            if on_progress is not None:
                on_progress(done, len(self.examples))
            return result

        per_example = await asyncio.gather(*(one(e, int(p))
                                             for e, p in zip(self.examples, clean, strict=True)))
        outcomes = [o for group in per_example for o in group]
        lessons = [Lesson(o.original, o.adversarial, o.purified, o.instruction)
                   for o in outcomes if o.verdict.success]
        self.defender.learn(lessons)
        self.attacker.learn(outcomes)
        correct = sum(int(p) == e.label for e, p in zip(self.examples, clean, strict=True))
        changed = [o for o in outcomes if o.adversarial != o.original]
        n = len(self.examples)
        record = RoundRecord(
            round=number,
            attack_success_rate=len(lessons) / correct if correct else 0.0,
            robust_accuracy=(correct - len(lessons)) / n if n else 0.0,
            fidelity_pass_rate=(sum(o.verdict.fidelity.passed for o in changed) / len(changed)
                                if changed else 0.0),
            clean_changed_rate=sum(p is not None and p != t for p, t in zip(
                clean_purified, texts, strict=True)) / n if n else 0.0,
            attacker_pool=self.attacker.pool_size, defender_pool=len(self.defender.pool),
            defense_calls=memo.calls, attack_queries=sum(o.queries for o in outcomes),
            examples=n, clean_correct=correct, successes=len(lessons), attempts=len(outcomes),
            seconds=round(time.perf_counter() - started, 3),
            defense_failures=dict(defended.stats.failures),
            defense_prompt_tokens=round(defended.stats.prompt_tokens_per_call, 1),
            **judged(outcomes, correct))
        return outcomes, record

    async def _attack(self, number: int, example: Example, clean: int,
                      defended: DefendedClassifier, oracle: CountingOracle) -> list[Outcome]:
        if clean != example.label:
            return []
        text = example.fields[0]
        feedback: list[Feedback] = []
        outcomes: list[Outcome] = []
        for attempt in range(1, self.plan.attempts + 1):
            task = AttackTask(example.idx, text, example.label, self.labels, number, attempt,
                              self.plan.seed, tuple(feedback))
            proposal = await self.attacker.propose(task, oracle)
            outcome = await self._judge(number, attempt, example, clean, proposal, defended)
            outcomes.append(outcome)
            if outcome.verdict.success or proposal.instruction == "none":
                break
            predicted = outcome.adversarial_prediction
            feedback.append(Feedback(
                adversarial=proposal.text,
                purified=outcome.purified or (REFUSED if proposal.parsed else UNPARSED),
                predicted=self.labels[predicted] if predicted >= 0 else "no valid answer",
                fidelity_passed=outcome.verdict.fidelity.passed, reason=outcome.verdict.reason,
                instruction=proposal.instruction))
        return outcomes

    async def _judge(self, number: int, attempt: int, example: Example, clean: int,
                     proposal: Proposal, defended: DefendedClassifier) -> Outcome:
        text = example.fields[0]
        if not proposal.parsed:  # no sentence in the attacker's reply: nothing to classify
            return Outcome(round=number, idx=example.idx, attempt=attempt, original=text,
                           adversarial=proposal.text, purified=None, label=example.label,
                           clean_prediction=clean, adversarial_prediction=-1,
                           instruction=proposal.instruction, queries=proposal.queries,
                           verdict=unparsed(proposal.text))
        purified = await defended.purify_text(proposal.text)
        predicted = int((await defended.classify([purified])).predicted[0])
        verdict = await asyncio.to_thread(
            self.judge.judge, original=text, adversarial=proposal.text, label=example.label,
            clean_prediction=clean, adversarial_prediction=predicted,
            instruction=proposal.instruction)
        return Outcome(round=number, idx=example.idx, attempt=attempt, original=text,
                       adversarial=proposal.text, purified=purified, label=example.label,
                       clean_prediction=clean, adversarial_prediction=predicted,
                       instruction=proposal.instruction, queries=proposal.queries + 1,
                       verdict=verdict)


def judged(outcomes: Sequence[Outcome], correct: int) -> dict[str, Any]:
    """The judge's side of a round record: ASR without the floor (any candidate flipped the
    label) and over the examples that had a candidate pass, and the rejections by instruction
    and reason, with the rejected candidates themselves."""
    flipped = {o.idx for o in outcomes if o.verdict.flipped}
    passed = {o.idx for o in outcomes if o.verdict.fidelity.passed}
    successes = sum(o.verdict.success for o in outcomes)
    candidates: Counter[str] = Counter()
    rejections: dict[str, Counter[str]] = {}
    rejected: list[dict[str, Any]] = []
    for o in outcomes:
        if o.verdict.reason == "clean_wrong":
            continue
        candidates[o.instruction] += 1
        rule = o.verdict.fidelity.rule
        if o.verdict.fidelity.passed or rule == "unchanged":
            continue
        rejections.setdefault(o.instruction, Counter())[rule] += 1
        if len(rejected) < REJECTED_KEPT:
            rejected.append({"idx": o.idx, "attempt": o.attempt, "instruction": o.instruction,
                             "reason": rule, "flipped": o.verdict.flipped,
                             "similarity": o.verdict.fidelity.similarity,
                             "word_modification_ratio": round(
                                 o.verdict.fidelity.word_modification_ratio, 4),
                             "original": o.original, "candidate": o.adversarial})
    return {"unfiltered_attack_success_rate": len(flipped) / correct if correct else 0.0,
            "passed_attack_success_rate": successes / len(passed) if passed else 0.0,
            "candidates": dict(candidates),
            "rejections": {k: dict(v) for k, v in rejections.items()}, "rejected": rejected}
