"""The README, walked through as a new user would on a fresh clone (`.ci/run` runs this on one).

The Quickstart's `llamos serve` runs as a real process on the embedded defaults (only the port
differs, through LLAMOS_SERVER__PORT, so tests can run side by side); the curl and SDK
examples are sent to it exactly as written and their replies checked against what the prose
around them promises; `llamos audit tail` reads that gateway's trail; the real-model config is
loaded, listed and served; every CLI command and flag the README shows parses; every file it
links or runs exists in the repository. A broken example fails the build.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import typer

from llamos_gateway.cli import build_cli
from llamos_gateway.settings import Settings
from tests.cli.process import LLAMOS, ROOT, clean_env, free_port, llamos

pytestmark = pytest.mark.slow
README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV_BIN = Path(sys.executable).parent


def section(title: str) -> str:
    """The README text under a heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", README, re.M)
    assert match is not None, f"README has no section {title!r}"
    level = len(match.group(1))
    end = re.compile(rf"^#{{1,{level}}} ", re.M).search(README, match.end())
    return README[match.end():end.start() if end else len(README)]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def commands(block: str) -> list[str]:
    """The commands of a shell block, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.split(" #")[0].strip() for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def local(argv: list[str]) -> list[str]:
    """`.venv/bin/X` in a README command is the virtualenv running these tests."""
    return [str(VENV_BIN / a.removeprefix(".venv/bin/")) if a.startswith(".venv/bin/") else a
            for a in argv]


# ---------------------------------------------------------------- the Quickstart gateway


@dataclass(frozen=True)
class Gateway:
    url: str
    log: Path


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """`.venv/bin/llamos serve`, the last step of the Quickstart's first command."""
    [first, _tests] = commands(blocks(section("Quickstart"), "bash")[0])
    argv = local(shlex.split(first.split(" && ")[-1]))
    assert argv == [LLAMOS, "serve"], first
    port = free_port()
    log = tmp_path_factory.mktemp("quickstart") / "stderr.log"
    proc = subprocess.Popen(argv, env=clean_env(LLAMOS_SERVER__PORT=str(port)), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # poll a condition, not a fixed sleep
            assert proc.poll() is None, log.read_text(encoding="utf-8")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the Quickstart gateway did not become ready"
            time.sleep(0.2)
        yield Gateway(url, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def on_port(text: str, url: str) -> str:
    """The README's examples talk to 127.0.0.1:8000, the default port."""
    assert Settings().server.port == 8000 and Settings().server.host == "127.0.0.1"
    return text.replace("http://127.0.0.1:8000", url)


def test_quickstart_install_is_what_ci_runs() -> None:
    [first, tests] = commands(blocks(section("Quickstart"), "bash")[0])
    install, _serve = first.split(" && ")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install == "bash deploy/install.sh" and f"\n{install}\n" in ci
    script = (ROOT / "deploy" / "install.sh").read_text(encoding="utf-8")
    assert "python3 -m venv .venv" in script
    assert '.venv/bin/pip install --quiet -e ".[eval,dev]"' in script
    assert ci.rstrip().endswith(tests)
    assert "`http://127.0.0.1:8000/v1`" in section("Quickstart")


def test_startup_line_shown_in_the_quickstart(quickstart: Gateway) -> None:
    shown = re.search(r"^\S+ \S+ INFO llamos\.serve (.+)$", section("Quickstart"), re.M)
    assert shown is not None
    first = json.loads(quickstart.log.read_text(encoding="utf-8").splitlines()[0])
    assert first["msg"] == on_port(shown.group(1), quickstart.url)


def test_curl_example(quickstart: Gateway) -> None:
    try_it = section("Try it")
    curl = blocks(try_it, "bash")[0]  # one command, its JSON body spread over lines
    args = shlex.split(on_port(curl, quickstart.url))
    assert args[0] == "curl"
    url = next(a for a in args if a.startswith("http"))
    headers = dict(h.split(": ", 1) for h in (args[i + 1] for i, a in enumerate(args) if a == "-H"))
    body = args[args.index("-d") + 1]
    reply = httpx.post(url, headers=headers, content=body.encode(), timeout=30)
    assert reply.status_code == 200, reply.text

    content = re.search(r"The reply's content is `([^`]+)`", try_it)
    promised = re.search(r"with headers\s+(.*?)\.\n", try_it, re.S)
    assert content is not None and promised is not None
    assert reply.json()["choices"][0]["message"]["content"] == content.group(1)
    for name, value in re.findall(r"`(x-llamos-[a-z-]+): ([^`]+)`", promised.group(1)):
        assert reply.headers[name] == value
    for name in re.findall(r"`(x-llamos-[a-z-]+)`", promised.group(1)):
        assert name in reply.headers


def test_python_sdk_example(quickstart: Gateway) -> None:
    [example] = blocks(section("Try it"), "python")
    promised = [m.group(1) for m in re.finditer(r'^print\(.*# "([^"]*)"', example, re.M)]
    assert len(promised) == example.count("print(")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(on_port(example, quickstart.url), "README.md", "exec"), {})
    assert out.getvalue().splitlines() == promised


def test_audit_tail_on_the_quickstart_defaults(quickstart: Gateway) -> None:
    row = next(r for r in section("CLI").splitlines() if "`llamos audit tail" in r)
    assert "GET /v1/audit" in row
    httpx.post(f"{quickstart.url}/v1/chat/completions", timeout=30, json={
        "model": "local/echo", "messages": [{"role": "user", "content": "a g00d film"}]})
    port = quickstart.url.rsplit(":", 1)[1]
    done = llamos("audit", "tail", "-n", "1", env={"LLAMOS_SERVER__PORT": port})
    assert done.returncode == 0, done.stderr
    assert "model=local/echo mode=enforce backend=lexical changed=true" in done.stdout


# ---------------------------------------------------------------- a real model behind it


def test_real_model_config_example(tmp_path: Path) -> None:
    try_it = section("Try it")
    [config] = blocks(try_it, "yaml")
    path = tmp_path / "llamos.yaml"
    path.write_text(config, encoding="utf-8")
    listed = llamos("models", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[1:]}
    assert rows == {"local/echo": "local", "local/sst2-sentiment": "local",
                    "local/smollm2": "local", "gpt-4o-mini": "passthrough",
                    "llama": "passthrough", "claude": "litellm"}
    assert "llamos serve --config llamos.yaml" in try_it
    proc = subprocess.Popen([LLAMOS, "serve", "--config", "llamos.yaml", "--port",
                             str(free_port())], env=clean_env(), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        start = json.loads(proc.stderr.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert start["event"] == "start", start
    assert start["defense"]["backend"] == "tiered" and start["defense"]["model"] == "gpt-4o-mini"


# ---------------------------------------------------------------- commands and files


def parse_only(argv: list[str]) -> None:
    """Parse a `llamos ...` command line without running it: the command must exist, its flags
    too, and their values must convert, exactly as when a person types it."""
    command = typer.main.get_command(build_cli())
    ctx = command.make_context("llamos", [])
    name, words = "llamos", list(argv)
    while words and hasattr(command, "commands") and words[0] in command.commands:
        name = words.pop(0)
        command = command.commands[name]
        if words and hasattr(command, "commands") and words[0] in command.commands:
            ctx = command.make_context(name, [], parent=ctx)
    command.make_context(name, words, parent=ctx)


def test_cli_table_rows_name_real_commands_and_flags() -> None:
    rows = [r for r in section("CLI").splitlines() if r.startswith("| `llamos ")]
    assert len(rows) >= 8
    group = typer.main.get_command(build_cli())
    for row in rows:
        for usage in re.findall(r"`(llamos [^`]+)`", row.split(" | ")[0]):
            words = usage.split()[1:]
            command = group
            while words and hasattr(command, "commands") and words[0] in command.commands:
                command = command.commands[words.pop(0)]
            names = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            for flag in re.findall(r"--[a-z][a-z-]*", usage):
                assert flag in names, f"{usage}: {command.name} has no {flag}"


@pytest.mark.parametrize("title", ["Attack evaluation", "Arena"])
def test_example_commands_parse(title: str) -> None:
    for line in commands(blocks(section(title), "bash")[0]):
        argv = shlex.split(line)
        assert argv[0] == "llamos"
        parse_only(argv[1:])  # raises a usage error on an unknown flag or a bad value


def test_everything_linked_or_run_is_in_the_repository() -> None:
    assert "../" not in README, "a fresh clone has nothing outside the repository"
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    paths = re.findall(r"(?<![\w/.])((?:bench|deploy|docs|tests|prompts|llamos_gateway)/[\w./-]+"
                       r"\.(?:py|md|yaml|json))", README)
    for target in {*(t for t in links if not t.startswith("http")), *paths}:
        assert (ROOT / target).exists(), f"README names {target}, which is not in the repo"


def test_lexical_benchmark_scorer_runs_from_the_repository(tmp_path: Path) -> None:
    """The README's lexical benchmark command, on three rows instead of 16,277."""
    text = section("Benchmarks")
    command = re.search(r"`(\.venv/bin/python bench/purify_score\.py -- [^`]+)`", text)
    assert command is not None
    argv = local(shlex.split(command.group(1)))
    rows = [{"clean": "a good film", "attacked": "a g00d film", "kind": "leet"},
            {"clean": "the film is good", "attacked": "the film is g\u043e\u043ed",
             "kind": "glyph"},
            {"clean": "fine", "attacked": "fine .", "kind": "junk"}]
    sets = tmp_path / "sets.jsonl"
    sets.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "score.json"
    scored = subprocess.run([*argv[:2], "--no-default", "--sets", str(sets), "--json", str(out),
                             *argv[2:]], capture_output=True, text=True, cwd=ROOT,
                            env=clean_env(), timeout=120)
    assert scored.returncode == 0, scored.stderr + scored.stdout
    summary = json.loads(out.read_text())
    assert summary["repair"]["leet"]["exact"] == 1.0
    assert summary["repair"]["glyph"]["exact"] == 1.0
