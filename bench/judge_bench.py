"""Benchmark: the judge's fidelity floor (issue 18).

    .venv/bin/python bench/judge_bench.py --calibrate        # labelled pairs -> the floor
    .venv/bin/python bench/judge_bench.py --cost             # ms per pair, one core
    .venv/bin/python bench/judge_bench.py --promptattack --limit 40

--calibrate scores every pair of llamos_gateway/data/judge/labelled.jsonl with the local
similarity and prints the score range per kind and the floor (the middle of the gap between
the lowest `pass` and the highest `fail`). --cost times the similarity of one pair (both texts
embedded afresh, and with the original's embeddings cached, as the judge scores many candidates
of one original), median of --runs. --promptattack replays the bundled PromptAttack SST-2
entries against local/sst2-sentiment: per instruction and strategy the share passing the
paper's filter as it runs offline (word modification ratio <= 0.15 at C and W level; the
BERTScore >= 0.92 floor needs RoBERTa-large, not here) beside the share passing this judge's
filter (without the similarity over all 872 sentences, with it over --limit sentences), and
the ASR with no filter, with the paper's offline filter and with this judge's filter.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable

from llamos_gateway.arena.judge import level
from llamos_gateway.evaluation.datasets import DATA, load_dataset
from llamos_gateway.evaluation.fidelity import (
    FidelityFilter,
    fidelity_text,
    word_modification_ratio,
)
from llamos_gateway.evaluation.local_model import LocalSentimentClassifier
from llamos_gateway.evaluation.promptattack import INSTRUCTIONS, STRATEGIES, load_promptattack
from llamos_gateway.evaluation.report import markdown_table
from llamos_gateway.evaluation.similarity import (
    LOCAL_FLOOR,
    HiddenStateSimilarity,
    reference_sentences,
)
from llamos_gateway.localllm import LocalModel, bundled_model_path

LABELLED = DATA / "judge" / "labelled.jsonl"
PROMPTATTACK = DATA / "promptattack" / "sst-2.json"


def local_similarity(model: LocalModel, cache_size: int = 512) -> HiddenStateSimilarity:
    return HiddenStateSimilarity(model, reference_sentences(), cache_size=cache_size)


def calibrate(model: LocalModel) -> None:
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines()]
    similarity = local_similarity(model)
    scores: dict[str, list[float]] = {}
    expect: dict[str, str] = {}
    judged = []
    for row in rows:
        f1 = similarity.score(row["original"], row["candidate"]).f1
        scores.setdefault(row["kind"], []).append(f1)
        expect[row["kind"]] = row["expect"]
        judged.append((row, f1))
    table = [(kind, expect[kind], str(len(v)), f"{min(v):.3f}", f"{statistics.median(v):.3f}",
              f"{max(v):.3f}") for kind, v in scores.items()]
    print(markdown_table(("kind", "expect", "pairs", "min F1", "median F1", "max F1"), table))
    lowest_pass = min(f for r, f in judged if r["expect"] == "pass")
    highest_fail = max(f for r, f in judged if r["expect"] == "fail")
    floor = (lowest_pass + highest_fail) / 2
    print(f"\nlowest pass {lowest_pass:.3f}, highest fail {highest_fail:.3f}: floor {floor:.3f} "
          f"(in use: LOCAL_FLOOR = {LOCAL_FLOOR})")
    fidelity = FidelityFilter(similarity=similarity)
    for name, passes in (("similarity alone", lambda r, f: f >= LOCAL_FLOOR),
                         ("whole filter", lambda r, f: fidelity.check(
                             r["original"], r["candidate"],
                             "S2" if r["kind"] == "paraphrase" else "C1").passed)):
        right = sum(passes(r, f) == (r["expect"] == "pass") for r, f in judged)
        print(f"{name} at {LOCAL_FLOOR}: {right}/{len(judged)} pairs labelled right")


def cost(model: LocalModel, runs: int) -> None:
    rows = [json.loads(line) for line in LABELLED.read_text("utf-8").splitlines()]
    pairs = [(r["original"], r["candidate"]) for r in rows[:runs]]
    warm = local_similarity(model)
    warm.score(*pairs[0])  # the centring vector and the context, once
    fresh, cached = [], []
    for original, candidate in pairs:
        similarity = local_similarity(model, cache_size=0)
        similarity._center = warm._center  # noqa: SLF001 - same centring, no cache
        t0 = time.perf_counter()
        similarity.score(original, candidate)
        fresh.append((time.perf_counter() - t0) * 1000)
        warm.score(original, original)  # the original's embeddings now cached
        t0 = time.perf_counter()
        warm.score(original, candidate + " ")
        cached.append((time.perf_counter() - t0) * 1000)
    tokens = statistics.median(model.count_tokens(c) for _, c in pairs)
    print(markdown_table(("measure", "median ms", "min ms", "max ms", "pairs"), [
        ("pair, both texts embedded", f"{statistics.median(fresh):.0f}", f"{min(fresh):.0f}",
         f"{max(fresh):.0f}", str(len(fresh))),
        ("pair, original cached", f"{statistics.median(cached):.0f}", f"{min(cached):.0f}",
         f"{max(cached):.0f}", str(len(cached)))]))
    print(f"\none thread (n_threads=1), median candidate {tokens:.0f} tokens; target <= 50 ms")


def promptattack(model: LocalModel | None, limit: int, seed: int,
                 instructions: tuple[str, ...] = INSTRUCTIONS) -> None:
    dataset = load_dataset("sst2")
    attack = load_promptattack(PROMPTS := PROMPTATTACK)
    target = LocalSentimentClassifier()
    by_idx = {e.idx: e for e in dataset.examples}
    clean = dict(zip(by_idx, target.predict_sync([e.input for e in dataset.examples]).predicted,
                     strict=True))
    subset = {e.idx for e in dataset.select(limit, seed).examples}
    no_similarity = FidelityFilter()
    floored = FidelityFilter(similarity=local_similarity(model)) if model is not None else None
    rows = []
    for instruction in instructions:
        for strategy in STRATEGIES:
            items = [i for i in attack.lists.get((instruction, strategy), ()) if i.idx in by_idx]
            predicted = target.predict_sync([i.text for i in items]).predicted
            rows.append(_row(instruction, strategy, items, predicted, by_idx, clean, subset,
                             no_similarity, floored))
    print(f"PromptAttack SST-2 ({PROMPTS.name}) against local/sst2-sentiment, no defense")
    print(f"judge: {fidelity_text((floored or no_similarity).describe())}\n")
    print(markdown_table(("list", "n", "pass paper (offline)", "pass judge, no sim.",
                          "rejected why (no sim.)", f"n sim. (--limit {limit})",
                          "pass paper", "pass judge", "rejected why", "ASR no filter",
                          "ASR paper", "ASR judge", "ASR of passed"), rows))


def _row(instruction: str, strategy: str, items: list, predicted: list, by_idx: dict,
         clean: dict, subset: set[int], no_similarity: FidelityFilter,
         floored: FidelityFilter | None) -> tuple[str, ...]:
    def paper(original: str, candidate: str) -> bool:
        changed = " ".join(candidate.split()) != " ".join(original.split())
        return changed and (level(instruction) == "S"
                            or word_modification_ratio(original, candidate) <= 0.15)

    def share(check: Callable[[str, str], bool], chosen: list) -> float:
        return sum(check(by_idx[i.idx].fields[0], i.text) for i in chosen) / max(1, len(chosen))

    def why(fidelity: FidelityFilter, chosen: list) -> str:
        reasons = Counter(fidelity.check(by_idx[i.idx].fields[0], i.text, instruction).reason
                          for i in chosen)
        reasons.pop("ok", None)
        return ", ".join(f"{k} {v}" for k, v in reasons.most_common())

    def judge(fidelity: FidelityFilter) -> Callable[[str, str], bool]:
        return lambda o, c: fidelity.check(o, c, instruction).passed

    chosen = [i for i in items if i.idx in subset]
    pred = dict(zip((i.idx for i in items), predicted, strict=True))
    attacked = [i for i in chosen if clean[i.idx] == by_idx[i.idx].label]

    def asr(check: Callable[[str, str], bool] | None) -> str:
        wins = [i for i in attacked if pred[i.idx] != i.label and (
            check is None or check(by_idx[i.idx].fields[0], i.text))]
        return f"{len(wins) / max(1, len(attacked)):.1%}"

    floor_check = judge(floored) if floored is not None else None
    passed = [i for i in attacked if floor_check is not None and floor_check(
        by_idx[i.idx].fields[0], i.text)]
    of_passed = (sum(pred[i.idx] != i.label for i in passed) / len(passed)) if passed else 0.0
    return (f"{instruction}/{strategy}", str(len(items)), f"{share(paper, items):.1%}",
            f"{share(judge(no_similarity), items):.1%}", why(no_similarity, items) or "-",
            str(len(chosen)), f"{share(paper, chosen):.1%}",
            f"{share(floor_check, chosen):.1%}" if floor_check else "-",
            why(floored, chosen) if floored else "-",
            asr(None), asr(paper), asr(floor_check) if floor_check else "-",
            f"{of_passed:.1%}" if floor_check else "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--cost", action="store_true")
    parser.add_argument("--promptattack", action="store_true")
    parser.add_argument("--limit", type=int, default=40,
                        help="sentences scored with the similarity")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=15, help="pairs timed for --cost")
    parser.add_argument("--instructions", default=",".join(INSTRUCTIONS),
                        help="--promptattack: comma list of C1..S3")
    args = parser.parse_args()
    model = LocalModel(bundled_model_path(), n_threads=1)
    try:
        if args.calibrate:
            calibrate(model)
        if args.cost:
            cost(model, args.runs)
        if args.promptattack:
            promptattack(model, args.limit, args.seed, tuple(args.instructions.split(",")))
    finally:
        model.close()


if __name__ == "__main__":
    main()
