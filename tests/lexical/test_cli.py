"""`llamos purify` (lives here with the lexical tests it depends on)."""

from __future__ import annotations

import io
import json

from typer.testing import CliRunner

from llamos_gateway.cli import build_cli
from llamos_gateway.cli.purify import purify_lines
from llamos_gateway.lexical import LexicalPurifier


def test_one_text_prints_the_purified_text_and_the_edits() -> None:
    result = CliRunner().invoke(build_cli(), ["purify", "a tedious flim . :)", "--defense",
                                              "lexical"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "a tedious film ."
    assert "suspicious" in lines[1] and "'flim' -> 'film' (spelling)" in result.output


def test_jsonl_keeps_order_and_answers_bad_lines_with_an_error() -> None:
    rows = [json.dumps({"text": "a g00d film"}), "not json", json.dumps({"txt": 1}),
            json.dumps({"text": "it 's fine . "})]
    result = CliRunner().invoke(build_cli(), ["purify", "--jsonl", "--defense", "lexical"],
                                input="\n".join(rows) + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert len(out) == 4
    assert out[0]["text"] == "a g00d film" and out[0]["purified"] == "a good film"
    assert out[0]["changed"] and out[0]["suspicious"] and out[0]["edits"][0]["rule"] == "leetspeak"
    assert out[1]["line"] == 2 and "error" in out[1]
    assert out[2]["line"] == 3 and "error" in out[2]
    assert out[3]["purified"] == "it 's fine . "
    assert not out[3]["changed"] and out[3]["edits"] == []


async def test_lines_run_concurrently_but_answer_in_order(purifier: LexicalPurifier) -> None:
    sink = io.StringIO()
    lines = [json.dumps({"text": f"text number {i} flim"}) + "\n" for i in range(20)]
    await purify_lines(purifier, lines, sink, task=None, concurrency=8)
    out = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [o["text"] for o in out] == [json.loads(line)["text"] for line in lines]


def test_text_and_jsonl_are_exclusive() -> None:
    result = CliRunner().invoke(build_cli(), ["purify"])
    assert result.exit_code != 0
