"""The compiled engine's Python side: which networks it takes, its arrays, its calls.

:class:`Engine` describes one network to the compiled kernels (layer sizes,
activation and cost codes) and keeps their scratch arrays; ``cost_and_grad``
is one batch's J and ∇J, ``epoch`` a whole epoch of updates in one call.
:func:`engine_for` gives None for a network the kernels do not cover (an
activation or cost of the user's own, a dtype other than float32/float64):
the objective then takes the readable path, as it does for a sparse x.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..activations import ACTIVATIONS
from ..costs import BinaryCrossEntropy, CrossEntropy, PoissonDeviance, SquaredError
from ..optim.adam import Adam
from ..optim.gd import GradientDescent
from ..optim.momentum import Momentum
from . import aot, codes

ACTIVATION_CODES = {
    ACTIVATIONS[name]: code
    for name, code in [
        ("sigmoid", codes.SIGMOID),
        ("tanh", codes.TANH),
        ("relu", codes.RELU),
        ("leaky_relu", codes.LEAKY_RELU),
        ("softplus", codes.SOFTPLUS),
        ("identity", codes.IDENTITY),
        ("exp", codes.EXP),
        ("softmax", codes.SOFTMAX),
    ]
}
"""The built-in activations the kernels compute, keyed by the activation itself."""

COST_CODES = {
    SquaredError: codes.SQUARED_ERROR,
    CrossEntropy: codes.CROSS_ENTROPY,
    BinaryCrossEntropy: codes.BINARY_CROSS_ENTROPY,
    PoissonDeviance: codes.POISSON,
}
"""The built-in costs' classes (a subclass may change the formulas: not covered)."""

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class EpochRun(NamedTuple):
    """What :meth:`Engine.epoch` hands back to the loop.

    ``sums``: Σ_B n_B J_B for each of J's parts; ``last``: the last batch's parts;
    ``outputs``: (m, s_{n_l}), each
    batch's a⁽ⁿˡ⁾ at its places of the order; ``ran``: per batch, 1 where it ran,
    0 where it was skipped, NaN where its J was not finite; ``steps``: updates made;
    ``diverged``: a non-finite J stopped the epoch (at batch ``steps``).
    """

    sums: tuple[float, float]
    last: tuple[float, float]
    outputs: np.ndarray
    ran: np.ndarray
    steps: int
    diverged: bool


def engine_for(net: Any) -> Engine | None:
    """The compiled engine for ``net``, or None where the kernels do not cover it."""
    codes = [ACTIVATION_CODES.get(act) for act in net.activations]
    cost = COST_CODES.get(type(net.cost))
    if cost is None or None in codes or np.dtype(net.dtype) not in DTYPES:
        return None
    return Engine(net.layer_sizes, [int(c) for c in codes if c is not None], cost, net.dtype)


def optimizer_code(opt: Any) -> int | None:
    """The kernels' code for the optimizer ``opt`` (None: it updates θ itself)."""
    kind = type(opt)
    if kind is GradientDescent:
        return codes.GD
    if kind is Momentum:
        return codes.NESTEROV if opt.nesterov else codes.MOMENTUM
    if kind is Adam or callable(getattr(opt, "adam_eps", None)):
        return codes.ADAM
    return None


class Engine:
    """One network described to the compiled kernels, and their scratch arrays.

    Args:
      sizes: s_1 … s_{n_l}.
      codes: each layer's activation code (``kernels``), f[0] … f[n_l − 2].
      cost: the cost's code.
      dtype: float32 or float64, θ's.
    """

    def __init__(self, sizes: Sequence[int], codes: Sequence[int], cost: int, dtype: Any) -> None:
        self.sizes = np.asarray(sizes, np.int64)
        self.codes = np.asarray(codes, np.int64)
        self.cost = cost
        self.dtype = np.dtype(dtype)
        self.hidden = int(self.sizes[1:-1].sum())
        self._work = np.empty(0, self.dtype)
        self._no_w = np.empty(0, self.dtype)
        self._no_masks = np.empty((0, 0), self.dtype)

    def covers(self, theta: Any, grad: Any, x: Any) -> bool:
        """Whether the kernels take these arrays: dense, θ's dtype, one flat vector each."""
        return (
            type(x) is np.ndarray
            and x.dtype == self.dtype
            and x.shape[0] > 0
            and _flat(theta, self.dtype)
            and _flat(grad, self.dtype)
        )

    def work(self, rows: int) -> np.ndarray:
        """The scratch vector, long enough for batches of ``rows`` examples."""
        need = 3 * rows * int(self.sizes[1:].sum())
        if self._work.shape[0] < need:
            self._work = np.empty(need, self.dtype)
        return self._work

    def pack_masks(self, masks: Sequence[Any] | None, m: int) -> np.ndarray:
        """One batch's masks side by side, (m, s_2 + … + s_{n_l − 1}); ones where none is."""
        if masks is None or all(r is None for r in masks):
            return self._no_masks
        cols = [
            np.ones((m, s), self.dtype) if r is None else np.asarray(r, self.dtype)
            for r, s in zip(masks[1:-1], self.sizes[1:-1], strict=True)
        ]
        return np.ascontiguousarray(np.concatenate(cols, axis=1))

    def cost_and_grad(
        self,
        theta: np.ndarray,
        grad: np.ndarray,
        lam: float,
        x: np.ndarray,
        y: np.ndarray,
        w: np.ndarray | None,
        masks: Sequence[Any] | None,
    ) -> tuple[float, float, np.ndarray]:
        """(data term, weight decay, a⁽ⁿˡ⁾) over one batch; ∇J into ``grad``."""
        m = x.shape[0]
        data = (np.ascontiguousarray(x), y, w)
        run: tuple[Any, dict[str, Any], float] = (None, {}, 0.0)
        done = self.epoch(
            theta, grad, lam, None, data, np.arange(m), m, 1, [masks], run, (False, False)
        )
        return done.last[0], done.last[1], done.outputs

    def epoch(
        self,
        theta: np.ndarray,
        grad: np.ndarray,
        lam: float,
        alpha: float | None,
        data: tuple[np.ndarray, np.ndarray, np.ndarray | None],
        order: np.ndarray,
        bs: int,
        n_batches: int,
        masks: Sequence[Sequence[Any] | None] | None,
        update: tuple[Any, dict[str, Any], float],
        flags: tuple[bool, bool],
    ) -> EpochRun:
        """``n_batches`` mini-batches of ``order`` (``bs`` rows each) with their updates.

        Args:
          lam, alpha: λ, or with ``alpha`` given, λ_B = alpha / Σ_B wᵢ per batch.
          data: (x, y, w) of every example.
          masks: each batch's dropout masks (``dropout.Masks.draw``), or None.
          update: (optimizer, its state, α): the state changes in place; a None
            optimizer makes no update (:meth:`cost_and_grad`).
          flags: (diverge, skip_empty), as ``LoopConfig`` has them.
        """
        x, y, w = data
        m = order.shape[0]
        opt, state, lr = update
        code = codes.NONE if opt is None else optimizer_code(opt)
        assert code is not None
        hyper, sched, v1, v2 = step_arrays(code, opt, state, lr, n_batches, self.dtype)
        outputs = np.empty(m * int(self.sizes[-1]), self.dtype)
        res = np.zeros(4 + n_batches)
        rows = min(bs, m)
        bufs = (
            self.work(rows),
            np.empty(rows * x.shape[1], self.dtype),
            np.empty(rows * y.shape[1], self.dtype),
            np.empty(rows if w is not None else 0, self.dtype),
            outputs,
        )
        epoch_masks = self._no_masks
        if masks is not None:
            packed = [self.pack_masks(r, min(bs, m - j * bs)) for j, r in enumerate(masks)]
            if packed and packed[0].shape[0]:
                epoch_masks = np.ascontiguousarray(np.concatenate(packed, axis=0))
        made, diverged = aot.kernel("epoch", self.dtype)(
            (self.sizes, self.codes, self.cost),
            theta,
            grad,
            float(lam),
            -1.0 if alpha is None else float(alpha),
            (
                np.ascontiguousarray(x),
                np.ascontiguousarray(y, self.dtype),
                self._no_w if w is None else np.ascontiguousarray(w, self.dtype),
            ),
            np.ascontiguousarray(order, np.int64),
            int(bs),
            int(n_batches),
            epoch_masks,
            bufs,
            code,
            (v1, v2, hyper, sched),
            (bool(flags[0]), bool(flags[1])),
            res,
        )
        if code == codes.ADAM:
            state["t"] += made
        return EpochRun(
            (float(res[0]), float(res[1])),
            (float(res[2]), float(res[3])),
            outputs.reshape(m, -1),
            res[4:],
            int(made),
            bool(diverged),
        )


def step_arrays(
    code: int, opt: Any, state: dict[str, Any], lr: float, n: int, dtype: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(hyper, sched, v1, v2) for ``kernels.update``'s next ``n`` steps, in θ's dtype.

    Adam's bias corrections are computed here in Python floats, step by step, as
    ``optim.Adam.update`` computes them, so that the compiled step has their bits.
    """
    dt = np.dtype(dtype)
    empty, sched = np.empty(0, dt), np.empty((0, 3), dt)
    if code == codes.ADAM:
        adam = getattr(opt, "adam", opt)
        b1, b2 = adam.beta1, adam.beta2
        eps_at = getattr(opt, "adam_eps", lambda t: adam.eps)
        t0 = int(state["t"])
        sched = np.array(
            [
                [lr / (1.0 - b1**t), math.sqrt(1.0 - b2**t), eps_at(t)]
                for t in range(t0 + 1, t0 + n + 1)
            ],
            dt,
        ).reshape(n, 3)
        hyper = np.array([b1, 1.0 - b1, b2, 1.0 - b2], dt)
        return hyper, sched, state["m"], state["v"]
    if code in (codes.GD, codes.NONE):
        return np.array([lr, 0.0], dt), sched, empty, empty
    return np.array([lr, opt.momentum], dt), sched, state["v"], empty


def update(opt: Any, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], lr: float) -> None:
    """``opt.update(np, θ, ∇J, state, α)``, by the compiled step where there is one."""
    code = optimizer_code(opt)
    if code is None or not (_flat(theta, theta.dtype) and _flat(grad, theta.dtype)):
        opt.update(np, theta, grad, state, lr)
        return
    hyper, sched, v1, v2 = step_arrays(code, opt, state, lr, 1, theta.dtype)
    aot.kernel("update", theta.dtype)(code, theta, grad, v1, v2, hyper, sched, 0)
    if code == codes.ADAM:
        state["t"] += 1


def _flat(a: Any, dtype: Any) -> bool:
    return type(a) is np.ndarray and a.ndim == 1 and a.dtype == dtype and a.flags.c_contiguous
