"""P5: online SGD (batch 1), 64-32-10 sigmoid + softmax cross-entropy, float64.

Plain SGD, rate 0.1, 5000 steps (the first 1000 digits, 5 epochs); time per step.
Targets: deltaprop ≤ 1/40 of scikit-learn's time per step (issue 17's; 0.30 before),
≤ 0.20 × PyTorch's and ≤ 4 × the floor, and the numpy engine faster than deltaprop's
reference engine (fast ÷ generic < 1).

    .venv/bin/python benchmarks/p5_online.py [--reps 3]
"""

from __future__ import annotations

import argparse

import harness
from benchdata import as_dtype, digits
from comparison import Comparison, compare, engine_target
from systems import Spec

TARGETS = {"scikit-learn": 1 / 40, "PyTorch": 0.20, "floor": 4.0}


def make_spec(steps: int) -> Spec:
    """P5's training run: ``steps`` online steps (whole epochs of 1000) per repetition."""
    X, labels = digits()
    return Spec(
        X=as_dtype(X, "float64", 1000),
        labels=labels[:1000],
        sizes=(64, 32, 10),
        activation="sigmoid",
        lr=0.1,
        momentum=0.0,
        batch=1,
        units=steps // 1000,
        per_step=True,
    )


def run(args: argparse.Namespace) -> tuple[list[Comparison], list[harness.Target]]:
    """Per step."""
    s = make_spec(args.p5_steps)
    title = (
        f"digits[:1000], 64-32-10 sigmoid, plain SGD α=0.1, batch 1, float64, "
        f"{s.count(s.units)} steps per rep"
    )
    result = compare("P5 float64", title, s, args.reps, generic=True)
    dp_ = result.measured["deltaprop"].median
    targets = [
        harness.Target(
            "P5 batch-1 step f64",
            f"deltaprop ÷ {other}",
            limit,
            dp_ / result.measured[other].median,
        )
        for other, limit in TARGETS.items()
        if other in result.measured
    ]
    targets.append(engine_target("P5 batch-1 step f64", result))
    return [result], targets


if __name__ == "__main__":
    harness.main_single(run)
