"""The agent's prompts: files under `prompts/llamos/`, loaded and checked once at start.

Layout of the prompt directory:

- `agent_instruction.md`: the system message; placeholders `${defense_guidance}` and
  `${task_context}` (both required) and, optionally, `${examples}`: the demonstrations are
  then written into the system message (static, so a server's prefix cache keeps it) instead
  of being sent as user/assistant turns.
- `defense_guidance.md`: repair strategies, pasted into the instruction. No placeholders.
- `input.md`: the user message; placeholders `${boundary}` and `${text}` (both required).
- `examples.jsonl`: demonstrations, one JSON object a line:
  `{"kind", "task", "input", "purified", "changed"}`; `task` null means any task.
- `tasks/<task>.md`: optional task context (`sentiment`, `nli`, `paraphrase`, `qa`, `chat`).

A template that uses an unknown placeholder, or lacks a required one, is a `ConfigError`
at load time. The version is a content hash over every file and the example count, so it
changes whenever anything the defense model reads changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from llamos_gateway.defense.protocol import Task
from llamos_gateway.errors import ConfigError

TASKS = tuple(t.value for t in Task)

_INSTRUCTION_VARS = frozenset({"defense_guidance", "task_context"})
_INLINE_EXAMPLES = "examples"  # optional in the instruction
_INPUT_VARS = frozenset({"boundary", "text"})


@dataclass(frozen=True, slots=True)
class Example:
    """One demonstration: `input` purifies to `purified`."""

    kind: str
    task: str | None
    input: str
    purified: str
    changed: bool

    def answer(self) -> str:
        return json.dumps({"purified": self.purified, "changed": self.changed},
                          ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True, slots=True)
class PromptSet:
    """Everything the defense model is shown, loaded and validated. Render with `messages`."""

    instruction: Template
    guidance: str
    input: Template
    examples: tuple[Example, ...]
    tasks: dict[str, str]
    example_count: int
    version: str
    systems: dict[str | None, str]  # rendered once per task at load time
    inline_examples: bool = False  # the examples are in the system message, not turns

    def system(self, task: str | None) -> str:
        rendered = self.systems.get(task)
        if rendered is None:  # a task without a task file: no task context
            rendered = self.systems[None]
        return rendered

    def user(self, text: str, boundary: str) -> str:
        return self.input.substitute(boundary=boundary, text=text)

    def chosen_examples(self, task: str | None) -> tuple[Example, ...]:
        """The first `example_count` examples meant for any task or for `task`, in file order."""
        eligible = [e for e in self.examples if e.task is None or e.task == task]
        return tuple(eligible[: self.example_count])

    def messages(self, text: str, *, boundary: str, task: str | None = None) -> list[Message]:
        """System instruction, demonstrations as user/assistant turns, then the delimited input."""
        if task is not None and task not in TASKS:
            raise ConfigError(f"unknown defense task {task!r}; expected one of {', '.join(TASKS)}")
        out = [Message("system", self.system(task))]
        for example in () if self.inline_examples else self.chosen_examples(task):
            out.append(Message("user", self.user(example.input, boundary)))
            out.append(Message("assistant", example.answer()))
        out.append(Message("user", self.user(text, boundary)))
        return out


def load_prompts(directory: Path, *, examples: int = 4) -> PromptSet:
    """Load and check the prompt files in `directory` (e.g. `prompts/llamos`)."""
    instruction_text = read_prompt(directory / "agent_instruction.md")
    input_text = read_prompt(directory / "input.md")
    guidance = read_prompt(directory / "defense_guidance.md").strip()
    inline = _INLINE_EXAMPLES in Template(instruction_text).get_identifiers()
    instruction = prompt_template(instruction_text, "agent_instruction.md",
                                  _INSTRUCTION_VARS | ({_INLINE_EXAMPLES} if inline else set()))
    user = prompt_template(input_text, "input.md", _INPUT_VARS)
    if "$" in guidance and Template(guidance).get_identifiers():
        raise ConfigError("prompt defense_guidance.md must not contain ${...} placeholders")
    examples_raw = read_prompt(directory / "examples.jsonl")
    parsed = _examples(examples_raw, directory / "examples.jsonl")
    tasks = _tasks(directory / "tasks")
    digest = hashlib.sha256()
    for name, body in (("agent_instruction.md", instruction_text), ("input.md", input_text),
                       ("defense_guidance.md", guidance), ("examples.jsonl", examples_raw),
                       *sorted(tasks.items()), ("examples", str(examples))):
        digest.update(name.encode() + b"\0" + body.encode() + b"\0")
    shown = {task: tuple(e for e in parsed if e.task is None or e.task == task)[:examples]
             for task in (None, *tasks)}
    systems: dict[str | None, str] = {
        task: instruction.substitute(
            defense_guidance=guidance, task_context=tasks.get(task, "") if task else "",
            **({_INLINE_EXAMPLES: _inline(shown[task])} if inline else {}))
        for task in (None, *tasks)}
    return PromptSet(instruction=instruction, guidance=guidance, input=user,
                     examples=parsed, tasks=tasks, example_count=examples,
                     version="llamos-" + digest.hexdigest()[:12], systems=systems,
                     inline_examples=inline)


def _inline(examples: tuple[Example, ...]) -> str:
    """Demonstrations written into the instruction: the input, then the answer, per pair."""
    return "\n".join(f"{e.input}\n{e.answer()}" for e in examples)


def read_prompt(path: Path) -> str:
    """A prompt file's text; `ConfigError` naming it when it is missing."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"prompt file missing: {path}") from exc


def prompt_template(text: str, name: str, expected: frozenset[str]) -> Template:
    """`text` as a template with exactly the `expected` placeholders, else `ConfigError`."""
    template = Template(text)
    if not template.is_valid():
        raise ConfigError(f"prompt {name} has a malformed placeholder (use ${{name}}; $$ for $)")
    used = set(template.get_identifiers())
    if unknown := used - expected:
        raise ConfigError(f"prompt {name} uses unknown placeholder(s): "
                          f"{', '.join(sorted(unknown))}")
    if missing := expected - used:
        raise ConfigError(f"prompt {name} lacks required placeholder(s): "
                          f"{', '.join(sorted(missing))}")
    return template


def _examples(raw: str, path: Path) -> tuple[Example, ...]:
    out = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item: Any = json.loads(line)
            example = Example(kind=str(item["kind"]), task=item.get("task"),
                              input=item["input"], purified=item["purified"],
                              changed=item["changed"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{number}: not a valid example ({exc})") from exc
        if not (isinstance(example.input, str) and isinstance(example.purified, str)
                and isinstance(example.changed, bool)):
            raise ConfigError(f"{path}:{number}: input/purified must be strings, changed a bool")
        if example.task is not None and example.task not in TASKS:
            raise ConfigError(f"{path}:{number}: unknown task {example.task!r}")
        if example.changed != (example.input != example.purified):
            raise ConfigError(f"{path}:{number}: `changed` disagrees with input/purified")
        out.append(example)
    return tuple(out)


def _tasks(directory: Path) -> dict[str, str]:
    tasks: dict[str, str] = {}
    if not directory.is_dir():
        return tasks
    for path in sorted(directory.glob("*.md")):
        if path.stem not in TASKS:
            raise ConfigError(f"unknown task prompt {path}; expected one of {', '.join(TASKS)}")
        tasks[path.stem] = path.read_text(encoding="utf-8")
    return tasks
