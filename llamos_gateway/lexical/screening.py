"""The screening score: how attacked an input looks, from what the lexical pass saw.

Each signal is an independent piece of evidence with its own weight; the score is
`1 - prod(1 - weight)` over the signals present, so one strong signal (invisible
characters, a mixed-script word, a random handle) is enough and weak ones (an unknown
word that looked like no typo) only add up.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Signals:
    words: int = 0
    invisible: int = 0
    deletion: int = 0
    bidi: int = 0
    zalgo: int = 0
    mixed_script: int = 0
    leetspeak: int = 0
    repeats: int = 0
    spelling: int = 0
    case: int = 0
    spacing: int = 0
    near_miss: int = 0
    unknown: int = 0
    junk_suffix: bool = False
    handle: bool = False


@dataclass(frozen=True, slots=True)
class Screen:
    score: float
    reasons: tuple[str, ...]


# weight of one occurrence of each signal
_WEIGHTS = {
    "invisible": 0.9,
    "deletion": 0.9,
    "bidi": 0.9,
    "zalgo": 0.9,
    "mixed_script": 0.9,
    "leetspeak": 0.8,
    "handle": 0.9,
    "junk_suffix": 0.7,
    "repeats": 0.6,
    "spelling": 0.6,
    "case": 0.6,
    "spacing": 0.7,
    "near_miss": 0.5,
    "unknown": 0.2,
}


_CLEAN = Screen(0.0, ("screen_clean",))


def screen(signals: Signals) -> Screen:
    if signals == Signals(words=signals.words):
        return _CLEAN
    keep = 1.0
    reasons = []
    for name, weight in _WEIGHTS.items():
        value = getattr(signals, name)
        times = int(value)
        if times:
            keep *= (1.0 - weight) ** times
            reasons.append(f"screen_{name}")
    score = 1.0 - keep
    return Screen(round(score, 4), tuple(reasons) or ("screen_clean",))
