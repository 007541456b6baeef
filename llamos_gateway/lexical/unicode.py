"""Character-level repair, in the order a reader's eye undoes the tricks:

1. deletion controls erase the character before them (`controls`);
2. bidi-reordered paragraphs are put in the order they are shown (`bidi`);
3. invisible and formatting characters go where they carry nothing (`invisible`);
4. excess combining marks (Zalgo) go, a letter's own accents stay (`marks`);
5. compatibility forms that disguise Latin text are folded (`compat`).

The result is a `Rewrites`: the repaired text plus every change, in the caller's
coordinates. Plain ASCII without control characters takes a fast path.
"""

from __future__ import annotations

from dataclasses import dataclass

from llamos_gateway.lexical import bidi, compat, controls, invisible, marks
from llamos_gateway.lexical.rewrites import Rewrites, coarsen


@dataclass(frozen=True, slots=True)
class Normalised:
    """The repaired text as `Rewrites`, and what each stage found."""

    rewrites: Rewrites
    invisible: int = 0     # invisible and formatting characters removed
    deletions: int = 0     # characters erased together with their deletion controls
    reordered: int = 0     # paragraphs put back in reading order
    zalgo: int = 0         # combining marks removed
    folded: int = 0        # compatibility letters folded

    @property
    def text(self) -> str:
        return self.rewrites.text


def normalise(text: str) -> Normalised:
    rewrites = Rewrites(text)
    if text.isascii() and "\x08" not in text and "\x7f" not in text:
        return Normalised(rewrites)
    erased = controls.deletions(text)
    rewrites = rewrites.apply(coarsen(rewrites.text, erased))
    reordered = bidi.reading_order(rewrites.text)
    rewrites = rewrites.apply(reordered)
    hidden, removed = invisible.invisible(rewrites.text)
    rewrites = rewrites.apply(coarsen(rewrites.text, hidden))
    zalgo = marks.excess_marks(rewrites.text)
    rewrites = rewrites.apply(coarsen(rewrites.text, zalgo))
    folded = compat.fold(rewrites.text)
    rewrites = rewrites.apply(coarsen(rewrites.text, folded))
    return Normalised(
        rewrites,
        invisible=removed,
        deletions=sum(c.end - c.start for c in erased),
        reordered=len(reordered),
        zalgo=sum(c.end - c.start - len(c.after) for c in zalgo),
        folded=sum(1 for c in folded if any(ch.isalnum() for ch in c.after)),
    )
