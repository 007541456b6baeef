"""Labelled examples to attack: the bundled GLUE splits, user CSV/JSONL, Hugging Face datasets.

`load_dataset("sst2")` gives the 872 SST-2 validation sentences with the task's label words
and PromptAttack's task description; `load_dataset("reviews.csv", text_columns=("review",),
label_column="stars", labels=("bad", "good"))` reads a user file.
"""

from __future__ import annotations

import csv
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from llamos_gateway.errors import InvalidRequest, NotFound
from llamos_gateway.evaluation.protocols import TextInput

DATA = resources.files("llamos_gateway") / "data"


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """What the target is asked: label words (index = label id), input columns, the prompt."""

    name: str
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    description: str
    purify_task: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    idx: int
    fields: tuple[str, ...]
    label: int

    @property
    def input(self) -> TextInput:
        return self.fields[0] if len(self.fields) == 1 else self.fields


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    task: TaskSpec
    examples: tuple[Example, ...]

    def __len__(self) -> int:
        return len(self.examples)

    def select(self, limit: int | None, seed: int = 0) -> Dataset:
        """A seeded sample of `limit` examples, kept in file order (all when `limit` is None)."""
        if limit is None or limit >= len(self.examples):
            return self
        if limit < 1:
            raise InvalidRequest("--limit must be at least 1", param="limit")
        chosen = sorted(random.Random(seed).sample(range(len(self.examples)), limit))
        return replace(self, examples=tuple(self.examples[i] for i in chosen))


def _task_description(info_file: str) -> str:
    info = json.loads((DATA / "promptattack" / "task_info" / info_file).read_text("utf-8"))
    return str(info["task_descriptions"][0]).strip()


def bundled_task(name: str) -> TaskSpec:
    if name == "sst2":
        return TaskSpec("sst2", ("negative", "positive"), ("sentence",),
                        _task_description("sst2_info.json"), "sentiment")
    if name == "rte":
        return TaskSpec("rte", ("entailment", "not_entailment"), ("sentence1", "sentence2"),
                        _task_description("rte_info.json"), "nli")
    raise NotFound(f"unknown bundled task {name!r} (bundled: sst2, rte)", param="dataset")


BUNDLED = {"sst2": "glue/sst2_validation.jsonl", "rte": "glue/rte_validation.jsonl"}


def load_dataset(name: str, *, text_columns: Sequence[str] | None = None,
                 label_column: str = "label", labels: Sequence[str] | None = None,
                 description: str | None = None) -> Dataset:
    """`sst2`, `rte`, a .csv/.jsonl path, or `hf:NAME[/CONFIG][:SPLIT]`. Raises `NotFound`."""
    if name in BUNDLED:
        task = bundled_task(name)
        rows = _read_jsonl_text((DATA / BUNDLED[name]).read_text("utf-8"), name)
        return Dataset(name, task, _examples(rows, task.columns, "label", task.labels, name))
    rows = _read_hf(name[3:]) if name.startswith("hf:") else _read_file(Path(name))
    columns = tuple(text_columns or ("text",))
    label_words = tuple(labels) if labels else _infer_labels(rows, label_column, name)
    task = TaskSpec(Path(name).stem, label_words, columns,
                    description or _generic_description(label_words))
    return Dataset(name, task, _examples(rows, columns, label_column, label_words, name))


def _generic_description(labels: tuple[str, ...]) -> str:
    options = " or ".join(f"'{label}'" for label in labels)
    return f"Classify the following text. Respond with {options}:"


def _read_file(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise NotFound(f"dataset not found: {path} (use sst2, rte, a .csv/.jsonl file or hf:NAME)",
                       param="dataset")
    text = path.read_text("utf-8")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    if path.suffix.lower() in {".jsonl", ".json"}:
        return _read_jsonl_text(text, str(path))
    raise InvalidRequest(f"dataset {path}: expected a .csv or .jsonl file", param="dataset")


def _read_jsonl_text(text: str, source: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"dataset {source}: line {number} is not JSON ({exc.msg})",
                                 param="dataset") from exc
    return rows


def _read_hf(spec: str) -> list[dict[str, Any]]:
    path, _, split = spec.partition(":")
    name, _, config = path.partition("/")
    try:
        import datasets  # heavy and optional: only for hf: specs

        # both libraries set their loggers' levels on import; retries would be logged
        for noisy in ("datasets", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        loaded = datasets.load_dataset(name, config or None, split=split or "validation")
    except ImportError as exc:
        raise NotFound("hf: datasets need the 'datasets' package (pip install -e .[eval])",
                       param="dataset") from exc
    except Exception as exc:  # network, unknown name, missing split: one line for the CLI
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NotFound(f"Hugging Face dataset {spec!r} unavailable: {first}",
                       param="dataset") from exc
    return [dict(row) for row in loaded]


def _infer_labels(rows: list[dict[str, Any]], column: str, source: str) -> tuple[str, ...]:
    values = {str(row.get(column, "")).strip() for row in rows}
    if not rows or "" in values:
        raise InvalidRequest(f"dataset {source}: every row needs a {column!r} label",
                             param="label_column")
    if all(v.lstrip("-").isdigit() for v in values):
        return tuple(str(i) for i in range(max(int(v) for v in values) + 1))
    return tuple(sorted(values))


def _examples(rows: list[dict[str, Any]], columns: tuple[str, ...], label_column: str,
              labels: tuple[str, ...], source: str) -> tuple[Example, ...]:
    out = []
    for number, row in enumerate(rows):
        missing = [c for c in (*columns, label_column) if c not in row]
        if missing:
            raise InvalidRequest(f"dataset {source}: row {number} lacks column(s) "
                                 f"{', '.join(missing)} (found: {', '.join(map(str, row))})",
                                 param="text_columns")
        out.append(Example(int(row.get("idx", number)), tuple(str(row[c]) for c in columns),
                           _label_id(row[label_column], labels, source)))
    return tuple(out)


def _label_id(value: Any, labels: tuple[str, ...], source: str) -> int:
    text = str(value).strip()
    if text in labels:
        return labels.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(labels):
        return int(text)
    raise InvalidRequest(f"dataset {source}: label {text!r} is not one of {', '.join(labels)}",
                         param="labels")
