"""Agent benchmark: what the LLAMOS agent adds to a request beyond the defense model's own
time, and how often the tiered backend spares the agent on clean input.

    .venv/bin/python bench/agent_bench.py            # 5 runs of 3 s per cell (about 2 minutes)
    .venv/bin/python bench/agent_bench.py --quick    # 2 runs of 1.5 s

Targets (issue 4):
- with a fake defense LLM that answers instantly, the gateway's own added latency with the
  agent on (uncached) <= 3 ms p50 over the defense model's time;
- the tiered backend skips the agent for >= 95% of clean SST-2 validation prompts.

Set-up: the fake defense model and the gateway (target `local/echo`, cache and audit off) run
as separate processes on 127.0.0.1; `bench/loadgen.py` drives them at concurrency 1.
added = p50(agent on) - p50(defense off) - p50(the agent's exact request sent straight to the
fake defense model). Prints a table (median of --runs runs) and writes bench/results/agent.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

from loadgen import run  # bench/ is on sys.path when a script in it runs

from llamos_gateway.testing import GatewayProcess, ServerProcess, fixed_fake_openai

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ADV = "it 's a charming and often affectng journey , with a few bad moments . "
CLEAN = "it 's a charming and often affecting journey , with a few bad moments . "
ANSWER = json.dumps({"purified": CLEAN, "changed": True})
REPLY = json.dumps({
    "id": "chatcmpl-defense", "object": "chat.completion", "created": 0, "model": "defense-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                 "finish_reason": "stop", "logprobs": None}],
    "usage": {"prompt_tokens": 900, "completion_tokens": 30, "total_tokens": 930},
}).encode()


def bench_config(defense_url: str, backend: str = "llamos") -> dict[str, Any]:
    """The gateway's configuration: the agent's defense model is the fake, the target the
    built-in echo model; cache and audit off."""
    return {"models": {"defense": {"model": "openai/defense-model", "max_retries": 0,
                                   "api_base": defense_url + "/v1"}},
            "defense": {"backend": backend, "model": "defense", "max_retries": 0},
            "cache": {"enabled": False}, "audit": {"enabled": False},
            "logging": {"level": "WARNING"}, "limits": {"max_retries": 0}}


def defense_request_body() -> bytes:
    """Exactly what the agent sends for ADV (the boundary differs per request, not the size)."""
    from llamos_gateway.agent import load_prompts
    from llamos_gateway.agent.guards import new_boundary
    from llamos_gateway.settings import PROMPTS_DIR, DefenseSettings

    d = DefenseSettings()
    prompts = load_prompts(PROMPTS_DIR / "llamos", examples=d.examples)
    messages = prompts.messages(ADV, boundary=new_boundary(ADV))
    return json.dumps({"model": "defense-model", "messages": [m.as_dict() for m in messages],
                       "temperature": 0, "max_tokens": len(ADV) // 2 + 128,
                       "response_format": {"type": "json_object"}}).encode()


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def latency_cells(gw: ServerProcess, defense: ServerProcess, runs: int,
                        seconds: float) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """p50 latency per run, and the gateway's CPU ms per request per run, for each cell."""
    chat = json.dumps({"model": "local/echo",
                       "messages": [{"role": "user", "content": ADV}]}).encode()
    gw_port, defense_port = gw.port, defense.port
    cells: dict[str, tuple[int, str, bytes, dict[str, str]]] = {
        "defense model direct": (defense_port, "/v1/chat/completions", defense_request_body(), {}),
        "gateway, defense off": (gw_port, "/v1/chat/completions", chat,
                                 {"x-llamos-defense": "off"}),
        "gateway, agent on (uncached)": (gw_port, "/v1/chat/completions", chat, {}),
    }
    p50: dict[str, list[float]] = {name: [] for name in cells}
    cpu: dict[str, list[float]] = {name: [] for name in cells}
    # Warm up every path (connections, first-call imports) before measuring.
    for port, path, body, headers in cells.values():
        await run("127.0.0.1", port, path, body, concurrency=1, seconds=0.5, headers=headers)
    for _ in range(runs):  # interleaved, so drift in machine load hits every cell alike
        for name, (port, path, body, headers) in cells.items():
            process = defense if port == defense_port else gw
            before = cpu_s(process.pid)
            result = await run("127.0.0.1", port, path, body, concurrency=1, seconds=seconds,
                               headers=headers)
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} errors")
            p50[name].append(result.p50_ms)
            cpu[name].append((cpu_s(process.pid) - before) * 1000 / max(result.requests, 1))
    return p50, cpu


async def check_purified(gw_port: int) -> str:
    """The echo target must receive the purified text, or the agent is not in the path."""
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw_port}") as client:
        reply = await client.post("/v1/chat/completions", json={
            "model": "local/echo", "messages": [{"role": "user", "content": ADV}]})
        reply.raise_for_status()
        return str(reply.json()["choices"][0]["message"]["content"])


async def in_process(n: int) -> dict[str, float]:
    """LLMPurifier alone against an in-process instant upstream: its own CPU per call."""
    from llamos_gateway.agent import LLMPurifier, load_prompts
    from llamos_gateway.defense.protocol import PurifyRequest
    from llamos_gateway.settings import PROMPTS_DIR
    from llamos_gateway.upstream import UpstreamCall, UpstreamReply

    class Instant:
        name = "instant"

        async def complete(self, call: UpstreamCall) -> UpstreamReply:
            return UpstreamReply(200, REPLY)

        async def stream(self, call: UpstreamCall) -> Any:
            raise NotImplementedError

        async def aclose(self) -> None:
            return None

    agent = LLMPurifier(upstream=Instant(), model="m",
                        prompts=load_prompts(PROMPTS_DIR / "llamos"))
    own: list[float] = []
    for _ in range(n):
        result = await agent.purify(PurifyRequest(ADV))
        own.append(result.purify_ms - float(result.extra["defense_ms"]))  # type: ignore[arg-type]
    own.sort()
    return {"p50_ms": statistics.median(own), "p99_ms": own[int(len(own) * 0.99) - 1]}


async def skip_share(defense_url: str) -> dict[str, Any]:
    """Share of clean SST-2 validation prompts for which the tiered backend skips the agent,
    with the tiered stack exactly as wiring builds it; plus, for context, the share of the
    PromptAttack adversarial SST-2 prompts for which it calls the agent."""
    import logging

    from llamos_gateway.defense.protocol import PurifyRequest
    from llamos_gateway.settings import load_settings
    from llamos_gateway.upstream.passthrough import build_http_client
    from llamos_gateway.wiring import BackendBuilder, build_router

    # The fixed fake answer fails the drift guard on other texts; that is expected here.
    logging.getLogger("llamos_gateway").setLevel(logging.ERROR)

    data = ROOT / "llamos_gateway" / "data"
    clean = [json.loads(line)["sentence"] for line in
             (data / "glue" / "sst2_validation.jsonl").read_text().splitlines() if line.strip()]
    attacks = json.loads((data / "promptattack" / "sst-2.json").read_text())
    settings = load_settings(**bench_config(defense_url, "tiered"))
    async with build_http_client(max_connections=8, timeout_s=30.0,
                                 connect_timeout_s=5.0) as client:
        tiered = BackendBuilder(settings, build_router(settings, client)).build("tiered")

        async def called(text: str) -> bool:
            return bool((await tiered.purify(PurifyRequest(text, task="sentiment"))).agent_called)

        started = time.perf_counter()
        clean_called = [await called(t) for t in clean]
        clean_s = time.perf_counter() - started
        adversarial: dict[str, float] = {}
        for kind, strategies in sorted(attacks.items()):
            items = strategies["zero—shot"]
            changed = [it["sentence"] for it in items
                       if it["sentence"].strip() != clean[it["idx"]].strip()]
            flags = [await called(t) for t in changed]
            adversarial[kind] = sum(flags) / len(flags) if flags else 0.0
    skipped = 1 - sum(clean_called) / len(clean)
    return {"clean_prompts": len(clean), "skipped": skipped,
            "agent_calls": sum(clean_called), "ms_per_clean_prompt": clean_s * 1000 / len(clean),
            "agent_called_share_adversarial_zero_shot": adversarial}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--quick", action="store_true", help="2 runs of 1.5 s per cell")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "agent.json")
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness for the bench and its servers (negative needs root): keeps "
                             "other tenants of a shared machine from queueing ahead of them")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds = 2, 1.5
    if args.nice:
        os.nice(args.nice)  # inherited by the server processes
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    with fixed_fake_openai(logs / "agent-bench-defense.log", content=ANSWER,
                           model="defense-model", prompt_tokens=900) as defense:
        with GatewayProcess(bench_config(defense.url), logs, name="agent-bench-gateway") as gw:
            seen = asyncio.run(check_purified(gw.port))
            if seen != CLEAN:
                raise RuntimeError(f"the target did not receive the purified text: {seen!r}")
            cells, cpu = asyncio.run(latency_cells(gw, defense, args.runs, args.seconds))
        own = asyncio.run(in_process(2000))
        skips = asyncio.run(skip_share(defense.url))
    print(report(cells, cpu, own, skips, args, logs))


def report(cells: dict[str, list[float]], cpu: dict[str, list[float]], own: dict[str, float],
           skips: dict[str, Any], args: argparse.Namespace, logs: Path) -> str:
    med = {name: statistics.median(v) for name, v in cells.items()}
    cpu_med = {name: statistics.median(v) for name, v in cpu.items()}
    added_cpu = cpu_med["gateway, agent on (uncached)"] - cpu_med["gateway, defense off"]
    added_runs = [on - off - d for on, off, d in zip(
        cells["gateway, agent on (uncached)"], cells["gateway, defense off"],
        cells["defense model direct"], strict=True)]
    added = statistics.median(added_runs)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    lines = [f"machine: {os.cpu_count()} CPUs, load average {load}, niceness {args.nice}",
             "", f"| cell (concurrency 1, median of {args.runs} runs x {args.seconds}s) "
             "| p50 ms | server CPU ms/request |", "|---|---:|---:|"]
    lines += [f"| {name} | {value:.2f} | {cpu_med[name]:.2f} |" for name, value in med.items()]
    lines += [f"| agent's own work in-process (render, parse, guards, diff) "
              f"| {own['p50_ms']:.3f} | |",
              f"| added p50 per run (ms) | {', '.join(f'{v:+.2f}' for v in added_runs)} | |",
              f"| gateway CPU added by the agent (on - off), ms/request | | {added_cpu:+.2f} |",
              "", "| check | measured | target | met |", "|---|---:|---:|:---:|",
              f"| added p50 with the agent on, over the defense model's time | {added:+.2f} ms "
              f"| <= 3 ms | {'yes' if added <= 3 else 'NO'} |"]
    share = skips["skipped"]
    lines.append(f"| clean SST-2 validation prompts where tiered skips the agent | "
                 f"{share:.1%} ({skips['clean_prompts'] - skips['agent_calls']}/"
                 f"{skips['clean_prompts']}) | >= 95% | {'yes' if share >= 0.95 else 'NO'} |")
    lines += ["", "| PromptAttack SST-2 zero-shot kind | agent called (changed items) |",
              "|---|---:|"]
    lines += [f"| {kind} | {share:.1%} |" for kind, share in
              skips["agent_called_share_adversarial_zero_shot"].items()]
    summary = {"cells_p50_ms": med, "runs_p50_ms": cells, "added_p50_ms": added,
               "server_cpu_ms_per_request": cpu_med, "runs_server_cpu_ms_per_request": cpu,
               "added_gateway_cpu_ms_per_request": added_cpu,
               "load_average": os.getloadavg(), "nice": args.nice,
               "added_p50_ms_runs": added_runs, "agent_own_in_process": own, "tiered": skips,
               "gateway_log": (logs / "agent-bench-gateway.log").read_text()[-500:],
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "platform": platform.platform()},
               "runs": args.runs, "seconds": args.seconds}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2) + "\n")
    return "\n".join(lines) + f"\n\nwrote {args.output}"


if __name__ == "__main__":
    main()
