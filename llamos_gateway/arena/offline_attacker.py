"""The offline attacker: a greedy, score-guided search over word transformations.

Words are ranked by how much deleting each one lowers the defended target's score for the
true label; then, most important first, every enabled transformation proposes replacements
for the word and the one that lowers that score most is kept, until the label flips, the
fidelity budget (at most `max_word_ratio` of the words modified) or the query budget is spent.

Learning: each transformation has a weight that sets how many of its candidates are tried
per word (the best one gets `per_transform`, the others in proportion): over the rounds so
far, (1 + helpful) / (1 + offered), how often its candidates lowered the defended target's
score at all, times (1 + wins) / (1 + uses + undone), how often attacks using it succeeded
rather than being undone by the defense. So the query budget moves to what gets through.
Within one example, a second attempt gives the transformations the defense undid in the
first a quarter weight.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llamos_gateway.arena.llm_attacker import task_rng
from llamos_gateway.arena.roles import AttackTask, Oracle, Outcome, Proposal
from llamos_gateway.arena.transformations import WordTransform

PROTECTED = frozenset({"not", "n't", "no", "never", "nor", "none", "nothing", "neither",
                       "without", "nobody", "cannot"})
_WORD = re.compile(r"[A-Za-z]")


@dataclass(frozen=True, slots=True)
class _Edit:
    position: int
    transform: str
    before: str
    after: str


class OfflineAttacker:
    name = "offline"

    def __init__(self, transforms: Mapping[str, WordTransform], *, query_budget: int = 80,
                 max_word_ratio: float = 0.15, per_transform: int = 3,
                 pool_cap: int = 16) -> None:
        self._transforms = dict(transforms)
        self._budget = query_budget
        self._ratio = max_word_ratio
        self._per = per_transform
        self._cap = pool_cap
        self._uses: Counter[str] = Counter()
        self._wins: Counter[str] = Counter()
        self._undone: Counter[str] = Counter()
        self._offered: Counter[str] = Counter()
        self._helpful: Counter[str] = Counter()
        self._pending: list[tuple[str, bool]] = []  # (transform, helpful) this round
        self._pool: list[tuple[str, str, str]] = []

    @property
    def pool_size(self) -> int:
        return len(self._pool)

    @property
    def weights(self) -> dict[str, float]:
        return {n: (1 + self._helpful[n]) / (1 + self._offered[n])
                * (1 + self._wins[n]) / (1 + self._uses[n] + self._undone[n])
                for n in self._transforms}

    async def propose(self, task: AttackTask, oracle: Oracle) -> Proposal:
        tokens = task.text.split(" ")
        positions = [i for i, t in enumerate(tokens)
                     if _WORD.search(t) and t.lower() not in PROTECTED]
        allowed = math.floor(self._ratio * len(task.text.split()) + 1e-9)
        if allowed < 1 or not positions:
            return Proposal(task.text, "none", 0, "too short for the fidelity budget")
        label = task.label
        probes = [_join(tokens, {p: ""}) for p in positions]
        scored = await oracle.scores([task.text, *probes])
        queries = len(probes) + 1
        best_p = float(scored.scores[0, label])
        drop = {p: best_p - float(scored.scores[k + 1, label]) for k, p in enumerate(positions)}
        order = sorted(positions, key=lambda p: -drop[p])
        quotas = self._quotas(task)
        rng = task_rng(task, "offline")
        current: dict[int, str] = {}
        edits: list[_Edit] = []
        for pos in order:
            if len(edits) >= allowed or queries >= self._budget:
                break
            options: list[tuple[str, str]] = []
            for name, transform in self._transforms.items():
                found = transform.candidates(tokens[pos], rng.randrange(2**31))
                chosen = rng.sample(found, min(quotas[name], len(found)))
                options.extend((name, c) for c in chosen)
            options = options[: self._budget - queries]
            if not options:
                continue
            texts = [_join(tokens, {**current, pos: c}) for _, c in options]
            result = await oracle.scores(texts)
            queries += len(texts)
            column = result.scores[:, label]
            self._note(options, column, best_p)
            k = int(column.argmin())
            if float(column[k]) >= best_p:
                continue
            best_p = float(column[k])
            current[pos] = options[k][1]
            edits.append(_Edit(pos, options[k][0], tokens[pos], options[k][1]))
            if int(result.predicted[k]) != label:
                break
        names = "+".join(sorted({e.transform for e in edits})) or "none"
        return Proposal(_join(tokens, current), names, queries)

    def _note(self, options: Sequence[tuple[str, str]], column: Any, best_p: float) -> None:
        """Which transformations offered a candidate here, and whether any of them helped;
        counted in at `learn`, so weights only change between rounds."""
        lowest: dict[str, float] = {}
        for (name, _), score in zip(options, column, strict=True):
            lowest[name] = min(lowest.get(name, 1.0), float(score))
        self._pending.extend((name, score < best_p - 1e-9) for name, score in lowest.items())

    def _quotas(self, task: AttackTask) -> dict[str, int]:
        weights = self.weights
        for item in task.feedback:
            if item.purified != item.adversarial:
                for name in item.instruction.split("+"):
                    if name in weights:
                        weights[name] *= 0.25
        top = max(weights.values(), default=1.0)
        return {n: max(0, round(self._per * w / top)) if w < top else self._per
                for n, w in weights.items()}

    def learn(self, outcomes: Sequence[Outcome]) -> None:
        for name, helped in self._pending:
            self._offered[name] += 1
            self._helpful[name] += helped
        self._pending.clear()
        for out in outcomes:
            names = [n for n in out.instruction.split("+") if n in self._transforms]
            # a text the defense refused (fail-closed) counts as undone: the attack did not pass
            reverted = undone(out.original, out.adversarial,
                              out.original if out.purified is None else out.purified)
            for name in names:
                self._uses[name] += 1
                self._wins[name] += out.verdict.success
                self._undone[name] += reverted
            if out.verdict.success:
                self._pool.append((out.instruction, out.original, out.adversarial))
        del self._pool[: max(0, len(self._pool) - self._cap)]

    def snapshot(self) -> dict[str, Any]:
        return {"weights": {n: round(w, 4) for n, w in self.weights.items()},
                "uses": dict(self._uses), "wins": dict(self._wins),
                "undone": dict(self._undone), "offered": dict(self._offered),
                "helpful": dict(self._helpful), "pool": [list(p) for p in self._pool]}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._uses = Counter(state.get("uses", {}))
        self._wins = Counter(state.get("wins", {}))
        self._undone = Counter(state.get("undone", {}))
        self._offered = Counter(state.get("offered", {}))
        self._helpful = Counter(state.get("helpful", {}))
        self._pool = [(str(a), str(b), str(c)) for a, b, c in state.get("pool", [])]


def undone(original: str, adversarial: str, purified: str) -> bool:
    """True when the defense removed every word the attack introduced."""
    introduced = set(adversarial.split()) - set(original.split())
    if not introduced:
        return purified != adversarial
    return not introduced & set(purified.split())


def _join(tokens: Sequence[str], replaced: Mapping[int, str]) -> str:
    return " ".join(t for t in (replaced.get(i, tok) for i, tok in enumerate(tokens)) if t)
