"""The compact prompt set (`defense.prompt_set: compact`): demonstrations inside a static system
message, the text last, a different version; the JSON-schema reply format; prompt tokens per
call reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llamos_gateway.agent import LLMPurifier, load_prompts
from llamos_gateway.defense.protocol import PurifyRequest
from llamos_gateway.errors import ConfigError
from llamos_gateway.localllm import LocalModel
from llamos_gateway.settings import PROMPTS_DIR, load_settings
from llamos_gateway.wiring import agent_prompts

MakePurifier = Callable[..., LLMPurifier]
ADV = "the sountrack is warm @qx81"


def test_compact_set_is_one_static_system_message_and_the_text() -> None:
    compact = load_prompts(PROMPTS_DIR / "llamos-compact", examples=4)
    default = load_prompts(PROMPTS_DIR / "llamos", examples=4)
    first = compact.messages(ADV, boundary="LLAMOS-aaaa", task="sentiment")
    second = compact.messages("another text", boundary="LLAMOS-bbbb", task="sentiment")
    assert [m.role for m in first] == ["system", "user"]
    assert first[0] == second[0]  # the whole static prefix is shared between calls
    assert first[-1].content.rstrip().endswith("LLAMOS-aaaa")
    assert ADV in first[-1].content
    for example in compact.chosen_examples("sentiment"):
        assert example.input in first[0].content and example.answer() in first[0].content
    assert compact.version != default.version


def test_prompt_set_setting_picks_the_directory_and_the_version() -> None:
    compact = agent_prompts(load_settings(defense={"prompt_set": "compact"}))
    default = agent_prompts(load_settings())
    assert compact.version == load_prompts(PROMPTS_DIR / "llamos-compact", examples=4).version
    assert default.version == load_prompts(PROMPTS_DIR / "llamos", examples=4).version
    with pytest.raises(ConfigError):
        load_settings(defense={"prompt_set": "tiny"})


def test_an_unknown_placeholder_beside_examples_is_still_refused(tmp_path: Path) -> None:
    for name in ("defense_guidance.md", "input.md", "examples.jsonl"):
        (tmp_path / name).write_text((PROMPTS_DIR / "llamos-compact" / name).read_text())
    (tmp_path / "agent_instruction.md").write_text(
        "${defense_guidance}${task_context}${examples}${surprise}")
    with pytest.raises(ConfigError, match="surprise"):
        load_prompts(tmp_path)


async def test_json_schema_bounds_the_text_and_tokens_are_reported(
        make_purifier: MakePurifier, defense: Any) -> None:
    purifier = make_purifier(response_format="json_schema")
    defense.answer("the soundtrack is warm")
    result = await purifier.purify(PurifyRequest(ADV))
    body = defense.history[-1].body
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema"
    assert schema["required"] == ["purified", "changed"]
    assert schema["properties"]["purified"]["maxLength"] == int(len(ADV) * 1.5) + 4
    assert result.prompt_tokens == 9 and result.extra["prompt_tokens"] == 9
    assert "format=json_schema" in purifier.cache_identity
    off = make_purifier(response_format="off")
    await off.purify(PurifyRequest(ADV))
    assert "response_format" not in defense.history[-1].body


@pytest.mark.slow
def test_compact_set_reads_at_most_40_percent_of_the_default_tokens(
        local_model: LocalModel) -> None:
    """Measured with the bundled model's tokenizer, over each set's messages for one text."""
    def tokens(directory: str) -> int:
        prompts = load_prompts(PROMPTS_DIR / directory, examples=4)
        messages = prompts.messages(ADV, boundary="LLAMOS-0123456789abcdef", task="sentiment")
        return sum(local_model.count_tokens(m.content) for m in messages)

    assert tokens("llamos-compact") <= 0.40 * tokens("llamos")
