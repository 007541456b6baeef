"""PNG charts (matplotlib, Agg backend): ASR and accuracy per recipe, defense off versus on.

One panel per PromptAttack perturbation level (or per six recipes), so that labels stay
readable however many recipes ran."""

from __future__ import annotations

import re
from collections.abc import Sequence
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


# PromptAttack's instructions by perturbation level: C1-C3, W1-W3, S1-S3
LEVELS = {"C": "character level", "W": "word level", "S": "sentence level"}
PROMPTATTACK = re.compile(r"^([CWS])\d+/")
PANEL_WIDTH = 6  # groups of bars per panel, so every label stays readable


def panels(recipes: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The recipes split into panels: PromptAttack instructions one panel per perturbation
    level, anything else in rows of at most PANEL_WIDTH."""
    matches = [PROMPTATTACK.match(r) for r in recipes]
    if recipes and all(matches):
        by_level: dict[str, list[str]] = {}
        for recipe, match in zip(recipes, matches, strict=True):
            assert match is not None
            by_level.setdefault(match.group(1), []).append(recipe)
        return [(LEVELS[level], group) for level, group in by_level.items()]
    return [("", list(recipes[i:i + PANEL_WIDTH])) for i in range(0, len(recipes), PANEL_WIDTH)]


def _bars(evaluation: Evaluation, path: Path, title: str, metric: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _series(evaluation)
    recipes = list(dict.fromkeys(r.recipe for r in evaluation.runs))
    groups = panels(recipes)
    widest = max((len(g) for _, g in groups), default=1)
    width = 0.8 / max(1, len(series))
    fig, axes = plt.subplots(len(groups) or 1, 1, squeeze=False, dpi=110,
                             figsize=(max(5.0, 1.6 * widest + 2), 0.6 + 3.0 * max(1, len(groups))))
    for ax, (label, group) in zip(axes[:, 0], groups, strict=False):
        for i, (name, runs) in enumerate(series):
            chosen = [r for r in runs if r.recipe in group]
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(chosen))]
            values = [float(getattr(r, metric)) for r in chosen]
            bars = ax.bar(xs, values, width, label=name)
            ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7)
        ax.set_xticks(range(len(group)), [g.replace("/", "\n") for g in group], fontsize=8)
        ax.set_xlim(-0.6, widest - 0.4)
        ax.set_ylim(0, 1.1)
        if label:
            ax.set_title(label, fontsize=9, loc="left")
    # one legend above the panels, where no bar can hide under it
    handles, names = axes[0, 0].get_legend_handles_labels()
    top = 1 - 0.75 / fig.get_figheight()
    fig.legend(handles, names, loc="lower center", ncol=max(1, len(names)), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, top))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, top))
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
