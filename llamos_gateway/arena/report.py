"""The arena's report files: `arena.json` (machine-readable), `arena.md`, `arena.png`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from llamos_gateway.arena.roles import RoundRecord
from llamos_gateway.evaluation.fidelity import fidelity_text
from llamos_gateway.files import atomic_write

COLUMNS = ("round", "attack_success_rate", "unfiltered_attack_success_rate",
           "passed_attack_success_rate", "robust_accuracy", "fidelity_pass_rate",
           "clean_changed_rate", "attacker_pool", "defender_pool", "defense_calls",
           "defense_failures", "defense_prompt_tokens", "attack_queries")
HEADERS = ("round", "ASR", "ASR no floor", "ASR of passed", "robust acc", "fidelity pass",
           "clean changed", "attacker pool", "defender pool", "defense calls", "defense failures",
           "prompt tok/call",
           "attack queries")


def cells(record: RoundRecord) -> list[str]:
    """A round's table row; defense failures as their total (arena.md lists the reasons)."""
    out = []
    for name in COLUMNS:
        value = getattr(record, name)
        if isinstance(value, dict):
            value = sum(value.values())
        out.append(f"{value:.3f}" if isinstance(value, float) else str(value))
    return out


def write_json(path: Path, meta: Mapping[str, Any], records: Sequence[RoundRecord]) -> None:
    body = {**meta, "rounds": [asdict(r) for r in records]}
    atomic_write(path, json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8"))


def markdown(meta: Mapping[str, Any], records: Sequence[RoundRecord]) -> str:
    lines = ["# Arena", "", f"`{meta.get('command', 'llamos arena')}`", ""]
    config = meta.get("config", {})
    lines += [f"- {k}: `{v}`" for k, v in config.items()]
    lines += [f"- stopped: {meta.get('stopped')}", f"- versions: `{meta.get('versions')}`",
              f"- fidelity: {fidelity_text(meta.get('fidelity', {}))}", ""]
    lines += ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in records]
    lines += judge_lines(meta, records)
    failed = [r for r in records if r.defense_failures]
    if failed:
        lines += ["", "## Defense failures (texts that went on under the failure policy)", ""]
        lines += [f"- round {r.round}: " + ", ".join(f"{k} {v}" for k, v in
                                                   r.defense_failures.items()) for r in failed]
    defender = meta.get("defender", {})
    pool = defender.get("missed_edits") or [e["input"] for e in defender.get("examples", [])]
    if pool:
        title = ("Edits the defense missed" if "missed_edits" in defender
                 else "In-context examples the defender learned")
        lines += ["", f"## {title} (most recent {min(20, len(pool))} of {len(pool)})", ""]
        lines += [f"- `{item}`" for item in pool[-20:]]
    weights = meta.get("attacker", {}).get("weights")
    if weights:
        lines += ["", "## Attacker transformation weights", ""]
        lines += [f"- {k}: {v:.2f}" for k, v in sorted(weights.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines) + "\n"


def judge_lines(meta: Mapping[str, Any], records: Sequence[RoundRecord]) -> list[str]:
    """The judge's section: the filter, rejections by instruction and reason, and every
    rejected candidate (ASR counts none of them)."""
    lines = ["", "## Judge", "", "Fidelity filter: " + fidelity_text(meta.get("fidelity", {})),
             "", "ASR counts a label flip only when the candidate passed the filter; ASR no "
             "floor counts every flip; ASR of passed is over the examples with a candidate "
             "that passed.", ""]
    candidates: dict[str, int] = {}
    rejections: dict[str, dict[str, int]] = {}
    for r in records:
        for name, n in r.candidates.items():
            candidates[name] = candidates.get(name, 0) + n
        for name, reasons in r.rejections.items():
            into = rejections.setdefault(name, {})
            for reason, n in reasons.items():
                into[reason] = into.get(reason, 0) + n
    if candidates:
        lines += ["| instruction | candidates | rejected | why |", "|---|---:|---:|---|"]
        for name in sorted(candidates):
            why = rejections.get(name, {})
            lines.append(f"| {name} | {candidates[name]} | "
                         f"{sum(why.values()) / candidates[name]:.0%} | "
                         + ", ".join(f"{k} {v}" for k, v in sorted(why.items())) + " |")
    rejected = [(r.round, item) for r in records for item in r.rejected]
    if rejected:
        lines += ["", f"## Rejected candidates ({len(rejected)})", ""]
        lines += [f"- round {n}, idx {item['idx']}, {item['instruction']}, {item['reason']}"
                  f"{' (label flipped)' if item.get('flipped') else ''}"
                  f"{_similarity(item)}: `{_short(item['original'])}` -> "
                  f"`{_short(item['candidate'])}`" for n, item in rejected]
    return lines


def _similarity(item: Mapping[str, Any]) -> str:
    value = item.get("similarity")
    return f", similarity {value:.3f}" if isinstance(value, float) else ""


def _short(text: str, width: int = 160) -> str:
    flat = " ".join(str(text).split()).replace("`", "'")
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def plot(path: Path, records: Sequence[RoundRecord], title: str) -> Path | None:
    """ASR and robust accuracy by round; None when matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [r.round for r in records]
    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=110)
    ax.plot(rounds, [r.attack_success_rate for r in records], marker="o", label="ASR")
    ax.plot(rounds, [r.robust_accuracy for r in records], marker="s", label="robust accuracy")
    ax.set_xlabel("round")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(rounds)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(directory: Path, meta: Mapping[str, Any],
                 records: Sequence[RoundRecord]) -> None:
    write_json(directory / "arena.json", meta, records)
    atomic_write(directory / "arena.md", markdown(meta, records).encode("utf-8"))
    if records:
        config = meta.get("config", {})
        plot(directory / "arena.png", records,
             f"{config.get('attacker')} attacker vs {config.get('defense')} defense "
             f"on {config.get('target')}")
