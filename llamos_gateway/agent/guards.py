"""Guards around the defense model: injection boundaries and the drift bound.

Each guard that rejects an output names a reason code; the purifier then falls back
(forwards the input, or rejects, per policy) and records the code.

Reason codes: `boundary_leak`, `drift_empty`, `drift_answer`, `drift_length_ratio`,
`drift_edit_ratio`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from llamos_gateway.agent.diff import edit_distance

BOUNDARY_LEAK = "boundary_leak"
DRIFT_EMPTY = "drift_empty"
DRIFT_ANSWER = "drift_answer"
DRIFT_LENGTH = "drift_length_ratio"
DRIFT_EDIT = "drift_edit_ratio"

_ANSWER_OPENINGS = re.compile(
    r"""^\W*(?:
        (?:sure|certainly|of\ course|okay|ok|absolutely)\b\s*[,!.:]
      | (?:i'?m\ sorry|i\ am\ sorry|sorry,|i\ cannot|i\ can'?t|i\ won'?t|as\ an\ ai)\b
      | (?:the|this)\ (?:text|sentence|statement|passage|review|input|message|premise)
          \ (?:is|expresses|has|seems|appears|conveys|contains|does|shows)\b
      | (?:the\ )?(?:overall\ )?(?:sentiment|answer|label|classification|tone)
          (?:\ of\ (?:the|this)\ \w+)?\ (?:is|would\ be)\b
      | (?:answer|sentiment|label|classification|output|purified(?:\ text)?)\s*:
      | (?:the\ )?(?:purified|corrected|cleaned|fixed|rewritten)\ (?:text|version|sentence|input)
          \ (?:is|reads|would\ be)\b
      | here(?:'s|\ is)\ (?:the|your|a|my)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_LABEL_ONLY = re.compile(
    r"^\W*(?:positive|negative|neutral|entailment|not[_ ]entailment|contradiction|"
    r"equivalent|not[_ ]equivalent|duplicate|not[_ ]duplicate|yes|no)\W*$",
    re.IGNORECASE,
)


def new_boundary(text: str) -> str:
    """A fresh random boundary token that does not occur in `text`."""
    while True:
        boundary = "LLAMOS-" + secrets.token_hex(8)
        if boundary not in text:
            return boundary


@dataclass(frozen=True, slots=True)
class DriftLimits:
    """How far a purified text may move from its input.

    `slack_chars` lets short texts take a few edits whatever the ratios say: fixing one
    typo in a three-word text is a large ratio but no drift.
    """

    max_edit_ratio: float = 0.35
    max_length_ratio: float = 1.5
    slack_chars: int = 4


def drift_reason(original: str, purified: str, *, boundary: str,
                 limits: DriftLimits) -> str | None:
    """The reason code of the first guard the output fails, or None when it passes."""
    if purified == original:
        return None
    if boundary in purified or boundary[len("LLAMOS-"):] in purified:
        return BOUNDARY_LEAK
    if not purified.strip() and original.strip():
        return DRIFT_EMPTY
    if reads_like_answer(original, purified):
        return DRIFT_ANSWER
    short, long_ = sorted((len(original), len(purified)))
    if long_ - short > limits.slack_chars and long_ / max(short, 1) > limits.max_length_ratio:
        return DRIFT_LENGTH
    distance = edit_distance(original, purified)
    if distance > limits.slack_chars and distance / max(len(original), 1) > limits.max_edit_ratio:
        return DRIFT_EDIT
    return None


def reads_like_answer(original: str, purified: str) -> bool:
    """True when the output opens like a reply or a verdict and the input does not.

    An output whose opening words are a near copy of the input's is a rewrite, even when
    it matches (`teh sentence is` -> `the sentence is`).
    """
    for pattern in (_ANSWER_OPENINGS, _LABEL_ONLY):
        if pattern.search(purified) and not pattern.search(original):
            return not _same_opening(original, purified)
    return False


def _same_opening(original: str, purified: str, words: int = 4) -> bool:
    head = " ".join(purified.lower().split()[:words])
    source = " ".join(original.lower().split()[:words])
    return bool(head) and Levenshtein.normalized_similarity(head, source) >= 0.75
