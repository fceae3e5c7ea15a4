"""P3: 60000 × 784 (Fashion-MNIST, else seeded synthetic), 784-512-512-10 relu, float32.

SGD with momentum 0.9, rate 0.01, batch 256; time per epoch. Targets: deltaprop ≤ 0.60 ×
scikit-learn's time, ≤ 0.90 × PyTorch's, and ≤ 1.15 × the GEMM limit.

    .venv/bin/python benchmarks/p3_deep.py [--reps 3] [--epochs 1]
"""

from __future__ import annotations

import argparse

import harness
from benchdata import as_dtype, fashion
from comparison import Comparison, compare
from systems import Spec

TARGETS = {"scikit-learn": 0.60, "PyTorch": 0.90, "GEMM limit": 1.15}


def run(args: argparse.Namespace) -> tuple[list[Comparison], list[harness.Target]]:
    """float32 only."""
    X, labels, source = fashion()
    s = Spec(
        X=as_dtype(X, "float32"),
        labels=labels,
        sizes=(784, 512, 512, 10),
        activation="relu",
        lr=0.01,
        momentum=0.9,
        batch=256,
        units=args.epochs,
    )
    title = (
        f"{source} 60000×784, 784-512-512-10 relu, momentum 0.9 α=0.01, batch 256, float32, "
        f"{s.units} epoch(s) per rep"
    )
    result = compare("P3 float32", title, s, args.reps, jax=False)  # JAX: P1, P2, P5, P6
    dp_ = result.measured["deltaprop"].median
    targets = [
        harness.Target(
            "P3 784-512-512-10 f32",
            f"deltaprop ÷ {other}",
            limit,
            dp_ / result.measured[other].median,
        )
        for other, limit in TARGETS.items()
    ]
    return [result], targets


if __name__ == "__main__":
    harness.main_single(run)
