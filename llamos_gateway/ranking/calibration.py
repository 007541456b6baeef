"""The margins each scorer ships with, set on clean text by `bench/ranked_calibrate.py`
(docs/ranked.md records the run): the smallest margins under which the share of clean texts
changed stays within budget on GLUE SST-2 validation and on every domain of the realistic
corpus. `defense.ranked_margin_known` / `ranked_margin_unknown` override them."""

from __future__ import annotations

from llamos_gateway.ranking.decision import Margins

# scorer -> margins (natural-log units of that scorer)
CALIBRATED: dict[str, Margins] = {
    "ngram": Margins(known=10.35, unknown=12.01),
    "local": Margins(known=8.9, unknown=10.72),
    "completions": Margins(known=8.9, unknown=10.72),  # the local model's, served
}
