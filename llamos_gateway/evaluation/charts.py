"""PNG charts (matplotlib, Agg backend): ASR and accuracy per recipe, defense off versus on."""

from __future__ import annotations

from pathlib import Path

from llamos_gateway.evaluation.results import Evaluation, RunResult


def _series(evaluation: Evaluation) -> list[tuple[str, list[RunResult]]]:
    keys: list[tuple[str, str]] = []
    for run in evaluation.runs:
        if (run.defense, run.mode) not in keys:
            keys.append((run.defense, run.mode))
    recipes = list(dict.fromkeys(r.recipe for r in evaluation.runs))
    series = []
    for defense, mode in keys:
        by_recipe = {r.recipe: r for r in evaluation.runs if (r.defense, r.mode) == (defense, mode)}
        if all(recipe in by_recipe for recipe in recipes):
            label = "no defense" if defense == "none" else f"{defense} ({mode})"
            series.append((label, [by_recipe[recipe] for recipe in recipes]))
    return series


def _bars(evaluation: Evaluation, path: Path, title: str, metric: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(evaluation)
    recipes = list(dict.fromkeys(r.recipe for r in evaluation.runs))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.8 * len(recipes) + 2), 3.6), dpi=110)
    for i, (label, runs) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(recipes))]
        values = [float(getattr(r, metric)) for r in runs]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
    ax.set_xticks(range(len(recipes)), recipes)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def write_charts(evaluation: Evaluation, output_dir: Path) -> list[Path]:
    name = f"{evaluation.target} on {evaluation.dataset}"
    return [
        _bars(evaluation, output_dir / "asr.png", f"Attack success rate: {name}",
              "attack_success_rate"),
        _bars(evaluation, output_dir / "accuracy.png", f"Accuracy under attack: {name}",
              "attacked_accuracy"),
    ]
