"""What the learned decision knows about one (word, candidate) pair besides the score gain:
how the word would have been mistyped into what stands there, how common each word is, what
kind of word stands there, and whether the rest of the text looks attacked.

`vector` gives the numbers in the order of `NAMES`; the coefficients bundled in
`llamos_gateway/data/ranking/decision.json` (`bench/ranked_train_decision.py`) are read by
name, so a feature added here needs a retrained file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llamos_gateway.ranking.candidates import KEYBOARD


class Edit:
    """How `written` differs from `candidate` at edit distance 1 (what the writer did)."""

    INSERTION = "insertion"            # a letter too many: `goood` for `good`
    DELETION = "deletion"              # a letter missing: `god` for `good`
    TRANSPOSITION = "transposition"    # two letters swapped: `fiml` for `film`
    KEYBOARD = "keyboard"              # a neighbouring key: `gppd` for `good`
    SUBSTITUTION = "substitution"      # any other letter
    OTHER = "other"                    # distance 2 or more


def edit_kind(written: str, candidate: str) -> str:
    if len(written) == len(candidate) + 1:
        return Edit.INSERTION if _one_deleted(written, candidate) else Edit.OTHER
    if len(written) + 1 == len(candidate):
        return Edit.DELETION if _one_deleted(candidate, written) else Edit.OTHER
    if len(written) != len(candidate):
        return Edit.OTHER
    diff = [i for i, (a, b) in enumerate(zip(written, candidate, strict=True)) if a != b]
    if len(diff) == 1:
        a, b = written[diff[0]], candidate[diff[0]]
        return Edit.KEYBOARD if a in KEYBOARD.get(b, "") else Edit.SUBSTITUTION
    if (len(diff) == 2 and diff[1] == diff[0] + 1 and written[diff[0]] == candidate[diff[1]]
            and written[diff[1]] == candidate[diff[0]]):
        return Edit.TRANSPOSITION
    return Edit.OTHER


def _one_deleted(long: str, short: str) -> bool:
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


@dataclass(frozen=True, slots=True)
class Pair:
    """One candidate repair of one word, with what the text around it says."""

    written: str       # the word as written (before the lexical pass's repair, if any)
    candidate: str
    gain: float        # the scorer's gain (nats) of the text with the candidate in place
    known: bool        # the word as it stands is a real word
    repaired: bool     # the lexical pass repaired it (its repair is the baseline)
    count_written: int  # lexicon counts (0 = not a target)
    count_candidate: int
    others: int        # other words of the text that look mistyped (lexical repairs, targets)
    foreign: float     # the text's share of words the lexicon does not know
    gap: float = 0.0   # n-gram gain over the best other candidate as near or nearer
    rivals: int = 0    # the word's other candidates at the same distance or nearer
    distance: int = 1  # edit distance from the word as written


NAMES = ("bias", "gain", "gain_known", "known", "repaired", "distance2", "insertion",
         "deletion", "transposition", "keyboard", "substitution", "log_count_written",
         "log_count_candidate", "log_ratio", "short", "length", "others", "others_known_gain",
         "foreign", "known_log_count_written", "gap", "log_rivals", "unknown_alone",
         "unknown_others")


def vector(pair: Pair) -> list[float]:
    kind = edit_kind(pair.written, pair.candidate) if pair.distance <= 1 else Edit.OTHER
    written = math.log1p(pair.count_written)
    cand = math.log1p(pair.count_candidate)
    others = min(pair.others, 3)
    gain = max(-20.0, min(pair.gain, 30.0))
    return [1.0, gain, gain * pair.known, float(pair.known), float(pair.repaired),
            float(kind == Edit.OTHER), float(kind == Edit.INSERTION),
            float(kind == Edit.DELETION), float(kind == Edit.TRANSPOSITION),
            float(kind == Edit.KEYBOARD), float(kind == Edit.SUBSTITUTION), written / 10,
            cand / 10, (cand - written) / 10, float(len(pair.written) <= 4),
            min(len(pair.written), 12) / 12, float(others), others * gain * pair.known / 10,
            pair.foreign, pair.known * written / 10, max(-10.0, min(pair.gap, 10.0)) / 10,
            math.log1p(pair.rivals), float(not pair.known and pair.rivals == 0),
            float(not pair.known) * others]
