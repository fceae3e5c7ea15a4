"""Scores of predictions beside a trivial baseline, so that what was learned shows.

Classification: accuracy, macro-F1 (the mean over classes of
F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k)) and the confusion matrix C, where
C[i, j] counts examples of class i predicted as class j; the baseline always
predicts the training split's most frequent class.

Regression, in the target's units: RMSE = √(mean (ŷ − y)²), MAE = mean |ŷ − y|
and R² = 1 − Σ(ŷ − y)² / Σ(y − ȳ)²; the baseline always predicts the training
split's mean.

>>> s = classification_scores(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 3, baseline=1)
>>> s["accuracy"], round(s["macro_f1"], 4), s["baseline_accuracy"]
(0.75, 0.7778, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def classification_scores(
    labels: np.ndarray, predicted: np.ndarray, n_classes: int, *, baseline: int
) -> dict[str, Any]:
    """Accuracy, macro-F1 and confusion matrix of ``predicted``, and of always ``baseline``."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    always = np.full_like(labels, baseline)
    return {
        "accuracy": float(np.mean(labels == predicted)),
        "macro_f1": macro_f1(labels, predicted, n_classes),
        "confusion": confusion.tolist(),
        "baseline_accuracy": float(np.mean(labels == always)),
        "baseline_macro_f1": macro_f1(labels, always, n_classes),
    }


def macro_f1(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """The mean of F1_k over the classes that occur in ``labels`` or ``predicted``."""
    scores = []
    for k in range(n_classes):
        tp = int(np.sum((labels == k) & (predicted == k)))
        fp = int(np.sum((labels != k) & (predicted == k)))
        fn = int(np.sum((labels == k) & (predicted != k)))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else math.nan


def regression_scores(
    y: np.ndarray, predicted: np.ndarray, *, baseline: np.ndarray
) -> dict[str, Any]:
    """RMSE, MAE and R² of ``predicted`` and of always predicting ``baseline`` (per column)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(y.shape)
    always = np.broadcast_to(np.asarray(baseline, dtype=np.float64).reshape(1, -1), y.shape)
    total = float(np.sum((y - y.mean(axis=0)) ** 2))
    out: dict[str, Any] = {}
    for prefix, guess in (("", predicted), ("baseline_", always)):
        residual = guess - y
        out[prefix + "rmse"] = float(np.sqrt(np.mean(residual**2)))
        out[prefix + "mae"] = float(np.mean(np.abs(residual)))
        out[prefix + "r2"] = 1.0 - float(np.sum(residual**2)) / total if total > 0 else math.nan
    return out


def describe(scores: Mapping[str, Any]) -> str:
    """One line: the scores, then the baseline's in brackets, then J."""
    if "accuracy" in scores:
        text = (
            f"accuracy {100 * scores['accuracy']:.2f} %, macro-F1 {scores['macro_f1']:.4f}"
            + _baseline(
                scores,
                "majority class",
                lambda s: (
                    f"{100 * s['baseline_accuracy']:.2f} %, macro-F1 {s['baseline_macro_f1']:.4f}"
                ),
            )
        )
    elif "rmse" in scores:
        text = f"RMSE {scores['rmse']:.4g}, MAE {scores['mae']:.4g}, R² {scores['r2']:.4f}" + (
            _baseline(
                scores,
                "training mean",
                lambda s: (
                    f"RMSE {s['baseline_rmse']:.4g}, MAE {s['baseline_mae']:.4g}, "
                    f"R² {s['baseline_r2']:.4f}"
                ),
            )
        )
    else:
        text = ""
    loss = f"J = {scores['loss']:.4g}" if "loss" in scores else ""
    return ", ".join(part for part in (text, loss) if part)


def _baseline(scores: Mapping[str, Any], what: str, text: Any) -> str:
    if not any(k.startswith("baseline_") for k in scores):
        return ""
    return f" (baseline, {what}: {text(scores)})"


def confusion_lines(confusion: Sequence[Sequence[int]], classes: Sequence[str]) -> list[str]:
    """The confusion matrix as aligned text: rows the true class, columns the predicted one."""
    names = [str(c)[:14] for c in classes]
    width = max([len(n) for n in names] + [len(str(v)) for row in confusion for v in row] + [4])
    head = " " * (width + 2) + " ".join(f"{n:>{width}}" for n in names)
    lines = ["confusion matrix (rows: true class, columns: predicted):", f"  {head}"]
    for name, row in zip(names, confusion, strict=True):
        lines.append(f"  {name:>{width}}  " + " ".join(f"{v:>{width}}" for v in row))
    return lines
