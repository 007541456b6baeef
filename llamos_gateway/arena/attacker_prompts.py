"""The LLM attacker's prompts: files under `prompts/attacker/`, loaded and checked once.

PromptAttack's scheme: original input (OI), attack objective (AO), attack guidance (AG) with one
of nine perturbation instructions, "only output the new sentence". Few-shot examples come from
the attacker's own successes; feedback lists what the defense made of earlier attempts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from llamos_gateway.agent.prompts import prompt_template, read_prompt
from llamos_gateway.arena.roles import AttackTask, Feedback
from llamos_gateway.errors import ConfigError

INSTRUCTIONS = ("C1", "C2", "C3", "W1", "W2", "W3", "S1", "S2", "S3")
_FILES: dict[str, frozenset[str]] = {
    "attack.md": frozenset({"field", "original", "label", "target_labels", "instruction",
                            "examples", "feedback"}),
    "examples.md": frozenset({"items"}),
    "example.md": frozenset({"original", "adversarial"}),
    "feedback.md": frozenset({"field", "items"}),
    "feedback_item.md": frozenset({"attempt", "adversarial", "purified", "predicted", "reason"}),
}


@dataclass(frozen=True, slots=True)
class Shot:
    """A past success shown as a few-shot example."""

    instruction: str
    original: str
    adversarial: str


@dataclass(frozen=True, slots=True)
class AttackerPrompts:
    templates: dict[str, Template]
    instructions: dict[str, str]
    version: str

    def render(self, task: AttackTask, instruction: str, shots: Sequence[Shot],
               field: str = "sentence") -> str:
        t = self.templates
        targets = [w for i, w in enumerate(task.labels) if i != task.label]
        examples = ""
        if shots:
            items = "".join(t["example.md"].substitute(original=s.original,
                                                       adversarial=s.adversarial) for s in shots)
            examples = t["examples.md"].substitute(items=items.rstrip("\n"))
        feedback = ""
        if task.feedback:
            items = "".join(self._feedback(i, f) for i, f in enumerate(task.feedback, start=1))
            feedback = t["feedback.md"].substitute(field=field, items=items.rstrip("\n"))
        return t["attack.md"].substitute(
            field=field, original=task.text, label=task.label_word,
            target_labels=" or ".join(targets), instruction=self.instructions[instruction],
            examples=examples, feedback=feedback)

    def _feedback(self, attempt: int, item: Feedback) -> str:
        return self.templates["feedback_item.md"].substitute(
            attempt=attempt, adversarial=item.adversarial, purified=item.purified,
            predicted=item.predicted, reason=item.reason.replace("_", " "))


def load_attacker_prompts(directory: Path) -> AttackerPrompts:
    digest = hashlib.sha256()
    templates: dict[str, Template] = {}
    for name, expected in _FILES.items():
        text = read_prompt(directory / name)
        templates[name] = prompt_template(text, f"attacker/{name}", expected)
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    raw = read_prompt(directory / "instructions.json")
    digest.update(raw.encode())
    try:
        loaded = json.loads(raw)
        instructions = {key: str(loaded[key]["text"]) for key in INSTRUCTIONS}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{directory / 'instructions.json'}: needs C1..S3, each with a "
                          f"'text' ({exc})") from exc
    return AttackerPrompts(templates, instructions, "attacker-" + digest.hexdigest()[:12])


