"""Replay PromptAttack files (Xu et al., ICLR 2024) against a target, defense off and on.

A file maps each perturbation instruction (C1..C3 character, W1..W3 word, S1..S3 sentence)
to strategies (`zero—shot` with an EM DASH in the published files, `few-shot`) holding
`{idx, sentence, label}` lists. The published sentences are raw attacker-LLM outputs, so each
is checked by the fidelity filter (`fidelity.FidelityFilter`: a rewrite at all, content words
kept, the word modification ratio at C and W level, the semantic floor at every level) against
the clean sentence of the same `idx`. Success counts only where the target was right on the
clean input, is wrong on the candidate, and the candidate passed; a rejected candidate is a
failed attack. Each run also reports the ASR without the filter (every flip counts), the ASR
over the candidates that passed, and the rejections by reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llamos_gateway.defense import Defense
from llamos_gateway.errors import InvalidRequest, NotFound
from llamos_gateway.evaluation.datasets import Dataset, Example
from llamos_gateway.evaluation.defended import DefendedClassifier, DefenseStats
from llamos_gateway.evaluation.fidelity import FidelityFilter, changed_words
from llamos_gateway.evaluation.protocols import Classifier, TextInput, as_text
from llamos_gateway.evaluation.results import Evaluation, ExampleOutcome, RunResult, summarize
from llamos_gateway.evaluation.runner import OnRun, defended_targets

INSTRUCTIONS = ("C1", "C2", "C3", "W1", "W2", "W3", "S1", "S2", "S3")
STRATEGIES = ("zero-shot", "few-shot")


def normalize_strategy(key: str) -> str:
    """`zero—shot` (em dash, as published), `zero–shot`, `zero_shot` -> `zero-shot`."""
    return key.replace("\u2014", "-").replace("\u2013", "-").replace("_", "-").strip().lower()


@dataclass(frozen=True, slots=True)
class AdversarialItem:
    idx: int
    label: int
    text: str


@dataclass(frozen=True, slots=True)
class PromptAttackSet:
    source: str
    lists: Mapping[tuple[str, str], tuple[AdversarialItem, ...]]  # (instruction, strategy)


def load_promptattack(path: Path) -> PromptAttackSet:
    if not path.is_file():
        raise NotFound(f"PromptAttack file not found: {path}", param="file")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"PromptAttack file {path} is not JSON: {exc}", param="file") from exc
    if not isinstance(data, dict):
        raise InvalidRequest(f"PromptAttack file {path}: expected an object keyed by "
                             "instruction (C1..S3)", param="file")
    lists: dict[tuple[str, str], tuple[AdversarialItem, ...]] = {}
    for instruction, strategies in data.items():
        if instruction not in INSTRUCTIONS or not isinstance(strategies, dict):
            raise InvalidRequest(f"PromptAttack file {path}: unexpected key {instruction!r} "
                                 f"(expected {', '.join(INSTRUCTIONS)})", param="file")
        for key, items in strategies.items():
            lists[(instruction, normalize_strategy(key))] = tuple(
                _item(item, path, instruction, key) for item in items)
    return PromptAttackSet(str(path), lists)


def _item(item: object, path: Path, instruction: str, key: str) -> AdversarialItem:
    if not isinstance(item, dict) or not {"idx", "label"} <= item.keys():
        raise InvalidRequest(f"PromptAttack file {path}: {instruction}/{key} items need "
                             "idx, label and the text", param="file")
    text = item.get("sentence", item.get("sentence1", item.get("text")))
    return AdversarialItem(int(item["idx"]), int(item["label"]), str(text or ""))


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    instructions: tuple[str, ...] = INSTRUCTIONS
    strategies: tuple[str, ...] = STRATEGIES
    fidelity: FidelityFilter = FidelityFilter()


def _adversarial_input(example: Example, text: str) -> TextInput:
    """PromptAttack perturbs the first field (the sentence; the premise for pair tasks)."""
    return text if len(example.fields) == 1 else (text, *example.fields[1:])


async def replay(attack_set: PromptAttackSet, dataset: Dataset, target: Classifier,
                 defense: Defense | None, names: Sequence[str], options: ReplayOptions,
                 on_run: OnRun | None = None) -> Evaluation:
    started = time.perf_counter()
    by_idx = {e.idx: e for e in dataset.examples}
    defended = defended_targets(target, defense, names, dataset.task.purify_task)
    pipelines: dict[str, Classifier] = {"none": target, **defended}
    examples = list(dataset.examples)
    clean = {name: (await p.predict([e.input for e in examples])).predicted
             for name, p in pipelines.items()}
    clean_by_idx = {name: dict(zip((e.idx for e in examples), preds, strict=True))
                    for name, preds in clean.items()}
    accuracy = {name: float(np.mean([clean_by_idx[name][e.idx] == e.label for e in examples]))
                for name in pipelines}
    runs: list[RunResult] = []

    def so_far() -> Evaluation:
        return Evaluation(
            dataset=dataset.name, target=target.name, labels=target.labels, n=len(dataset),
            seed=0, clean_accuracy=accuracy["none"], runs=tuple(runs),
            wall_s=time.perf_counter() - started,
            meta={"source": attack_set.source,
                  "clean_accuracy_purified": {k: v for k, v in accuracy.items() if k != "none"},
                  "defense_failures": {n: dict(d.stats.failures) for n, d in defended.items()},
                  "fidelity": options.fidelity.describe()})

    for instruction in options.instructions:
        for strategy in options.strategies:
            items = [i for i in attack_set.lists.get((instruction, strategy), ())
                     if i.idx in by_idx]
            if not items:
                continue
            runs += await _replay_list(instruction, strategy, items, by_idx, target, defended,
                                       clean_by_idx, accuracy, options.fidelity)
            if on_run is not None:
                on_run(so_far())
    return so_far()


async def _replay_list(instruction: str, strategy: str, items: Sequence[AdversarialItem],
                       by_idx: Mapping[int, Example], target: Classifier,
                       defended: Mapping[str, DefendedClassifier],
                       clean: Mapping[str, Mapping[int, int]], accuracy: Mapping[str, float],
                       fidelity: FidelityFilter) -> list[RunResult]:
    examples = [by_idx[i.idx] for i in items]
    verdicts = await asyncio.to_thread(lambda: [  # the similarity runs a model: off the loop
        fidelity.check(as_text(e.fields[0]), i.text, instruction)
        for e, i in zip(examples, items, strict=True)])
    adversarial = [_adversarial_input(e, i.text) for e, i in zip(examples, items, strict=True)]
    pass_rate = sum(v.passed for v in verdicts) / len(verdicts)
    rejections = Counter(v.reason for v in verdicts if not v.passed)
    runs = []
    for name in ("none", *defended):
        t0 = time.perf_counter()
        purified: list[TextInput | None] = [None] * len(adversarial)
        spent = DefenseStats(0, 0, 0.0)
        if name == "none":
            predicted = (await target.predict(adversarial)).predicted
        else:
            pipeline = defended[name]
            before = pipeline.stats
            purified = await pipeline.purify_many(adversarial)
            predicted = (await pipeline.classify(purified)).predicted
            spent = pipeline.stats.since(before)
        outcomes = []
        flipped = passed = 0
        for e, adv, pred, pur, v in zip(examples, adversarial, predicted, purified, verdicts,
                                        strict=True):
            before_label = int(clean[name][e.idx])
            attacked = before_label == e.label
            flipped += attacked and int(pred) != e.label
            passed += attacked and v.passed
            status = ("skipped" if not attacked else
                      "succeeded" if int(pred) != e.label and v.passed else "failed")
            outcomes.append(ExampleOutcome(e.idx, e.label, e.input, adv, pur, status,
                                           before_label, int(pred), 1,
                                           changed_words(as_text(e.input), as_text(adv)),
                                           v.reason))
        runs.append(summarize(outcomes, recipe=f"{instruction}/{strategy}", defense=name,
                              mode="replay", wall_s=time.perf_counter() - t0,
                              queries=len(outcomes), fidelity_pass_rate=pass_rate,
                              defense_calls=spent.calls, defense_latency_ms=spent.mean_ms,
                              defense_failures=dict(spent.failures),
                              clean_accuracy_purified=None if name == "none" else accuracy[name],
                              unfiltered_succeeded=flipped, passed_attacked=passed,
                              fidelity_rejections=dict(rejections),
                              defense_prompt_tokens=spent.prompt_tokens_per_call))
    return runs
