"""Spelling candidates within a small edit distance.

Distance 1 is found by generating every deletion, transposition, substitution and
insertion of the query and looking them up (no index needed). Distance 2 uses a SymSpell
index: every target is filed under the strings obtained by deleting up to two characters
from its first `PREFIX` characters; a query looks up its own deletes and checks the true
optimal-string-alignment distance of what it finds.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import OSA

MAX_DISTANCE = 2
PREFIX = 7
LETTERS = "abcdefghijklmnopqrstuvwxyz"

Index = dict[str, str]  # delete -> space-separated target words


def edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    out.update(a + c + b[1:] for a, b in splits if b for c in LETTERS)
    out.update(a + c + b for a, b in splits for c in LETTERS)
    out.discard(word)
    return out


def within_one(word: str, targets: frozenset[str]) -> list[tuple[str, int]]:
    return [(w, 1) for w in sorted(edits1(word).intersection(targets))]


def build_index(targets: Iterable[str]) -> Index:
    buckets: dict[str, list[str]] = {}
    for word in targets:
        for key in _deletes(word[:PREFIX], MAX_DISTANCE):
            buckets.setdefault(key, []).append(word)
    return {key: " ".join(words) for key, words in buckets.items()}


def lookup(index: Index, query: str, max_distance: int = MAX_DISTANCE) -> list[tuple[str, int]]:
    """Targets within `max_distance` of `query`, with their distance, nearest first."""
    seen: set[str] = set()
    found: list[tuple[str, int]] = []
    for key in _deletes(query[:PREFIX], max_distance):
        bucket = index.get(key)
        if bucket is None:
            continue
        for word in bucket.split(" "):
            if word in seen or abs(len(word) - len(query)) > max_distance:
                continue
            seen.add(word)
            distance = OSA.distance(query, word, score_cutoff=max_distance)
            if 0 < distance <= max_distance:
                found.append((word, distance))
    found.sort(key=lambda item: (item[1], item[0]))
    return found


def _deletes(word: str, depth: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {item[:i] + item[i + 1 :] for item in frontier if len(item) > 1
                    for i in range(len(item))}
        out |= frontier
    return out
