"""The PromptAttack subset of the ranked runs: 40 random rows per kind (seed 7).

    python bench/results/ranked/make_pa_subset.py > pa_subset.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import purify_score  # noqa: E402

_, rows = purify_score.load_default_sets()
rng = random.Random(7)
by_kind: dict[str, list[dict[str, str]]] = {}
for row in rows:
    by_kind.setdefault(row["kind"], []).append(row)
for kind in sorted(by_kind):
    for row in rng.sample(by_kind[kind], min(40, len(by_kind[kind]))):
        print(json.dumps({"clean": row["clean"], "attacked": row["attacked"], "kind": row["kind"]}))
