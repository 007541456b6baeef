"""`llamos purify` (lives here with the lexical tests it depends on)."""

from __future__ import annotations

import io
import json

from typer.testing import CliRunner

from llamos_gateway.cli import build_cli
from llamos_gateway.cli.purify import purify_lines
from llamos_gateway.defense import Defense
from llamos_gateway.lexical import LexicalPurifier


def test_one_text_prints_the_purified_text_alone_and_explains_on_stderr() -> None:
    quiet = CliRunner().invoke(build_cli(), ["purify", "a tedious flim . :)", "--defense",
                                             "lexical"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout == "a tedious film .\n" and quiet.stderr == ""
    explained = CliRunner().invoke(build_cli(), ["purify", "a tedious flim . :)", "--explain"])
    assert explained.stdout == "a tedious film .\n"
    lines = explained.stderr.splitlines()
    assert "suspicious" in lines[0] and "'flim' -> 'film' (spelling)" in explained.stderr


def test_jsonl_echoes_input_fields_and_sends_bad_lines_to_stderr() -> None:
    rows = [json.dumps({"id": "a", "text": "a g00d film", "label": 1}), "not json",
            json.dumps({"id": "c", "txt": 1}), json.dumps({"id": "d", "text": "it 's fine . "})]
    result = CliRunner().invoke(build_cli(), ["purify", "--jsonl", "--defense", "lexical"],
                                input="\n".join(rows) + "\n")
    assert result.exit_code == 1, result.output  # some lines failed
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "d"]
    assert out[0]["text"] == "a g00d film" and out[0]["purified"] == "a good film"
    assert out[0]["label"] == 1
    assert out[0]["changed"] and out[0]["suspicious"] and out[0]["edits"][0]["rule"] == "leetspeak"
    assert out[1]["purified"] == "it 's fine . "
    assert not out[1]["changed"] and out[1]["edits"] == []
    errors = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(e["line"], e.get("id")) for e in errors] == [(2, None), (3, "c")]
    assert all(e["error"] for e in errors)


def test_jsonl_without_failures_exits_0() -> None:
    result = CliRunner().invoke(build_cli(), ["purify", "--jsonl", "--defense", "lexical"],
                                input=json.dumps({"text": "fine"}) + "\n\n")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout)["purified"] == "fine"


async def test_lines_run_concurrently_but_answer_in_order(purifier: LexicalPurifier) -> None:
    sink = io.StringIO()
    lines = [json.dumps({"text": f"text number {i} flim"}) + "\n" for i in range(20)]
    tally = await purify_lines(Defense(purifier), lines, sink, io.StringIO(), task=None,
                               concurrency=8)
    assert (tally.written, tally.failed) == (20, 0)
    out = [json.loads(line) for line in sink.getvalue().splitlines()]
    assert [o["text"] for o in out] == [json.loads(line)["text"] for line in lines]


def test_text_and_jsonl_are_exclusive() -> None:
    result = CliRunner().invoke(build_cli(), ["purify"])
    assert result.exit_code != 0


def test_json_says_which_rule_made_each_edit_and_which_spans_were_skipped() -> None:
    text = "see https://exmaple.com for the \u202eeivom\u202c"
    result = CliRunner().invoke(build_cli(), ["purify", "--json", "--defense", "lexical", text])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["purified"] == "see https://exmaple.com for the movie"
    assert [e["rule"] for e in out["edits"]] == ["bidi"]
    assert out["protected"] == [{"start": 4, "end": 23, "kind": "url"}]
