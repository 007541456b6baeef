"""The files an evaluation leaves in `--output-dir`: report.json, report.md, examples.jsonl, PNGs.

report.json is the machine-readable contract: one entry per recipe x defense x mode with
`n`, `clean_accuracy`, `attacked_accuracy`, `attack_success_rate`, `avg_queries`,
`avg_perturbed_words`, `skipped`, `clean_accuracy_purified`, `defense_latency_ms`,
`defense_calls`, `defense_failures` (texts the defense failed on, by reason), plus the
relative ASR reduction of every defended run. `complete` is false while a run is under way
(the files are rewritten after each finished run) and stays false if it was interrupted.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from llamos_gateway.evaluation.fidelity import fidelity_text
from llamos_gateway.evaluation.results import Evaluation, RunResult, relative_reduction
from llamos_gateway.files import atomic_write

PACKAGES = ("llamos-gateway", "textattack", "scikit-learn", "numpy", "torch", "transformers")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def reduction(evaluation: Evaluation, run: RunResult) -> float | None:
    base = evaluation.baseline(run.recipe)
    if base is None or run.defense == "none":
        return None
    return relative_reduction(base.attack_success_rate, run.attack_success_rate)


def failures_text(failures: dict[str, int]) -> str:
    """`defense_timeout 2, defense_unparseable 1`, or `-` when there were none."""
    return ", ".join(f"{reason} {n}" for reason, n in failures.items()) or "-"


def report_dict(evaluation: Evaluation, command: str, complete: bool = True) -> dict[str, Any]:
    runs = []
    for run in evaluation.runs:
        entry = run.as_dict()
        cut = reduction(evaluation, run)
        entry["asr_relative_reduction"] = None if cut is None else round(cut, 4)
        runs.append(entry)
    return {"command": command, "versions": versions(), "dataset": evaluation.dataset,
            "target": evaluation.target, "labels": list(evaluation.labels), "n": evaluation.n,
            "seed": evaluation.seed, "clean_accuracy": round(evaluation.clean_accuracy, 4),
            "wall_s": round(evaluation.wall_s, 2), "complete": complete, "runs": runs,
            **evaluation.meta}


COLUMNS = ("recipe", "defense", "mode", "n", "clean acc", "clean acc purified", "attacked acc",
           "ASR", "ASR cut", "ASR no floor", "ASR of passed", "fidelity pass", "rejected (why)",
           "avg queries", "avg words", "skipped", "defense calls",
           "defense ms", "prompt tok/call", "defense failures", "wall s", "queries/s")


def table_rows(evaluation: Evaluation) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in evaluation.runs:
        rows.append((r.recipe, r.defense, r.mode, str(r.n), _pct(r.clean_accuracy),
                     _pct(r.clean_accuracy_purified), _pct(r.attacked_accuracy),
                     _pct(r.attack_success_rate), _pct(reduction(evaluation, r)),
                     _pct(r.unfiltered_attack_success_rate), _pct(r.passed_attack_success_rate),
                     _pct(r.fidelity_pass_rate), failures_text(r.fidelity_rejections),
                     f"{r.avg_queries:.1f}", f"{r.avg_perturbed_words:.2f}", str(r.skipped),
                     str(r.defense_calls), f"{r.defense_latency_ms:.3f}",
                     f"{r.defense_prompt_tokens:.0f}", failures_text(r.defense_failures),
                     f"{r.wall_s:.1f}", f"{r.queries_per_s:.0f}"))
    return rows


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report_markdown(evaluation: Evaluation, command: str, charts: Sequence[str]) -> str:
    v = versions()
    parts = [
        f"# Attack evaluation: {evaluation.target} on {evaluation.dataset}", "",
        f"Command: `{command}`", "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()), "",
        *([f"Fidelity filter: {fidelity_text(evaluation.meta['fidelity'])}.", ""]
          if isinstance(evaluation.meta.get("fidelity"), dict) else []),
        f"{evaluation.n} examples, seed {evaluation.seed}, clean accuracy "
        f"{_pct(evaluation.clean_accuracy)}, wall time {evaluation.wall_s:.1f} s.", "",
        "ASR = succeeded / (succeeded + failed): the share of examples the target got right "
        "that the attack flipped. ASR cut = relative reduction against the no-defense run. "
        "Adaptive: the attack queries the defended pipeline. Transfer: adversarial examples "
        "found without the defense are replayed through it.", "",
        markdown_table(COLUMNS, table_rows(evaluation)), "",
    ]
    parts += [f"![{Path(c).stem}]({c})" for c in charts]
    return "\n".join(parts) + "\n"


def _label(labels: Sequence[str], index: int) -> str | None:
    return labels[index] if 0 <= index < len(labels) else None


def example_lines(evaluation: Evaluation) -> bytes:
    out = []
    for run in evaluation.runs:
        for o in run.examples:
            out.append(json.dumps({
                "recipe": run.recipe, "defense": run.defense, "mode": run.mode, "idx": o.idx,
                "status": o.status, "original": o.original, "adversarial": o.adversarial,
                "purified": o.purified, "label": _label(evaluation.labels, o.label),
                "original_prediction": _label(evaluation.labels, o.original_prediction),
                "adversarial_prediction": _label(evaluation.labels, o.adversarial_prediction),
                "queries": o.queries, "perturbed_words": o.perturbed_words,
                **({"fidelity": o.fidelity} if o.fidelity is not None else {}),
            }, ensure_ascii=False))
    return ("\n".join(out) + "\n").encode("utf-8") if out else b""


def write_report(evaluation: Evaluation, output_dir: Path, command: str,
                 complete: bool = True) -> list[Path]:
    """Write every report file; returns their paths. An incomplete evaluation (a run still
    under way) is written without charts."""
    from llamos_gateway.evaluation.charts import write_charts

    output_dir.mkdir(parents=True, exist_ok=True)
    charts = write_charts(evaluation, output_dir) if complete else []
    files = {
        "report.json": json.dumps(report_dict(evaluation, command, complete), indent=2,
                                  ensure_ascii=False).encode("utf-8"),
        "report.md": report_markdown(evaluation, command, [c.name for c in charts]).encode("utf-8"),
        "examples.jsonl": example_lines(evaluation),
    }
    for name, data in files.items():
        atomic_write(output_dir / name, data)
    return [output_dir / name for name in files] + charts
