"""P4: full-batch L-BFGS, 10000 × 784 (Fashion-MNIST, else synthetic), 784-256-10 relu, float64.

deltaprop (numpy, and its torch array backend) against scikit-learn's ``solver="lbfgs"``
and ``torch.optim.LBFGS``; time per evaluation of J and ∇J (line searches make more
evaluations than iterations, differently in each system). Targets: deltaprop ≤ 0.55 ×
scikit-learn's time; deltaprop on torch tensors ≤ 1.0 × PyTorch's and ≤ 1.0 × the GEMM
limit (the products alone, in numpy).

    .venv/bin/python benchmarks/p4_lbfgs.py [--reps 3] [--lbfgs-iters 10]
"""

from __future__ import annotations

import argparse

import harness
from benchdata import as_dtype, fashion
from comparison import Comparison, compare
from systems import Spec, deltaprop_system


def run(args: argparse.Namespace) -> tuple[list[Comparison], list[harness.Target]]:
    """The four systems and the GEMM limit, per evaluation."""
    X, labels, source = fashion()
    s = Spec(
        X=as_dtype(X, "float64", 10000),
        labels=labels[:10000],
        sizes=(784, 256, 10),
        activation="relu",
        optimizer="lbfgs",
        units=args.lbfgs_iters,
    )
    title = (
        f"{source} 10000×784, 784-256-10 relu, full-batch L-BFGS, float64, "
        f"{s.units} iterations per rep"
    )
    extra = {"deltaprop[torch]": deltaprop_system(s, xp="torch")}
    result = compare("P4 float64", title, s, args.reps, extra=extra)
    m = result.measured
    targets = [
        harness.Target(
            "P4 L-BFGS f64, per eval",
            "deltaprop ÷ scikit-learn",
            0.55,
            m["deltaprop"].median / m["scikit-learn"].median,
        ),
        harness.Target(
            "P4 L-BFGS f64, per eval",
            "deltaprop[torch] ÷ PyTorch",
            1.0,
            m["deltaprop[torch]"].median / m["PyTorch"].median,
        ),
        harness.Target(
            "P4 L-BFGS f64, per eval",
            "deltaprop[torch] ÷ GEMM limit",
            1.0,
            m["deltaprop[torch]"].median / m["GEMM limit"].median,
        ),
    ]
    return [result], targets


if __name__ == "__main__":
    harness.main_single(run)
