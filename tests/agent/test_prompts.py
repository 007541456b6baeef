from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from llamos_gateway.agent.prompts import TASKS, load_prompts
from llamos_gateway.errors import ConfigError
from llamos_gateway.settings import PROMPTS_DIR

SOURCE = PROMPTS_DIR / "llamos"


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "llamos"
    shutil.copytree(SOURCE, target)
    return target


def test_shipped_prompts_load_and_cover_every_task() -> None:
    prompts = load_prompts(SOURCE, examples=4)
    assert set(prompts.tasks) == set(TASKS)
    assert prompts.version.startswith("llamos-") and len(prompts.version) == 19
    kinds = {e.kind for e in prompts.examples}
    assert {"clean", "injection", "C1", "C2", "C3", "W1", "W2", "W3", "S1", "S2", "S3"} <= kinds


def test_render_places_guidance_task_examples_and_delimited_input() -> None:
    prompts = load_prompts(SOURCE, examples=2)
    messages = prompts.messages("some text", boundary="LLAMOS-b0", task="sentiment")
    roles = [m.role for m in messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    system = messages[0].content
    assert prompts.guidance in system and prompts.tasks["sentiment"] in system
    assert "${" not in system
    assert messages[-1].content.endswith("<<<BEGIN LLAMOS-b0>>>\nsome text\n<<<END LLAMOS-b0>>>\n")
    assert messages[2].content == prompts.examples[0].answer()


def test_no_task_means_no_task_context() -> None:
    prompts = load_prompts(SOURCE)
    system = prompts.messages("x", boundary="b")[0].content
    assert "# Task context" not in system
    assert "# Task context" in prompts.messages("x", boundary="b", task="nli")[0].content


def test_example_count_and_task_filter() -> None:
    prompts = load_prompts(SOURCE, examples=64)
    generic = [e for e in prompts.examples if e.task is None]
    assert prompts.chosen_examples(None) == tuple(generic)
    nli = prompts.chosen_examples("nli")
    assert any(e.task == "nli" for e in nli) and all(e.task in (None, "nli") for e in nli)
    assert load_prompts(SOURCE, examples=0).chosen_examples(None) == ()


def test_version_is_a_content_hash(copy: Path) -> None:
    before = load_prompts(copy).version
    assert load_prompts(copy).version == before
    assert load_prompts(copy, examples=3).version != before
    (copy / "defense_guidance.md").write_text("Fix typos only.\n", encoding="utf-8")
    assert load_prompts(copy).version != before


def test_user_text_with_placeholders_is_not_expanded() -> None:
    prompts = load_prompts(SOURCE)
    rendered = prompts.user("${boundary} and $text", "LLAMOS-1")
    assert "\n${boundary} and $text\n" in rendered


@pytest.mark.parametrize(("name", "text", "message"), [
    ("input.md", "only ${text}\n", r"lacks required placeholder\(s\): boundary"),
    ("input.md", "${boundary} ${text} ${secret}\n", r"unknown placeholder\(s\): secret"),
    ("agent_instruction.md", "no guidance ${task_context}", "defense_guidance"),
    ("agent_instruction.md", "bad $ {x} ${defense_guidance}${task_context}", "malformed"),
    ("defense_guidance.md", "uses ${text}", "must not contain"),
])
def test_template_errors_name_the_file(copy: Path, name: str, text: str, message: str) -> None:
    (copy / name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_prompts(copy)


def test_missing_file_and_bad_examples(copy: Path) -> None:
    (copy / "examples.jsonl").write_text('{"kind": "C1", "input": "a"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="examples.jsonl:1"):
        load_prompts(copy)
    (copy / "examples.jsonl").write_text(
        '{"kind": "C1", "task": null, "input": "a", "purified": "b", "changed": false}\n',
        encoding="utf-8")
    with pytest.raises(ConfigError, match="disagrees"):
        load_prompts(copy)
    (copy / "input.md").unlink()
    with pytest.raises(ConfigError, match="prompt file missing"):
        load_prompts(copy)


def test_unknown_task_file_and_unknown_task(copy: Path) -> None:
    with pytest.raises(ConfigError, match="unknown defense task"):
        load_prompts(copy).messages("x", boundary="b", task="poetry")
    (copy / "tasks" / "poetry.md").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown task prompt"):
        load_prompts(copy)
