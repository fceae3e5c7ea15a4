"""P1: digits (1797 × 64, pixels / 16), 64-100-10 sigmoid + softmax cross-entropy.

SGD with momentum 0.9, rate 0.1, batch 200, 50 epochs, in float64 and float32; time
per epoch. Targets (float64): deltaprop ≤ 0.50 × scikit-learn's and PyTorch's time, no
slower than JAX's scanned epoch where jax is installed (issue 17's), and the numpy
engine faster than deltaprop's reference engine (fast ÷ generic < 1).

    .venv/bin/python benchmarks/p1_digits.py [--reps 3] [--threads 1]
"""

from __future__ import annotations

import argparse

import harness
from benchdata import as_dtype, digits
from comparison import Comparison, compare, engine_target
from systems import Spec

TARGETS = {"scikit-learn": 0.50, "PyTorch": 0.50, "JAX scan": 1.0}


def make_spec(dtype: str, epochs: int) -> Spec:
    """P1's training run in ``dtype``, ``epochs`` epochs per repetition."""
    X, labels = digits()
    return Spec(
        X=as_dtype(X, dtype),
        labels=labels,
        sizes=(64, 100, 10),
        activation="sigmoid",
        lr=0.1,
        momentum=0.9,
        batch=200,
        units=epochs,
    )


def run(args: argparse.Namespace) -> tuple[list[Comparison], list[harness.Target]]:
    """Both dtypes; the targets apply to float64."""
    results, targets = [], []
    for dtype in ("float64", "float32"):
        spec = make_spec(dtype, args.p1_epochs)
        title = (
            f"digits 1797×64, 64-100-10 sigmoid, momentum 0.9 α=0.1, batch 200, {dtype}, "
            f"{spec.units} epochs per rep"
        )
        result = compare(f"P1 {dtype}", title, spec, args.reps, generic=True)
        results.append(result)
        if dtype == "float64":
            dp_ = result.measured["deltaprop"].median
            for other, limit in TARGETS.items():
                if other not in result.measured:  # JAX, where jax is not installed
                    continue
                ratio = dp_ / result.measured[other].median
                targets.append(
                    harness.Target("P1 digits f64", f"deltaprop ÷ {other}", limit, ratio)
                )
            targets.append(engine_target("P1 digits f64", result))
    return results, targets


if __name__ == "__main__":
    harness.main_single(run)
