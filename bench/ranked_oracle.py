"""How far a perfect decision could go on the ranked backend's own candidates: for each
attacked sentence, every word whose candidates (as the backend weighs them: lexical pass,
targets, pre-ranking, bounds) include the clean word gets it, and nothing else changes. This is
an upper bound for any decision rule over the same candidates (not a defense: it reads the clean
sentence). Generated SST-2 typos (`bench/realistic_bench.py`'s metric) and PromptAttack C1, C2
(`bench/purify_score.py`'s metric).

    PYTHONPATH=. nice -n 19 .venv/bin/python bench/ranked_oracle.py --decision learned
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

from llamos_gateway import backends
from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.ranking.decision import Choice
from llamos_gateway.ranking.purifier import RankedPurifier, _applied
from llamos_gateway.settings import DefenseSettings

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
import purify_score  # noqa: E402
from lexical_bench import generate  # noqa: E402
from realistic_bench import repair  # noqa: E402


def fixes(text: str, variant: str, clean: str) -> bool:
    a, b, c = text.lower().split(), variant.lower().split(), clean.lower().split()
    if not len(a) == len(b) == len(c):
        return False
    return sum(x != z for x, z in zip(b, c, strict=True)) < sum(
        x != z for x, z in zip(a, c, strict=True))


async def oracle(ranked: RankedPurifier, text: str, clean: str) -> str:
    first = await ranked.lexical.purify(PurifyRequest(text))
    body = first.purified
    choices = []
    for target, scored in await ranked.pairs(first, ranked.targets(first)):
        for cand, pair in scored:
            if fixes(body, body[:target.start] + cand.word + body[target.end:], clean):
                choices.append((target, Choice(cand, pair.gain, 0.0, pair.known)))
                break
    choices.sort(key=lambda tc: tc[0].start)
    return _applied(first, choices, "oracle").purified if choices else body


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decision", default="margin", choices=["margin", "learned"])
    opts = ap.parse_args()
    ranked = backends.build_offline("ranked", DefenseSettings(ranked_decision=opts.decision))
    assert isinstance(ranked, RankedPurifier)
    clean, attacked = purify_score.load_default_sets()
    typos = generate(clean, "typo")
    typo = [repair(r["clean"], r["attacked"], await oracle(ranked, r["attacked"], r["clean"]))
            for r in typos]
    print(f"generated typos: {statistics.mean(typo):.3f}")
    chars, distance = purify_score.char_tokens, purify_score.edit_distance
    for kind in ("C1", "C2"):
        values = []
        for row in (r for r in attacked if r["kind"] == kind):
            c = chars(row["clean"])
            before = distance(chars(row["attacked"]), c)
            after = distance(chars(await oracle(ranked, row["attacked"], row["clean"])), c)
            values.append(1 - after / before)
        print(f"PromptAttack {kind}: {statistics.mean(values):.3f}")


if __name__ == "__main__":
    asyncio.run(main())
