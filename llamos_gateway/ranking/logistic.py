"""Fitting the learned decision (`decision.Learned`): L2-regularised logistic regression by
Newton's method, and the pair of thresholds that keeps clean text within a budget.
Deterministic (numpy, no random start). Used by `bench/ranked_train_decision.py`."""

from __future__ import annotations

import math

import numpy as np

MIN_THRESHOLD = 0.0  # no threshold below even odds


def fit(xs: list[list[float]], ys: list[int], l2: float, steps: int = 30) -> np.ndarray:
    """L2-regularised logistic regression (the bias unpenalised), Newton's method."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - y) + penalty * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def thresholds(logits: dict[str, list[tuple[float, float]]], budget: dict[str, float],
               positives: np.ndarray, known: np.ndarray) -> tuple[float, float]:
    """The pair of thresholds (real words, unknown words), at least `MIN_THRESHOLD` each, under
    which at most `budget[set]` of each set's texts change (`logits[set]`: each text's best
    logit for a real word and for an unknown word), that accepts the most training positives
    (`positives`: their logits; `known`: whether each is a real word)."""
    grid = sorted({MIN_THRESHOLD, *(max(MIN_THRESHOLD, k) for v in logits.values()
                                    for k, _ in v if k > -1e9)})
    best: tuple[int, float, float] | None = None
    for t_known in grid:
        t_unknown = MIN_THRESHOLD
        for name, values in logits.items():
            allowed = int(budget[name] * len(values)) - sum(k > t_known for k, _ in values)
            if allowed < 0:
                break
            rest = sorted((u for k, u in values if k <= t_known), reverse=True)
            if allowed < len(rest):
                t_unknown = max(t_unknown, rest[allowed])
        else:
            hits = int(((positives > t_known) & known).sum()
                       + ((positives > t_unknown) & ~known).sum())
            if best is None or hits > best[0]:
                best = (hits, t_known, t_unknown)
    if best is None:  # unreachable: the highest real-word logit changes nothing
        raise ValueError("no thresholds keep the clean texts within budget")
    return _up(best[1]), _up(best[2])


def _up(value: float) -> float:
    """Rounded up to 4 decimals (rounding down would let the value itself through)."""
    return math.ceil(value * 1e4) / 1e4
