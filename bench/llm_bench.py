"""Real-LLM benchmark: the bundled SmolLM2-135M-Instruct (`local/smollm2`, in process) as the
LLAMOS defense model, as an SST-2 target and as the arena's attacker (issue 15).

    .venv/bin/python bench/llm_bench.py            # the full run (issue 15's sizes)
    .venv/bin/python bench/llm_bench.py --quick    # a smoke run: a few entries of each

What it measures, on seeded samples (`--seed`), through the gateway's own components (the
defense service with its fail-open policy, the agent, the tiered backend, the built-in model):

1. Purification: per PromptAttack kind (C1..S3, `--per-kind` entries each, attacked entries
   only) the repair (the share of the token-level edit distance to the clean sentence that
   purification removed; bench/purify_score.py's metric) and the share restored exactly; the
   share of `--clean` clean SST-2 validation sentences changed; why outputs were rejected
   (guards, unusable replies, timeouts); the agent's latency p50/p95 and prompt/completion
   tokens per call. For `lexical`, `llamos` and `tiered` with the compact prompt set, and for
   `llamos` with the default (paper-faithful) set on a smaller sample (`--default-per-kind`,
   `--default-clean`), which it is compared with on the same entries.
2. The local model as an SST-2 target: zero-shot accuracy on the clean sentences, the labels
   scored from the first reply token's top-20 logprobs (the in-process model returns them for
   the first token; the parsed answer where no alternative matches a label).
3. A PromptAttack replay against that target (`--replay-per-kind` entries a kind, drawn from
   the sample of 1): accuracy on the attacked text with no defense, lexical, llamos, tiered.
4. One short arena: `--attacker llm --attacker-model local/smollm2` against
   `local/sst2-sentiment`, lexical defense, 2 rounds, 30 sentences.

Writes bench/results/llm.json and prints the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from purify_score import char_tokens, edit_distance, load_default_sets, tokens

from llamos_gateway.arena.config import ArenaConfig
from llamos_gateway.arena.setup import run_arena
from llamos_gateway.defense import DefenseMode
from llamos_gateway.evaluation.datasets import bundled_task
from llamos_gateway.evaluation.defended import DefendedClassifier
from llamos_gateway.evaluation.llm_target import GatewayChat, LLMTarget
from llamos_gateway.evaluation.query_cache import MemoryQueryCache
from llamos_gateway.settings import Settings, load_settings
from llamos_gateway.wiring import open_components

HERE = Path(__file__).resolve().parent
MODEL = "local/smollm2"
KINDS = ("C1", "C2", "C3", "W1", "W2", "W3", "S1", "S2", "S3")
TASK = "sentiment"


STARTED = time.perf_counter()


def note(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


INSTANCES = 2  # copies of the model answering at once (set from --instances)


def settings(prompt_set: str) -> Settings:
    """The local model in `INSTANCES` copies (server.local_model_instances), the cores split
    between them, and as many texts of a batch purified at once."""
    return load_settings(
        server={"local_model_instances": INSTANCES},
        defense={"backend": "llamos", "model": MODEL, "prompt_set": prompt_set,
                 "timeout_s": 120.0, "max_retries": 1, "concurrency": INSTANCES},
        cache={"enabled": True, "max_entries": 100_000}, audit={"enabled": False},
        logging={"level": "ERROR"})


def sample(per_kind: int, clean_n: int, seed: int) -> tuple[list[str], list[dict[str, str]]]:
    """`clean_n` clean SST-2 validation sentences and `per_kind` attacked entries per kind,
    each drawn with its own seeded generator (so a larger run contains a smaller one)."""
    clean, attacked = load_default_sets()
    clean_pick = random.Random(seed).sample(clean, clean_n)
    rows: list[dict[str, str]] = []
    for kind in KINDS:
        pool = [r for r in attacked if r["kind"] == kind]
        rows += random.Random(f"{seed}:{kind}").sample(pool, min(per_kind, len(pool)))
    return clean_pick, rows


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


Entry = dict[str, str]  # {"kind", "clean", "attacked"}; kind "clean": attacked == clean
CHUNK = 20


def entries(clean: list[str], rows: list[Entry], seed: int) -> list[Entry]:
    """Clean and attacked entries in one seeded order, so a run cut short has some of each."""
    mixed = [{"kind": "clean", "clean": c, "attacked": c} for c in clean] + list(rows)
    random.Random(seed).shuffle(mixed)
    return mixed


async def purify(components: Any, backend: str, todo: list[Entry],
                 progress: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Every entry through `backend` (cached, with the configured fail policy), CHUNK texts at
    a time, and what the defense model did: rejections by reason, latency and tokens per agent
    call. `progress` gets the figures so far after every chunk."""
    defense = components.defense
    started = time.perf_counter()
    reasons: Counter[str] = Counter()
    latency: list[float] = []
    prompt: list[int] = []
    completion: list[int] = []
    purified: list[str] = []
    figures: dict[str, Any] = {}
    for at in range(0, len(todo), CHUNK):
        texts = [e["attacked"] for e in todo[at:at + CHUNK]]
        outcomes = await defense.purify_each(texts, task=TASK, purifier=defense.choose(backend),
                                             mode=DefenseMode.ENFORCE)
        for text, outcome in zip(texts, outcomes, strict=True):
            purified.append(outcome.forwarded([text])[0])
            if outcome.failure:
                reasons[outcome.failure] += 1
            for result in outcome.results:
                if result.fallback:
                    reasons[result.fallback] += 1
                reasons.update(r for r in result.reasons if r in (
                    "changed_flag_mismatch", "defense_retried", "agent_edits_vetoed"))
                if result.agent_called and not result.cache_hit and result.prompt_tokens:
                    latency.append(float(result.extra.get("defense_ms", 0.0)))
                    prompt.append(result.prompt_tokens)
                    completion.append(result.defense_tokens - result.prompt_tokens)
        figures = {
            "texts": len(purified), "of": len(todo),
            "wall_s": round(time.perf_counter() - started, 1),
            "agent_calls": len(latency), "rejected": dict(sorted(reasons.items())),
            "latency_ms_p50": round(percentile(latency, 0.5), 1),
            "latency_ms_p95": round(percentile(latency, 0.95), 1),
            "prompt_tokens_per_call": round(statistics.mean(prompt), 1) if prompt else 0.0,
            "completion_tokens_per_call": (round(statistics.mean(completion), 1)
                                           if completion else 0.0),
            **score(todo[:len(purified)], purified)}
        progress(figures)
    return figures


def score(done: list[Entry], purified: list[str]) -> dict[str, Any]:
    """purify_score.py's metrics: clean changed share; repair and exact per kind."""
    clean = [(e, p) for e, p in zip(done, purified, strict=True) if e["kind"] == "clean"]
    changed = sum(tokens(p) != tokens(e["clean"]) for e, p in clean)
    by_kind: dict[str, list[tuple[float, bool]]] = {}
    for row, p in zip(done, purified, strict=True):
        if row["kind"] == "clean":
            continue
        c, a = char_tokens(row["clean"]), char_tokens(row["attacked"])
        d0, d1 = edit_distance(a, c), edit_distance(char_tokens(p), c)
        by_kind.setdefault(row["kind"], []).append((1 - d1 / d0, d1 == 0))
    return {"clean_n": len(clean),
            "clean_changed_share": round(changed / len(clean), 4) if clean else None,
            "repair": {k: {"n": len(v), "repair": round(statistics.mean(x for x, _ in v), 3),
                           "exact": round(sum(e for _, e in v) / len(v), 3)}
                       for k, v in sorted(by_kind.items())}}


@asynccontextmanager
async def defense_runs(prompt_set: str, backends: Sequence[str], todo: list[Entry],
                       into: dict[str, Any], save: Callable[[], None]) -> AsyncIterator[Any]:
    """Each backend over `todo` with `prompt_set`, its figures kept in `into[backend]` and
    saved after every chunk. Returns the open components' context for more work."""
    async with open_components(settings(prompt_set)) as components:
        for backend in backends:
            def progress(figures: dict[str, Any], backend: str = backend) -> None:
                into[backend] = figures
                save()
                note(f"{prompt_set}/{backend}: {figures['texts']}/{figures['of']} texts, "
                     f"{figures['agent_calls']} agent calls, {figures['wall_s']} s")

            await purify(components, backend, todo, progress)
        yield components


async def target_runs(components: Any, backends: Sequence[str], clean: list[str],
                      rows: list[dict[str, str]]) -> dict[str, Any]:
    """The local model as an SST-2 target: zero-shot accuracy, then the replay. Purified texts
    come from the cache the purification runs filled (the same results)."""
    task = bundled_task("sst2")
    # labels scored from the first reply token's top logprobs (the in-process model reports
    # them for the first token); the parsed answer only where none matches a label
    target = LLMTarget(GatewayChat(components.gateway), MODEL, task, concurrency=INSTANCES,
                       max_tokens=12, logprobs=True, cache=MemoryQueryCache())
    labels = {s: label for s, label in _labels().items()}
    started = time.perf_counter()
    known = [s for s in clean if s in labels]
    predicted = (await target.predict(known)).predicted
    accuracy = sum(int(p) == labels[s] for s, p in zip(known, predicted, strict=True)) / len(known)
    answered = len(known)
    note(f"zero-shot target: {time.perf_counter() - started:.1f} s")
    out: dict[str, Any] = {"zero_shot": {"n": answered, "accuracy": round(accuracy, 4),
                                         "scoring": "first-token top-20 logprobs",
                                         "wall_s": round(time.perf_counter() - started, 1)}}
    gold = [labels[r["clean"]] for r in rows]
    attacked = [r["attacked"] for r in rows]
    clean_pred = (await target.predict([r["clean"] for r in rows])).predicted
    replay: dict[str, Any] = {"n": len(rows), "clean_accuracy": round(
        sum(int(p) == g for p, g in zip(clean_pred, gold, strict=True)) / len(rows), 4)}
    for name in ("none", *backends):
        started = time.perf_counter()
        if name == "none":
            pred = (await target.predict(attacked)).predicted
        else:
            defended = DefendedClassifier(target, components.defense,
                                          purifier=components.defense.choose(name), task=TASK)
            pred = (await defended.predict(attacked)).predicted
        right = [int(p) == g for p, g in zip(pred, gold, strict=True)]
        replay[name] = {"attacked_accuracy": round(sum(right) / len(right), 4),
                        "by_kind": {k: round(statistics.mean(
                            ok for ok, r in zip(right, rows, strict=True) if r["kind"] == k), 3)
                            for k in KINDS if any(r["kind"] == k for r in rows)},
                        "wall_s": round(time.perf_counter() - started, 1)}
        note(f"replay {name}: {replay[name]['wall_s']} s")
    out["replay"] = replay
    out["target_queries"] = target.queries
    return out


def _labels() -> dict[str, int]:
    from purify_score import DATA

    rows = [json.loads(line) for line in (DATA / "glue" / "sst2_validation.jsonl").open()]
    return {r["sentence"]: int(r["label"]) for r in rows}


async def arena_run(sentences: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = ArenaConfig(target="local/sst2-sentiment", attacker="llm", attacker_model=MODEL,
                             defense="lexical", rounds=rounds, limit=sentences, attempts=1,
                             patience=rounds, output_dir=Path(tmp), fresh=True)
        started = time.perf_counter()
        result = await run_arena(settings("compact"), config, live=False, command="llm_bench")
    return {"sentences": sentences, "rounds": [
        {"round": r.round, "attack_success_rate": round(r.attack_success_rate, 3),
         "robust_accuracy": round(r.robust_accuracy, 3), "successes": r.successes,
         "attempts": r.attempts, "fidelity_pass_rate": round(r.fidelity_pass_rate, 3),
         "seconds": r.seconds} for r in result.rounds],
        "wall_s": round(time.perf_counter() - started, 1)}


def print_tables(result: dict[str, Any]) -> None:
    compact, default = result["compact"], result["default"]
    print("\nRepair per PromptAttack kind (compact prompt set; default set on its own sample)")
    names = [("lexical", compact["lexical"]), ("llamos", compact["llamos"]),
             ("tiered", compact["tiered"]), ("llamos default (small)", default["llamos"]),
             ("llamos compact (same small)", default["compact_same_sample"])]
    print("| kind | " + " | ".join(n for n, _ in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for kind in KINDS:
        cells = [f"{run['repair'][kind]['repair']:.3f} (n={run['repair'][kind]['n']})"
                 if kind in run["repair"] else "-" for _, run in names]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print("| clean changed | " + " | ".join(
        f"{run['clean_changed_share']:.2%}" for _, run in names) + " |")
    print("\n| backend | agent calls | latency p50 / p95 ms | prompt tok/call | completion tok/call"
          " | rejected |")
    print("|---|---|---|---|---|---|")
    for name, run in names:
        print(f"| {name} | {run['agent_calls']} | {run['latency_ms_p50']:.0f} / "
              f"{run['latency_ms_p95']:.0f} | {run['prompt_tokens_per_call']:.0f} | "
              f"{run['completion_tokens_per_call']:.0f} | {run['rejected']} |")
    target = compact["target"]
    print(f"\nrun: {result['wall_s'] / 60:.1f} min wall, {result['cpu_s'] / 60:.1f} min CPU")
    print(f"\nlocal/smollm2 as SST-2 target, zero-shot: accuracy "
          f"{target['zero_shot']['accuracy']:.3f}"
          f" on {target['zero_shot']['n']} ({target['zero_shot']['scoring']})")
    replay = target["replay"]
    print(f"replay on {replay['n']} attacked entries "
          f"(clean accuracy {replay['clean_accuracy']:.3f}):"
          " " + ", ".join(f"{n} {replay[n]['attacked_accuracy']:.3f}"
                          for n in ("none", "lexical", "llamos", "tiered")))
    print("arena: " + ", ".join(f"round {r['round']} ASR {r['attack_success_rate']:.3f}"
                                for r in result["arena"]["rounds"]))
    for line in result["targets"]:
        print(line)


def verdicts(result: dict[str, Any]) -> list[str]:
    compact = result["compact"]
    lexical, tiered = compact["lexical"], compact["tiered"]
    harm = tiered["clean_changed_share"]
    worst = max(lexical["repair"][k]["repair"] - tiered["repair"][k]["repair"]
                for k in lexical["repair"])
    ratio = (result["default"]["compact_same_sample"]["prompt_tokens_per_call"]
             / max(result["default"]["llamos"]["prompt_tokens_per_call"], 1))
    return [f"target: tiered changes <= 1% of clean SST-2: {harm:.2%} "
            f"({'met' if harm <= 0.01 else 'MISSED'})",
            f"target: no kind worse than lexical by > 0.02 repair: worst {worst:+.3f} "
            f"({'met' if worst <= 0.02 else 'MISSED'})",
            f"target: compact prompt tokens <= 40% of default: {ratio:.0%} "
            f"({'met' if ratio <= 0.40 else 'MISSED'})",
            f"target: full run < 30 min: {result['wall_s'] / 60:.1f} min "
            f"({'met' if result['wall_s'] < 1800 else 'MISSED'})"]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-kind", type=int, default=40)
    ap.add_argument("--clean", type=int, default=200)
    ap.add_argument("--default-per-kind", type=int, default=1)
    ap.add_argument("--default-clean", type=int, default=1)
    ap.add_argument("--replay-per-kind", type=int, default=3)
    ap.add_argument("--target-clean", type=int, default=100)
    ap.add_argument("--arena-sentences", type=int, default=30)
    ap.add_argument("--arena-rounds", type=int, default=2)
    ap.add_argument("--instances", type=int, default=len(_cpus()),
                    help="copies of the local model answering at once (one per core by default)")
    ap.add_argument("--parts", default="prompts,purify,target,arena",
                    help="which parts to run (a run split over processes: one --json each)")
    ap.add_argument("--json", type=Path, default=HERE / "results" / "llm.json")
    opts = ap.parse_args()
    if opts.quick:
        opts.per_kind, opts.clean, opts.default_per_kind, opts.default_clean = 2, 4, 1, 2
        opts.replay_per_kind, opts.target_clean, opts.arena_sentences = 1, 4, 4
        opts.json = HERE / "results" / "llm_quick.json"
    global INSTANCES
    INSTANCES = opts.instances
    clean, rows = sample(opts.per_kind, opts.clean, opts.seed)
    replay_rows = [r for k in KINDS
                   for r in [x for x in rows if x["kind"] == k][:opts.replay_per_kind]]
    small_clean, small_rows = sample(opts.default_per_kind, opts.default_clean, opts.seed + 1)
    result: dict[str, Any] = {
        "command": "python bench/llm_bench.py" + (" --quick" if opts.quick else ""),
        "sizes": {k: v for k, v in vars(opts).items() if k not in ("json", "quick")},
        "machine": {"python": platform.python_version(), "cpus": len(_cpus())},
        "complete": False}

    def save() -> None:  # after every part, so a run cut short keeps what it finished
        result.update(wall_s=round(time.perf_counter() - STARTED, 1),
                      cpu_s=round(time.process_time(), 1))
        opts.json.write_text(json.dumps(result, indent=2) + "\n")

    parts = set(opts.parts.split(","))
    if "prompts" in parts:
        note("prompt sets on the same small sample: default, then compact ...")
        small = entries(small_clean, small_rows, opts.seed + 1)
        result["default"] = {}
        same: dict[str, Any] = {}
        async with defense_runs("default", ("llamos",), small, result["default"], save):
            pass
        async with defense_runs("compact", ("llamos",), small, same, save):
            result["default"]["compact_same_sample"] = same["llamos"]
    result["compact"] = {}
    todo = entries(clean, rows, opts.seed) if "purify" in parts else []
    note("compact prompt set: lexical, tiered, llamos on the full sample ...")
    async with defense_runs("compact", ("lexical", "tiered", "llamos"), todo,
                            result["compact"], save) as components:
        if "target" in parts:
            note("the local model as the target ...")
            result["compact"]["target"] = await target_runs(
                components, ("lexical", "llamos", "tiered"), clean[:opts.target_clean],
                replay_rows)
    save()
    if "arena" in parts:
        note("arena ...")
        result["arena"] = await arena_run(opts.arena_sentences, opts.arena_rounds)
    result["complete"] = parts >= {"prompts", "purify", "target", "arena"}
    if result["complete"]:
        result["targets"] = verdicts(result)
    save()
    if result["complete"]:
        print_tables(result)


def _cpus() -> set[int]:
    import os

    return os.sched_getaffinity(0)


if __name__ == "__main__":
    asyncio.run(main())
