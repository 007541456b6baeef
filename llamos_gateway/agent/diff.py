"""A character diff between the input and the purified text, widened to whole words."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from llamos_gateway.defense.protocol import Edit


def char_edits(before: str, after: str, *, rule: str = "llamos") -> tuple[Edit, ...]:
    """The edits that turn `before` into `after`; each is widened to the words it touches."""
    if before == after:
        return ()
    spans: list[list[int]] = []
    for op in Levenshtein.opcodes(before, after):
        if op.tag == "equal":
            continue
        s0, s1, d0, d1 = op.src_start, op.src_end, op.dest_start, op.dest_end
        while s0 > 0 and d0 > 0 and before[s0 - 1].isalnum() and before[s0 - 1] == after[d0 - 1]:
            s0, d0 = s0 - 1, d0 - 1
        while (s1 < len(before) and d1 < len(after) and before[s1].isalnum()
               and before[s1] == after[d1]):
            s1, d1 = s1 + 1, d1 + 1
        if spans and s0 <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], s1)
            spans[-1][3] = max(spans[-1][3], d1)
        else:
            spans.append([s0, s1, d0, d1])
    return tuple(Edit(start=s0, end=s1, before=before[s0:s1], after=after[d0:d1], rule=rule)
                 for s0, s1, d0, d1 in spans)


def edit_distance(before: str, after: str) -> int:
    return int(Levenshtein.distance(before, after))
