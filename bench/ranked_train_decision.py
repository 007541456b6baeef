"""Train the ranked backend's learned decision and calibrate its threshold on clean text.

Deterministic: the same sources and seeds give the same coefficient file.

1. **A held-out n-gram model.** The bundled n-gram model is trained on SST-2 *train*, so on
   those sentences it knows every trigram; its gains there are not those of unseen text.
   A second model is trained on the same sources without every tenth SST-2 train sentence
   of 8 words or more and the phrases inside them (`--holdout 10`), and the features of
   those sentences are read from it.
2. **Examples.** Each held-out SST-2 train sentence and each English line of the realistic
   corpus built with seed 303 (chat, names, entities: not news, whose RTE sentences the
   benchmark corpus also draws from; not the benchmark's seed 13, calibration's 202 or the
   n-gram's 101) is taken twice: as it is, and with one or two typos (a letter deleted,
   inserted, doubled, replaced by a neighbouring key or another vowel, or two swapped; about
   half of them chosen to make another real word, as `god` for `good`; a quarter of the words
   get two). Every candidate the
   backend weighs is an example: positive when it puts back the clean word.
3. **A logistic model** (L2, Newton's method in numpy) over `ranking.features.NAMES`.
4. **The thresholds** (real words, unknown words), with the bundled n-gram model, on the
   calibration sets of `bench/ranked_calibrate.py` (SST-2 validation even-numbered
   sentences, realistic corpus seed 202 per domain): of the pairs under which at most
   `--budget` of the SST-2 texts and `--budget-realistic` (none) of each realistic domain's
   texts would change, the one that accepts the most training positives.

    PYTHONPATH=. nice -n 19 .venv/bin/python bench/ranked_train_decision.py

Writes llamos_gateway/data/ranking/decision.json (and prints what it measured). It runs
itself with PYTHONHASHSEED=0: the order of set iteration reaches floating-point sums in the
n-gram training, and the coefficients would differ in the fourth decimal from run to run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import string
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from llamos_gateway.corpus import build
from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.ranking import training
from llamos_gateway.ranking.calibration import CALIBRATED
from llamos_gateway.ranking.candidates import KEYBOARD, Bounds
from llamos_gateway.ranking.decision import Learned
from llamos_gateway.ranking.features import NAMES, vector
from llamos_gateway.ranking.logistic import fit, thresholds
from llamos_gateway.ranking.ngram import NgramModel, words
from llamos_gateway.ranking.purifier import Policy, RankedPurifier
from llamos_gateway.ranking.scorer import NgramScorer

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from ranked_calibrate import calibration_sets  # noqa: E402

OUT = ROOT.parent / "llamos_gateway" / "data" / "ranking" / "decision.json"
SEED = 303
_VOWELS = "aeiou"


# ---------------------------------------------------------------- data


def heldout_sentences(holdout: int) -> list[str]:
    """Every `holdout`-th SST-2 train sentence of at least 8 words."""
    return [s for i, s in enumerate(training.sst2_train())
            if i % holdout == 0 and len(s.split()) >= 8]


def heldout_model(holdout: int) -> NgramModel:
    """The n-gram model without the held-out sentences and without every SST-2 train phrase
    inside one of them (SST-2 train holds the phrases of each review's parse tree, so a
    sentence's phrases would teach its trigrams)."""
    held = "\n".join(heldout_sentences(holdout))
    kept = [s for s in training.sst2_train() if s not in held]
    corpus = [*kept, *training.realistic(), *training.stdlib_docstrings()]
    tokens = sum(len(words(s)) for s in corpus)
    return NgramModel.train(corpus, training.general_bigrams(tokens), training.general_words())


def clean_texts(holdout: int, limit: int) -> Iterator[tuple[str, str]]:
    for s in heldout_sentences(holdout)[:limit]:
        yield "sst2-train-heldout", s
    for text in build(seed=SEED, per_domain=200).texts:
        if text.domain == "languages":  # clean only: no typos are planted in these
            yield "realistic-languages", text.text
        elif text.language == "en" and text.domain in ("chat", "names", "entities"):
            for line in text.text.splitlines():
                if line.strip():
                    yield f"realistic-{text.domain}", line


def typo(word: str, rng: random.Random) -> str:
    """One planted slip. Deliberately not `corpus.promptattack`'s generator (which makes the
    benchmark's generated typos): its own keyboard model (`ranking.candidates.KEYBOARD`), so
    the decision is not trained on the noise it is then measured on."""
    i = rng.randrange(len(word))
    op = rng.choices(("delete", "insert", "replace", "swap"), (0.3, 0.25, 0.3, 0.15))[0]
    if op == "delete":
        return word[:i] + word[i + 1:]
    if op == "insert":
        extra = word[i] if rng.random() < 0.5 else rng.choice(string.ascii_lowercase)
        return word[:i] + extra + word[i:]
    if op == "swap" and i + 1 < len(word) and word[i] != word[i + 1]:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    near = KEYBOARD.get(word[i], "") if rng.random() < 0.6 else _VOWELS.replace(word[i], "")
    return word[:i] + rng.choice(near or string.ascii_lowercase) + word[i + 1:]


def attacked(text: str, rng: random.Random, known: Callable[[str], bool]) -> str | None:
    parts = text.split(" ")
    spots = [i for i, p in enumerate(parts) if p.isalpha() and p.islower() and len(p) >= 3]
    if not spots:
        return None
    rng.shuffle(spots)
    for i in spots[:rng.choice((1, 1, 2, 2, 3))]:
        twice = rng.random() < 0.25
        tries = [typo(typo(parts[i], rng), rng) if twice else typo(parts[i], rng)
                 for _ in range(12)]
        real = [t for t in tries if t != parts[i] and known(t)]
        plain = [t for t in tries if t != parts[i]]
        pick = real if real and rng.random() < 0.5 else plain
        if pick:
            parts[i] = pick[0]
    out = " ".join(parts)
    return out if out != text else None


def fixes(text: str, variant: str, clean: str) -> bool:
    """`variant` (one word of `text` replaced) is closer to `clean`, word by word."""
    a, b, c = text.split(), variant.split(), clean.split()
    if not len(a) == len(b) == len(c):
        return False
    return sum(x != z for x, z in zip(b, c, strict=True)) < sum(
        x != z for x, z in zip(a, c, strict=True))


async def examples(purifier: RankedPurifier, holdout: int, limit: int,
                   ) -> tuple[list[list[float]], list[int], dict[str, Any]]:
    rng = random.Random(SEED)
    known = purifier.lexical.lexicon.is_known
    xs: list[list[float]] = []
    ys: list[int] = []
    counts: dict[str, int] = defaultdict(int)
    for source, clean in clean_texts(holdout, limit):
        bad = None if source == "realistic-languages" else attacked(clean, rng, known)
        for text in (clean, bad):
            if text is None:
                continue
            first = await purifier.lexical.purify(PurifyRequest(text))
            targets = purifier.targets(first)
            body = first.purified
            for target, scored in await purifier.pairs(first, targets):
                for cand, pair in scored:
                    variant = body[:target.start] + cand.word + body[target.end:]
                    label = int(text is bad and fixes(body, variant, clean))
                    xs.append(vector(pair))
                    ys.append(label)
                    counts[f"{source}:{'pos' if label else 'neg'}"] += 1
            counts[f"{source}:{'attacked' if text is bad else 'clean'}"] += 1
    return xs, ys, dict(counts)


# ---------------------------------------------------------------- model


async def best_logits(purifier: RankedPurifier, learned: Learned,
                      text: str) -> tuple[float, float]:
    """The best logit any candidate reaches, for real words and for unknown words."""
    first = await purifier.lexical.purify(PurifyRequest(text))
    best = [float("-inf"), float("-inf")]
    for _, scored in await purifier.pairs(first, purifier.targets(first)):
        for _, pair in scored:
            if pair.gain >= (learned.floor if pair.known else learned.floor_unknown):
                best[not pair.known] = max(best[not pair.known], learned.logit(pair))
    return best[0], best[1]


async def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":  # set order reaches float sums: pin it
        os.execve(sys.executable, [sys.executable, *sys.argv],
                  {**os.environ, "PYTHONHASHSEED": "0"})
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", type=int, default=10)
    ap.add_argument("--limit", type=int, default=3000, help="held-out SST-2 train sentences")
    ap.add_argument("--floor", type=float, default=2.0)
    ap.add_argument("--floor-unknown", type=float, default=-2.0)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--budget", type=float, default=0.005, help="SST-2 texts changed")
    ap.add_argument("--budget-realistic", type=float, default=0.0,
                    help="texts of a realistic domain changed (the ranked pass adds none)")
    ap.add_argument("--per-domain", type=int, default=200)
    ap.add_argument("--out", type=Path, default=OUT)
    opts = ap.parse_args()
    started = time.perf_counter()
    lexical = LexicalPurifier()
    placeholder = Learned(tuple(0.0 for _ in NAMES), 0.0, 0.0, opts.floor, opts.floor_unknown,
                          "training")
    held = heldout_model(opts.holdout)
    print(f"held-out n-gram trained [{time.perf_counter() - started:.0f}s]", flush=True)
    # every candidate past the floor is an example (inference keeps the best by the model)
    policy = Policy(CALIBRATED["ngram"], Bounds(per_word=48, words=64), learned=placeholder)
    trainer = RankedPurifier(lexical, NgramScorer(lambda: held, "heldout"), lambda: held, policy)
    xs, ys, counts = await examples(trainer, opts.holdout, opts.limit)
    print(f"{len(ys)} examples, {sum(ys)} positive; {counts} "
          f"[{time.perf_counter() - started:.0f}s]", flush=True)
    weights = fit(xs, ys, opts.l2)
    model = training.load_or_train()
    draft = Learned(tuple(float(w) for w in weights), 0.0, 0.0, opts.floor, opts.floor_unknown,
                    "draft")
    purifier = RankedPurifier(lexical, NgramScorer(lambda: model, "cal"), lambda: model,
                              Policy(CALIBRATED["ngram"], learned=draft))
    sets = calibration_sets(opts.per_domain)
    logits = {name: [await best_logits(purifier, draft, t) for t in texts]
              for name, texts in sets.items()}
    x = np.asarray(xs)
    y = np.asarray(ys)
    known = x[:, NAMES.index("known")] > 0
    budget = {name: opts.budget if name.startswith("sst2") else opts.budget_realistic
              for name in logits}
    t_known, t_unknown = thresholds(logits, budget, (x @ weights)[y == 1], known[y == 1])
    rows = {name: {"n": len(v), "changed": round(
        sum(k > t_known or u > t_unknown for k, u in v) / len(v), 4)}
        for name, v in logits.items()}
    for name, row in rows.items():
        print(f"{name:24} {row}")
    hit = x @ weights > np.where(known, t_known, t_unknown)
    print(f"thresholds {t_known:.3f} / {t_unknown:.3f}: training recall {hit[y == 1].mean():.3f}"
          f" (real words {hit[(y == 1) & known].mean():.3f}), false accepts "
          f"{hit[y == 0].mean():.4f} [{time.perf_counter() - started:.0f}s]")
    data = {
        "about": "ranked backend, learned decision: logistic coefficients over "
                 "llamos_gateway.ranking.features.NAMES and the threshold set on clean text. "
                 "Made by bench/ranked_train_decision.py (docs/ranked.md); n-gram scorer only.",
        "scorer": "ngram", "ngram": training.fingerprint(),
        "weights": {name: round(float(w), 6) for name, w in zip(NAMES, weights, strict=True)},
        "threshold": t_known, "threshold_unknown": t_unknown, "floor": opts.floor,
        "floor_unknown": opts.floor_unknown,
        "training": {"examples": len(ys), "positive": int(sum(ys)), "counts": counts,
                     "options": {k: str(v) if isinstance(v, Path) else v
                                 for k, v in vars(opts).items() if k != "out"},
                     "seed": SEED},
        "calibration": rows,
    }
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    asyncio.run(main())
