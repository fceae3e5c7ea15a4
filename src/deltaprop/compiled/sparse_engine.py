"""The sparse autoencoder on the compiled engine: which networks it takes, its arrays, its call.

:class:`SparseEngine` describes a sparse autoencoder [s₁, s₂, s₁] to
``sparse.sparse_cost_and_grad`` (the decoder's activation code, λ, ρ, β) and keeps
its scratch arrays. :func:`sparse_engine_for` gives None where the kernel does not
cover the network (a dtype other than float32/float64, an activation of one's own):
``autoencoder.SparseObjective`` then takes the readable path, as it does for
arrays the kernel does not take (:meth:`SparseEngine.covers`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import aot, codes
from .engine import ACTIVATION_CODES, COST_CODES, DTYPES

DECODERS = (codes.SIGMOID, codes.IDENTITY)
"""The decoder activations the kernel computes (a sigmoid or a linear decoder)."""


class SparseRun(NamedTuple):
    """One evaluation's J_sparse parts, ρ̂ and 1 − ρ̂ (each (s₂,)) and a⁽³⁾ (m, s₁)."""

    data: float
    decay: float
    sparsity: float
    rho_hat: np.ndarray
    rho_hat_c: np.ndarray
    output: np.ndarray


def sparse_engine_for(net: Any) -> SparseEngine | None:
    """The compiled J_sparse for the autoencoder ``net``, or None where it is not covered."""
    sizes = tuple(net.layer_sizes)
    hidden, decoder = (ACTIVATION_CODES.get(act) for act in net.activations)
    if (
        len(sizes) != 3
        or sizes[0] != sizes[2]
        or hidden != codes.SIGMOID
        or decoder not in DECODERS
        or COST_CODES.get(type(net.cost)) != codes.SQUARED_ERROR
        or np.dtype(net.dtype) not in DTYPES
    ):
        return None
    assert decoder is not None
    return SparseEngine(sizes, decoder, net.dtype)


class SparseEngine:
    """A sparse autoencoder [s₁, s₂, s₁] described to the compiled kernel, and its scratch.

    Args:
      sizes: (s₁, s₂, s₁).
      decoder: the output activation's code (sigmoid or identity).
      dtype: float32 or float64, θ's.
    """

    def __init__(self, sizes: tuple[int, ...], decoder: int, dtype: Any) -> None:
        self.sizes = np.asarray(sizes, np.int64)
        self.decoder = int(decoder)
        self.dtype = np.dtype(dtype)
        self._work = np.empty(0, self.dtype)
        self._no_grad = np.empty(0, self.dtype)

    def covers(self, theta: Any, grad: Any, x: Any) -> bool:
        """Whether the kernel takes these arrays: dense x, θ's dtype, flat θ and ∇J."""
        return (
            type(x) is np.ndarray
            and x.ndim == 2
            and x.dtype == self.dtype
            and x.shape[0] > 0
            and _flat(theta, self.dtype)
            and (grad is None or _flat(grad, self.dtype))
        )

    def cost_and_grad(
        self, theta: np.ndarray, grad: np.ndarray | None, x: np.ndarray, hyper: tuple[float, ...]
    ) -> SparseRun:
        """J_sparse's parts at θ over the inputs x, ∇J_sparse into ``grad`` (None: J alone).

        ``hyper`` is (λ, ρ, β).
        """
        m = x.shape[0]
        s1, s2 = int(self.sizes[0]), int(self.sizes[1])
        need = m * (2 * s2 + s1)
        if self._work.shape[0] < need:
            self._work = np.empty(need, self.dtype)
        out = np.empty((m, s1), self.dtype)
        rho_hat = np.empty((2, s2), self.dtype)
        data, decay, sparsity = aot.kernel("sparse_cost_and_grad", self.dtype)(
            theta,
            self._no_grad if grad is None else grad,
            self.sizes,
            self.decoder,
            np.asarray(hyper, np.float64),
            np.ascontiguousarray(x),
            self._work,
            out,
            rho_hat,
        )
        return SparseRun(data, decay, sparsity, rho_hat[0], rho_hat[1], out)


def _flat(a: Any, dtype: Any) -> bool:
    return type(a) is np.ndarray and a.ndim == 1 and a.dtype == dtype and a.flags.c_contiguous
