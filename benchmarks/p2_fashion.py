"""P2: 60000 × 784 (Fashion-MNIST, else seeded synthetic), 784-256-10 relu.

SGD with momentum 0.9, rate 0.01, batch 128, float32 and float64; time per epoch.
Targets (float32): deltaprop ≤ 0.55 × scikit-learn's time, ≤ 0.70 × PyTorch's, and
≤ 1.25 × the GEMM limit (the matrix products alone, in numpy).

    .venv/bin/python benchmarks/p2_fashion.py [--reps 3] [--epochs 1]
"""

from __future__ import annotations

import argparse

import harness
from benchdata import as_dtype, fashion
from comparison import Comparison, compare, engine_target
from systems import Spec

TARGETS = {"scikit-learn": 0.55, "PyTorch": 0.70, "GEMM limit": 1.25}


def spec(dtype: str, epochs: int, hidden: int = 256, rows: int | None = None) -> Spec:
    """P2's training run (also the memory and scaling items' base)."""
    X, labels = fashion()[:2]
    return Spec(
        X=as_dtype(X, dtype, rows),
        labels=labels[:rows],
        sizes=(784, hidden, 10),
        activation="relu",
        lr=0.01,
        momentum=0.9,
        batch=128,
        units=epochs,
    )


def run(args: argparse.Namespace) -> tuple[list[Comparison], list[harness.Target]]:
    """Both dtypes; the targets apply to float32."""
    source = fashion()[2]
    results, targets = [], []
    for dtype in ("float32", "float64"):
        s = spec(dtype, args.epochs)
        title = (
            f"{source} 60000×784, 784-256-10 relu, momentum 0.9 α=0.01, batch 128, {dtype}, "
            f"{s.units} epoch(s) per rep"
        )
        result = compare(f"P2 {dtype}", title, s, args.reps, generic=True)
        results.append(result)
        if dtype == "float32":
            dp_ = result.measured["deltaprop"].median
            for other, limit in TARGETS.items():
                ratio = dp_ / result.measured[other].median
                targets.append(
                    harness.Target("P2 784-256-10 f32", f"deltaprop ÷ {other}", limit, ratio)
                )
            targets.append(engine_target("P2 784-256-10 f32", result))
    return results, targets


if __name__ == "__main__":
    harness.main_single(run)
