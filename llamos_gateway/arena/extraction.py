"""The new sentence inside an attacker model's reply, as PromptAttack's own parsing finds it.

Small chat models seldom answer with the sentence alone. In order: a labelled line
(`New sentence: ...`, `Answer: ...`, `Output: ...`, the text on the line itself or on the next
one), a quoted sentence (the quote closest to the original that is not the original quoted
back), a line of its own closest to the original. A reply with none of these, or whose only
candidate reads as text about the task, an answer or a refusal, holds no sentence: None, and
the attempt counts as failed.
"""

from __future__ import annotations

import re

from llamos_gateway.evaluation.rewrite import content_overlap, rewrite_problem

LABELLED = re.compile(
    r"^\W*(?:(?:the|my|your|a)\s+)?(?:new|modified|rewritten|revised|adversarial|paraphrased|"
    r"changed|perturbed|final)?\s*(?:sentence|output|answer|result|text|review|version)"
    r"(?:\s+is)?\s*\**\s*[:：]\s*\**\s*(.*)$", re.IGNORECASE)
QUOTED = re.compile(r'"([^"\n]{3,})"|“([^”\n]{3,})”|«([^»\n]{3,})»')
WRAPPERS = "\"'`“”‘’«»*"
NOT_SENTENCES = frozenset({"meta", "refusal", "answer", "empty"})


def _unwrap(text: str) -> str:
    text = text.strip()
    while len(text) >= 2 and text[0] in WRAPPERS and text[-1] in WRAPPERS:
        text = text[1:-1].strip()
    return text


def _lines(reply: str) -> list[str]:
    return [ln.strip() for ln in reply.strip().splitlines()
            if ln.strip() and not ln.strip().startswith("```")]


def _labelled(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        match = LABELLED.match(line)
        if match:
            rest = _unwrap(match.group(1))
            return rest or (_unwrap(lines[i + 1]) if i + 1 < len(lines) else None)
    return None


def _closest(options: list[str], original: str) -> str | None:
    """The option sharing most of the original's content words (the original itself last)."""
    fresh = [o for o in options if " ".join(o.split()) != " ".join(original.split())]
    if not fresh:
        return options[0] if options else None
    return max(fresh, key=lambda o: content_overlap(original, o) or 0.0)


def _quoted(reply: str, original: str) -> str | None:
    spans = [next(g for g in m.groups() if g) for m in QUOTED.finditer(reply)]
    return _closest([s.strip() for s in spans if len(s.split()) >= 2], original)


def _own_line(lines: list[str], original: str) -> str | None:
    if len(lines) == 1:  # the reply is the sentence (the judge decides whether it is a rewrite)
        return _unwrap(lines[0])
    candidates = [_unwrap(ln) for ln in lines]
    candidates = [c for c in candidates if rewrite_problem(original, c) is None]
    best = _closest(candidates, original)
    return best if best is not None and (content_overlap(original, best) or 0.0) >= 0.5 else None


def extract_sentence(reply: str, original: str) -> str | None:
    """The candidate sentence in `reply`, or None when there is none (see the module doc)."""
    lines = _lines(reply)
    if not lines:
        return None
    for found in (_labelled(lines), _quoted(reply, original), _own_line(lines, original)):
        if found and rewrite_problem(original, found) not in NOT_SENTENCES:
            return found
    return None
