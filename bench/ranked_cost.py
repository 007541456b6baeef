"""Cost of the ranked backend per sentence, in process: p50/p90 over every sentence and over
the flagged ones (those with at least one word the scorer weighs), on clean SST-2 validation
and on the PromptAttack SST-2 lists (C1, C2); and the share of each set changed (for the
clean set: the clean-change rate, compared as purify_score.py compares).

    .venv/bin/python bench/ranked_cost.py --scorer ngram
    .venv/bin/python bench/ranked_cost.py --scorer ngram --decision learned
    .venv/bin/python bench/ranked_cost.py --scorer local --limit 60
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.lexical import LexicalPurifier
from llamos_gateway.ranking.setup import build_ranked
from llamos_gateway.settings import DefenseSettings

ROOT = Path(__file__).resolve().parent


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.2f}"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scorer", default="ngram", choices=["ngram", "local"])
    ap.add_argument("--decision", default="margin", choices=["margin", "learned"])
    ap.add_argument("--limit", type=int, default=None, help="texts per set")
    opts = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import purify_score

    clean, attacked = purify_score.load_default_sets()
    sets = {"SST-2 clean": clean,
            "PromptAttack C1+C2": [r["attacked"] for r in attacked if r["kind"] in ("C1", "C2")]}
    lexical = LexicalPurifier()
    ranked = build_ranked(DefenseSettings(ranked_scorer=opts.scorer,
                                          ranked_decision=opts.decision), lexical)
    await ranked.purify(PurifyRequest("warm up : a god movie , a tset"))
    print(f"| set ({opts.scorer}, {opts.decision}) | n | changed | flagged | p50 all ms | "
          "p50 flagged ms | p90 flagged ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, texts in sets.items():
        every, flagged = [], []
        changed = 0
        for text in texts[:opts.limit]:
            weighed = bool(ranked.targets(lexical.purify_text(text)))
            started = time.perf_counter()
            result = await ranked.purify(PurifyRequest(text))
            changed += purify_score.tokens(result.purified) != purify_score.tokens(text)
            took = time.perf_counter() - started
            every.append(took)
            if weighed:
                flagged.append(took)
        print(f"| {name} | {len(every)} | {changed / len(every):.2%} | {len(flagged)} | "
              f"{_ms(every, 0.5)} | "
              f"{_ms(flagged, 0.5)} | {_ms(flagged, 0.9)} |")


if __name__ == "__main__":
    asyncio.run(main())
