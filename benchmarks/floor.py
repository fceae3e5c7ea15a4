"""The floor of a workload: its floating-point work at the machine's measured rates.

The issue's floor is what no implementation on this machine can beat: every FLOP of
the forward pass, the δ recursion, the gradient and the update done at the rate of a
large matrix product (dgemm/sgemm, measured here at the benchmark's thread count),
plus every exponential (sigmoid, softmax) at the rate of numpy's ``exp`` on a long
array. Unlike the GEMM limit (``harness.gemm_limit``, the products run in numpy, call
by call), it has no per-call overhead at all: at batch 1 it is far below the GEMM limit.
"""

from __future__ import annotations

import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from harness import gemm_flops

UPDATE_FLOPS = {"sgd": 2, "momentum": 4, "adam": 12, "lbfgs": 0}
"""FLOPs per parameter of one update: θ −= α g (2); v := μv − αg, θ += v (4); Adam's
two moments (3 + 4), bias corrections and the step (≈ 5)."""


@dataclass(frozen=True)
class Rates:
    """The machine's rates for one dtype, at the current thread count."""

    flops_per_second: float  # a 512 × 512 matrix product, best of 5
    seconds_per_exp: float  # np.exp over 2²⁰ numbers, best of 5


def _best(work: Callable[[], object], repeat: int = 5) -> float:
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


@functools.lru_cache(maxsize=4)
def rates(dtype: str) -> Rates:
    """Measure :class:`Rates` for ``dtype`` (once per process and dtype)."""
    rng = np.random.default_rng(0)
    n = 512
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)  # warm the BLAS up
    matmul = _best(lambda: np.matmul(a, b, out=out))
    x = rng.random(1 << 20).astype(dtype)
    y = np.empty_like(x)
    exp = _best(lambda: np.exp(x, out=y))
    return Rates(2.0 * n**3 / matmul, exp / x.size)


def batch_work(sizes: Sequence[int], n: int, activation: str, optimizer: str) -> tuple[float, int]:
    """(FLOPs, exponentials) of one step on a batch of n: forward, δ, ∇J, update.

    Beyond the products (:func:`harness.gemm_flops`): the bias adds, the hidden
    activations and their f′ (relu 1 + 1 FLOP per unit, sigmoid 2 + 2 and one exp),
    softmax with cross-entropy (one exp and 4 FLOPs per output), δ⁽ⁿˡ⁾ = a − y, the
    bias gradients' sums, and the update (:data:`UPDATE_FLOPS` per parameter).
    """
    hidden = sum(sizes[1:-1])
    outputs = sizes[-1]
    per_unit = 2 if activation == "relu" else 4
    flops = gemm_flops(sizes, n)
    flops += 2 * n * sum(sizes[1:])  # + b in the forward pass, Σ δ in ∂J/∂b
    flops += per_unit * n * hidden + 5 * n * outputs
    params = sum(o * (i + 1) for i, o in itertools.pairwise(sizes))
    flops += UPDATE_FLOPS[optimizer] * params
    exps = n * outputs + (n * hidden if activation == "sigmoid" else 0)
    return float(flops), exps


def floor_seconds(
    sizes: Sequence[int],
    m: int,
    batch: int,
    activation: str,
    optimizer: str,
    dtype: str,
    per_step: bool = False,
) -> float:
    """The floor of one unit: an epoch of ceil(m / batch) steps, or one step (``per_step``).

    For L-BFGS (``optimizer="lbfgs"``) a unit is one evaluation of J and ∇J on all m.
    """
    r = rates(dtype)

    def seconds(n: int) -> float:
        flops, exps = batch_work(sizes, n, activation, optimizer)
        return flops / r.flops_per_second + exps * r.seconds_per_exp

    if optimizer == "lbfgs":
        return seconds(m)
    epoch = sum(seconds(min(batch, m - first)) for first in range(0, m, batch))
    return epoch / math.ceil(m / batch) if per_step else epoch
