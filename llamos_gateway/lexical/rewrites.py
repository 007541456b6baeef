"""A text and the changes that made it from the caller's text, in the caller's coordinates.

The purifier works in stages (deletion controls, bidi order, invisible characters, marks,
compatibility forms, words, the ending). Each stage proposes `Change`s against the text it
sees; `Rewrites.apply` folds them into the changes already made, so that every change is
always known as "this span of the input became that text". Changes that overlap merge
into one (their rules joined with `+`). Every operation is linear in the number of
changes, never in the text length per change.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import NamedTuple

from llamos_gateway.defense.protocol import Edit


class Change(NamedTuple):
    """Replace `text[start:end]` with `after`; `rule` names why. A named tuple, as `Span` and
    `Token` are: a hostile text makes one per word, and a frozen dataclass costs three times
    as much to build."""

    start: int
    end: int
    after: str
    rule: str


def _rules(*names: str) -> str:
    parts: list[str] = []
    for name in names:
        parts.extend(p for p in name.split("+") if p and p not in parts)
    return "+".join(parts)


class Rewrites:
    """`text` is `original` with `changes` (sorted, disjoint, input coordinates) applied."""

    __slots__ = ("original", "changes", "text", "_out_starts")

    def __init__(self, original: str, changes: list[Change] | None = None) -> None:
        self.original = original
        self.changes: list[Change] = changes or []
        pieces: list[str] = []
        out_starts: list[int] = []
        last = 0
        size = 0
        for change in self.changes:
            pieces.append(original[last:change.start])
            size += change.start - last
            out_starts.append(size)
            pieces.append(change.after)
            size += len(change.after)
            last = change.end
        pieces.append(original[last:])
        self.text = "".join(pieces) if self.changes else original
        self._out_starts = out_starts

    @property
    def edits(self) -> tuple[Edit, ...]:
        return tuple(Edit(c.start, c.end, self.original[c.start:c.end], c.after, c.rule)
                     for c in self.changes)

    def rules(self) -> list[str]:
        return [c.rule for c in self.changes]

    def source(self, start: int, end: int) -> tuple[int, int]:
        """The input span behind `text[start:end]` (whole changes when it cuts into one)."""
        return self._point(start, left=True), self._point(end, left=False)

    def _point(self, pos: int, left: bool) -> int:
        k = bisect.bisect_right(self._out_starts, pos) - 1
        if k < 0:
            return pos
        change = self.changes[k]
        out_start = self._out_starts[k]
        out_end = out_start + len(change.after)
        if out_start == out_end == pos:  # a removal right here
            return change.end if left else change.start
        if pos >= out_end:
            return change.end + (pos - out_end)
        if pos == out_start:
            return change.start
        return change.start if left else change.end

    def apply(self, proposed: Iterable[Change]) -> Rewrites:
        """These rewrites followed by `proposed` (sorted, disjoint, coordinates of `text`).

        Old and new changes whose spans in `text` overlap become one change, and so do
        changes that meet where one of them removes text (a removal has no span of its own
        in `text`); changes that merely meet stay apart."""
        new = list(proposed)
        if not new:
            return self
        items = _by_start(
            [(s, s + len(c.after), False, c) for s, c in zip(self._out_starts, self.changes,
                                                              strict=True)],
            [(c.start, c.end, True, c) for c in new])
        merged: list[Change] = []
        cluster: list[tuple[int, int, bool, Change]] = []
        end, end_empty = -1, False
        for item in items:
            empty = item[0] == item[1]
            if cluster and (item[0] > end or (item[0] == end and not empty and not end_empty)):
                merged.append(self._merge(cluster))
                cluster = []
            if not cluster or item[1] > end:
                end, end_empty = item[1], empty
            elif item[1] == end:
                end_empty = end_empty or empty
            cluster.append(item)
        merged.append(self._merge(cluster))
        return Rewrites(self.original, merged)

    def _merge(self, cluster: list[tuple[int, int, bool, Change]]) -> Change:
        if len(cluster) == 1:
            start, stop, is_new, change = cluster[0]
            if not is_new:
                return change
            # a new change on unchanged text (the common case): shift it, nothing to merge
            return Change(self._point(start, left=True), self._point(stop, left=False),
                          change.after, change.rule)
        out_start = cluster[0][0]
        first = cluster[0]
        last = max(cluster, key=lambda item: (item[1], not item[2]))
        out_end = last[1]
        src_start = first[3].start if not first[2] else self._point(out_start, left=True)
        src_end = last[3].end if not last[2] else self._point(out_end, left=False)
        for item in cluster:
            if not item[2]:
                src_start = min(src_start, item[3].start)
                src_end = max(src_end, item[3].end)
        pieces: list[str] = []
        cut = out_start
        for start, stop, is_new, change in cluster:
            if is_new:
                pieces.append(self.text[cut:start])
                pieces.append(change.after)
                cut = stop
        pieces.append(self.text[cut:out_end])
        rules = [i[3].rule for i in cluster if not i[2]] + [i[3].rule for i in cluster if i[2]]
        rule = rules[0] if len(set(rules)) == 1 else _rules(*rules)
        return Change(src_start, src_end, "".join(pieces), rule)


def coarsen(text: str, changes: list[Change], max_gap: int = 8) -> list[Change]:
    """Changes of one rule less than `max_gap` characters apart joined into one (a text
    with an invisible character between every two letters is one change, not thousands)."""
    if len(changes) < 2:
        return changes
    out: list[Change] = []
    group: list[Change] = []
    for change in changes:
        if group and (change.start - group[-1].end > max_gap or change.rule != group[-1].rule):
            out.append(_joined(text, group))
            group = []
        group.append(change)
    out.append(_joined(text, group))
    return out


def _joined(text: str, group: list[Change]) -> Change:
    if len(group) == 1:
        return group[0]
    pieces: list[str] = []
    for change, following in zip(group, [*group[1:], None], strict=True):
        pieces.append(change.after)
        if following is not None:
            pieces.append(text[change.end:following.start])
    return Change(group[0].start, group[-1].end, "".join(pieces), group[0].rule)


def _by_start(old: list[tuple[int, int, bool, Change]],
              new: list[tuple[int, int, bool, Change]]) -> list[tuple[int, int, bool, Change]]:
    """Both lists (each sorted) merged by start; at equal starts the old change first."""
    out: list[tuple[int, int, bool, Change]] = []
    i = j = 0
    while i < len(old) and j < len(new):
        if old[i][0] <= new[j][0]:
            out.append(old[i])
            i += 1
        else:
            out.append(new[j])
            j += 1
    out.extend(old[i:])
    out.extend(new[j:])
    return out
