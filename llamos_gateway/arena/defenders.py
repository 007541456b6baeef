"""Defenders that learn between rounds, each wrapping a `Purifier` backend.

- `ExampleLearningDefender` (the LLAMOS agent): every attack that beat it becomes an
  in-context demonstration (adversarial input -> original text), shown before the bundled
  ones; the pool is capped (most recent kept) and the agent is rebuilt with the larger
  prompt set, whose version changes with it.
- `MissedEditsDefender` (lexical, tiered): the backend does not change; learning is a report
  of the edits it missed (`adversarial word -> original word`).
- `StaticDefender` (no defense): learns nothing.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from llamos_gateway.agent.prompts import Example, PromptSet
from llamos_gateway.arena.roles import Lesson
from llamos_gateway.defense.decorator import PurifierDecorator
from llamos_gateway.defense.protocol import Purifier


class StaticDefender(PurifierDecorator):
    """A backend that learns nothing: it purifies through `inner`."""

    def learn(self, lessons: Sequence[Lesson]) -> None:
        return None

    @property
    def pool(self) -> tuple[str, ...]:
        return ()

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Mapping[str, Any]) -> None:
        return None


def missed_edits(lesson: Lesson) -> list[str]:
    """`after -> before` for each word-level change the defense left in place."""
    before, after = lesson.original.split(), lesson.adversarial.split()
    kept = set((lesson.purified or "").split())
    out = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        old, new = before[i1:i2], after[j1:j2]
        restored = all(w in kept for w in old) and not any(w in kept for w in new if w not in old)
        if not restored:
            out.append(f"{' '.join(new) or '(deleted)'} -> {' '.join(old) or '(inserted)'}")
    return out


class MissedEditsDefender(StaticDefender):
    def __init__(self, purifier: Purifier, *, cap: int = 64) -> None:
        super().__init__(purifier)
        self._cap = cap
        self._missed: list[str] = []

    def learn(self, lessons: Sequence[Lesson]) -> None:
        for lesson in lessons:
            for edit in missed_edits(lesson):
                if edit in self._missed:
                    self._missed.remove(edit)
                self._missed.append(edit)
        del self._missed[: max(0, len(self._missed) - self._cap)]

    @property
    def pool(self) -> tuple[str, ...]:
        return tuple(self._missed)

    def snapshot(self) -> dict[str, Any]:
        return {"missed_edits": list(self._missed)}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._missed = [str(e) for e in state.get("missed_edits", [])]


AgentFactory = Callable[[PromptSet], Purifier]


class ExampleLearningDefender(StaticDefender):
    """The LLAMOS agent with a growing in-context example pool; `inner` is rebuilt with it."""

    def __init__(self, build: AgentFactory, prompts: PromptSet, *, task: str | None = None,
                 cap: int = 16) -> None:
        super().__init__(build(prompts))
        self._build = build
        self._base = prompts
        self._task = task
        self._cap = cap
        self._learned: list[Example] = []

    @property
    def prompts(self) -> PromptSet:
        if not self._learned:
            return self._base
        digest = hashlib.sha256("\0".join(e.answer() + e.input for e in self._learned).encode())
        base = self._base
        return replace(base, examples=(*self._learned, *base.examples),
                       example_count=base.example_count + len(self._learned),
                       version=f"{base.version}+{len(self._learned)}ex-{digest.hexdigest()[:8]}")

    def learn(self, lessons: Sequence[Lesson]) -> None:
        for lesson in lessons:
            if any(e.input == lesson.adversarial for e in self._learned):
                continue
            self._learned.append(Example(kind=lesson.instruction, task=self._task,
                                         input=lesson.adversarial, purified=lesson.original,
                                         changed=lesson.adversarial != lesson.original))
        del self._learned[: max(0, len(self._learned) - self._cap)]
        self.inner = self._build(self.prompts)

    @property
    def pool(self) -> tuple[str, ...]:
        return tuple(e.input for e in self._learned)

    def snapshot(self) -> dict[str, Any]:
        return {"examples": [{"kind": e.kind, "task": e.task, "input": e.input,
                              "purified": e.purified} for e in self._learned]}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._learned = [Example(kind=str(e["kind"]), task=e.get("task"), input=str(e["input"]),
                                 purified=str(e["purified"]),
                                 changed=e["input"] != e["purified"])
                         for e in state.get("examples", [])]
        self.inner = self._build(self.prompts)
