"""P6: tabular data, 20000 × 50 (seeded, binary), 50-100-100-2 relu + softmax cross-entropy.

Adam (α = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-8), batch 32, float64; time per epoch.
Every system starts from the same θ and takes the same mini-batches. Target:
deltaprop ≤ 0.30 × scikit-learn's time (the compiled engine's, issue 17).

    .venv/bin/python benchmarks/p6_tabular.py [--reps 3] [--p6-epochs 1]
"""

from __future__ import annotations

import argparse

import harness
from benchdata import tabular
from comparison import Comparison, compare
from systems import Spec

TARGETS = {"scikit-learn": 0.30}


def make_spec(epochs: int, rows: int = 20000) -> Spec:
    """P6's training run on the first ``rows`` rows, ``epochs`` epochs per repetition."""
    X, labels = tabular()
    return Spec(
        X=X[:rows].copy(),
        labels=labels[:rows].copy(),
        sizes=(50, 100, 100, 2),
        activation="relu",
        optimizer="adam",
        lr=0.001,
        batch=32,
        units=epochs,
    )


def run(args: argparse.Namespace) -> tuple[list[Comparison], list[harness.Target]]:
    """float64, per epoch."""
    s = make_spec(args.p6_epochs)
    title = (
        f"tabular {s.m}×50 (seeded, binary), 50-100-100-2 relu, Adam α=0.001, batch 32, "
        f"float64, {s.units} epoch(s) per rep"
    )
    result = compare("P6 float64", title, s, args.reps)
    dp_ = result.measured["deltaprop"].median
    targets = [
        harness.Target("P6 tabular Adam f64", f"deltaprop ÷ {other}", limit, dp_ / m.median)
        for other, limit in TARGETS.items()
        for m in [result.measured[other]]
    ]
    return [result], targets


if __name__ == "__main__":
    harness.main_single(run)
