"""The LLM attacker: PromptAttack through any `Upstream`.

Each attempt picks one of the nine perturbation instructions (weighted by how often it beat
the defense, and how often the defense undid it), renders `prompts/attacker/` with few-shot
examples from its own past successes and the feedback of earlier attempts on the example, and
asks the attacker model for the new sentence only. Small models answer in prose all the same:
the sentence is taken out of the reply (`extraction.extract_sentence`); a reply without one is
proposed unparsed, and the engine counts it as a failed attempt without classifying it.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from llamos_gateway.arena.attacker_prompts import INSTRUCTIONS, AttackerPrompts, Shot
from llamos_gateway.arena.extraction import extract_sentence
from llamos_gateway.arena.roles import AttackTask, Oracle, Outcome, Proposal
from llamos_gateway.errors import UpstreamError
from llamos_gateway.upstream import Upstream, UpstreamCall


def task_rng(task: AttackTask, salt: str = "") -> random.Random:
    return random.Random(f"{salt}:{task.seed}:{task.round}:{task.idx}:{task.attempt}")


class LLMAttacker:
    name = "llm"

    def __init__(self, *, upstream: Upstream, model: str, prompts: AttackerPrompts,
                 instructions: Sequence[str] = INSTRUCTIONS, pool_cap: int = 16, shots: int = 3,
                 temperature: float = 0.7, timeout_s: float = 60.0) -> None:
        self._upstream = upstream
        self._model = model
        self._prompts = prompts
        self._instructions = tuple(instructions)
        self._cap = pool_cap
        self._shots = shots
        self._temperature = temperature
        self._timeout_s = timeout_s
        self._pool: list[Shot] = []
        self._tries: Counter[str] = Counter()
        self._wins: Counter[str] = Counter()
        self._undone: Counter[str] = Counter()

    @property
    def prompt_version(self) -> str:
        return self._prompts.version

    @property
    def pool_size(self) -> int:
        return len(self._pool)

    def choose(self, task: AttackTask) -> str:
        tried = {f.instruction for f in task.feedback}
        options = [i for i in self._instructions if i not in tried] or list(self._instructions)
        weights = [(1 + self._wins[i]) / (1 + self._tries[i] + self._undone[i]) for i in options]
        return task_rng(task, "instruction").choices(options, weights=weights)[0]

    def prompt(self, task: AttackTask, instruction: str) -> str:
        shots = [s for s in self._pool if s.instruction == instruction][-self._shots:]
        return self._prompts.render(task, instruction, shots)

    async def propose(self, task: AttackTask, oracle: Oracle) -> Proposal:
        instruction = self.choose(task)
        body: dict[str, Any] = {
            "model": self._model, "temperature": self._temperature,
            "max_tokens": len(task.text) // 2 + 64,
            "seed": task_rng(task, "sampling").randrange(2**31),
            "messages": [{"role": "user", "content": self.prompt(task, instruction)}],
        }
        reply = await self._upstream.complete(UpstreamCall("chat/completions", body,
                                                           timeout_s=self._timeout_s))
        if reply.status >= 400:
            raise UpstreamError(f"attacker model answered HTTP {reply.status}")
        content = _content(reply.content)
        text = extract_sentence(content, task.text)
        if text is None:  # no sentence in the reply: a failed attempt, judged as such
            return Proposal(content, instruction, queries=0, note="no sentence in the reply",
                            parsed=False)
        return Proposal(text, instruction, queries=0)

    def learn(self, outcomes: Sequence[Outcome]) -> None:
        for out in outcomes:
            self._tries[out.instruction] += 1
            if out.verdict.success:
                self._wins[out.instruction] += 1
                self._pool.append(Shot(out.instruction, out.original, out.adversarial))
            elif out.purified == out.original and out.adversarial != out.original:
                self._undone[out.instruction] += 1
        del self._pool[: max(0, len(self._pool) - self._cap)]

    def snapshot(self) -> dict[str, Any]:
        return {"pool": [[s.instruction, s.original, s.adversarial] for s in self._pool],
                "tries": dict(self._tries), "wins": dict(self._wins),
                "undone": dict(self._undone)}

    def restore(self, state: Mapping[str, Any]) -> None:
        self._pool = [Shot(str(a), str(b), str(c)) for a, b, c in state.get("pool", [])]
        self._tries = Counter(state.get("tries", {}))
        self._wins = Counter(state.get("wins", {}))
        self._undone = Counter(state.get("undone", {}))


def _content(raw: bytes) -> str:
    try:
        body = orjson.loads(raw)
        content = body["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise UpstreamError("attacker model reply is not a chat completion") from exc
    return content if isinstance(content, str) else ""
