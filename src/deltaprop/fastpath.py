"""The numpy engine: backpropagation's equations with fewer passes over memory.

Everything numpy-specific in deltaprop lives here, behind one dispatch
(``deltaprop.objective.uses_numpy_engine``). The definition is ``backprop``: each
function below computes what a readable function there computes, and
tests/test_fast_path.py holds every one of them equal to it, on the same inputs,
through a namespace (``array_api_compat.numpy``) that takes the readable path.

What it does differently:

- :func:`cost_and_grad` writes products straight into preallocated arrays (a
  :class:`Workspace`) and into the gradient's views, applies the hidden
  activations in place with f′ taken from a (:data:`KERNELS`), scales δ⁽ⁿˡ⁾ by
  1/m once so that no weight gradient needs dividing, and skips the weight decay
  when λ = 0;
- :func:`output_terms` computes softmax, the cross-entropy and δ⁽ⁿˡ⁾ = a − y from
  one exponential;
- :class:`Gather` copies mini-batches into arrays made once;
- :func:`update` runs Adam and Nesterov's momentum through one scratch array.

A compiled engine (one epoch per call) would be a second module beside this
one, chosen by the same dispatch. ``benchmarks/`` reports this engine's speed
against the readable path (fast ÷ generic) so that it keeps earning its place.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backprop
from ._sparse import first_gradient, first_layer, is_sparse, take_rows
from .activations import (
    LEAKY_SLOPE,
    Activation,
    identity,
    leaky_relu,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from .costs import Cost, CrossEntropy
from .optim.adam import Adam
from .optim.momentum import Momentum

Kernel = Callable[[np.ndarray, np.ndarray], None]
"""An in-place kernel: ``f_into(z, out)`` or ``mul_fprime(g, a)``."""


# --- the hidden activations, in place ----------------------------------------------------


def _sigmoid_into(z: np.ndarray, out: np.ndarray) -> None:
    # sigmoid.f's operations, in the same order (so the same bits), into out.
    negative = z < 0
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)  # e = e^(−|z|)
    np.add(e, 1.0, out=out)
    np.divide(1.0, out, out=out)  # s = 1 / (1 + e)
    np.multiply(e, out, out=out, where=negative)  # σ(z) = s for z ≥ 0, e·s for z < 0


def _sigmoid_mul_fprime(g: np.ndarray, a: np.ndarray) -> None:
    t = np.subtract(1.0, a)
    np.multiply(t, a, out=t)  # σ′ = a(1 − a)
    np.multiply(g, t, out=g)


def _tanh_into(z: np.ndarray, out: np.ndarray) -> None:
    np.tanh(z, out=out)


def _tanh_mul_fprime(g: np.ndarray, a: np.ndarray) -> None:
    t = np.multiply(a, a)
    np.subtract(1.0, t, out=t)  # tanh′ = 1 − a²
    g *= t


def _relu_into(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, 0.0, out=out)


def _relu_mul_fprime(g: np.ndarray, a: np.ndarray) -> None:
    np.multiply(g, a > 0, out=g)  # a > 0 exactly where z > 0


def _leaky_relu_into(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, LEAKY_SLOPE * z, out=out)  # the slope is below 1: max picks the right branch


def _leaky_relu_mul_fprime(g: np.ndarray, a: np.ndarray) -> None:
    t = (a > 0).astype(g.dtype)  # a > 0 exactly where z > 0
    t *= 1.0 - LEAKY_SLOPE
    t += LEAKY_SLOPE
    g *= t


def _softplus_into(z: np.ndarray, out: np.ndarray) -> None:
    out[...] = softplus.f(np, z)


def _softplus_mul_fprime(g: np.ndarray, a: np.ndarray) -> None:
    g *= softplus.fprime(np, a, a)


def _identity_into(z: np.ndarray, out: np.ndarray) -> None:
    if out is not z:
        out[...] = z


def _identity_mul_fprime(g: np.ndarray, a: np.ndarray) -> None:
    """f′ = 1: g stays as it is."""


@dataclass(frozen=True)
class Kernels:
    """An activation's two in-place kernels.

    ``f_into(z, out)`` writes a = f(z) into ``out`` (which may be z itself) with the
    same operations as f, so a has the same bits either way; ``mul_fprime(g, a)``
    multiplies g in place by f′(z) computed from a alone, so that z need not be kept
    (the same numbers as g ⊙ f′ up to rounding).
    """

    f_into: Kernel
    mul_fprime: Kernel


KERNELS: dict[Activation, Kernels] = {
    sigmoid: Kernels(_sigmoid_into, _sigmoid_mul_fprime),
    tanh: Kernels(_tanh_into, _tanh_mul_fprime),
    relu: Kernels(_relu_into, _relu_mul_fprime),
    leaky_relu: Kernels(_leaky_relu_into, _leaky_relu_mul_fprime),
    softplus: Kernels(_softplus_into, _softplus_mul_fprime),
    identity: Kernels(_identity_into, _identity_mul_fprime),
}
"""The built-in hidden activations' kernels, keyed by the activation itself: another
activation (a planted wrong f′, say) has none, and the engine calls its f and f′."""


# --- the output layer --------------------------------------------------------------------


def output_terms(cost: Cost, act: Activation, z: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
    """``cost.output_terms(np, act, z, y)``: softmax with cross-entropy from one exponential."""
    if type(cost) is CrossEntropy and act is softmax:
        return _softmax_cross_entropy(z, y)
    return cost.output_terms(np, act, z, y)


def _softmax_cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[Any, Any, Any]:
    """CrossEntropy.output_terms for numpy arrays: the same operations as ufunc calls, fewer arrays.

    The loss is summed per row, then over rows, as ``Cost.loss_sum`` sums it, so J
    has the same bits as on the generic path.
    """
    shifted = z - np.maximum.reduce(z, axis=1, keepdims=True)
    a = np.exp(shifted)
    total = np.add.reduce(a, axis=1, keepdims=True)
    a /= total  # a_k = e^(z_k) / Σ_j e^(z_j)
    shifted -= np.log(total)  # log a_k = z_k − log Σ_j e^(z_j)
    shifted *= y
    return a, -np.add.reduce(np.add.reduce(shifted, axis=1)), a - y


# --- J and ∇J ----------------------------------------------------------------------------


class Workspace:
    """Arrays that :func:`cost_and_grad` reuses from one batch to the next.

    For layer sizes s_1 … s_{n_l} and batches of up to ``rows`` examples: one
    (rows, s_l) array per layer l ≥ 2 for z⁽ˡ⁾ (which becomes a⁽ˡ⁾ where f is
    applied in place), one per hidden layer for δ⁽ˡ⁾, one for the scaled
    δ⁽ⁿˡ⁾, and a vector of ones for Σᵢ; it also remembers the views dW, db of
    the last gradient vector it was given. A batch of m ≤ rows examples uses
    the first m rows. Training makes one per run, so its inner loop allocates
    only the output layer's small arrays.

    >>> work = Workspace([784, 256, 10], rows=128, dtype=np.float32)
    >>> work.z[1].shape, work.z[2].shape, work.delta[2].shape
    ((128, 256), (128, 10), (128, 10))
    """

    def __init__(self, sizes: Sequence[int], rows: int, dtype: Any) -> None:
        self.sizes = tuple(sizes)
        self.rows = rows
        self.dtype = np.dtype(dtype)
        # Keyed like Trace's lists: z[k] and delta[k] belong to layer l = k + 1.
        self.z = {k: np.empty((rows, s), self.dtype) for k, s in enumerate(sizes) if k > 0}
        self.delta = {k: np.empty((rows, s), self.dtype) for k, s in enumerate(sizes) if k > 0}
        self.ones = np.ones(rows, self.dtype)
        self.dropped: dict[int, np.ndarray] = {}  # ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾, made at first dropout
        self._grad: np.ndarray | None = None  # the gradient whose views are _views
        self._views: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])

    def fits(self, m: int, dtype: Any) -> bool:
        """Whether a batch of m examples of this dtype fits."""
        return m <= self.rows and dtype == self.dtype

    def views(
        self, grad: np.ndarray, unpack: Callable[[np.ndarray], tuple[list[Any], list[Any]]]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``unpack(grad)``, the views dW, db, remembered for the next call with this grad."""
        if grad is not self._grad:
            self._grad, self._views = grad, unpack(grad)
        return self._views


def cost_and_grad(
    W: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    f: Sequence[Activation],
    cost: Cost,
    lam: float,
    x: Any,
    y: np.ndarray,
    dW: Sequence[np.ndarray],
    db: Sequence[np.ndarray],
    sample_weight: np.ndarray | None = None,
    work: Workspace | None = None,
    kernels: Sequence[Kernels | None] | None = None,
    masks: Sequence[np.ndarray | None] | None = None,
) -> tuple[Any, Any, np.ndarray]:
    """:func:`backprop.cost_and_grad` for numpy arrays: the same equations, fewer passes.

    Each line below is an equation of ``backprop.forward``, ``backward`` or
    ``gradients``, written into ``work``'s arrays or the gradient's views
    with ``out=``. The forward pass makes the same operations as :func:`forward`
    and the loss is summed as :func:`data_term` sums it, so J has the same bits as
    in ``backprop``; the backward pass uses ``np.dot`` (the same BLAS products
    as ``@``, with less overhead per call on small arrays) and two rewrites that
    keep the numbers, up to rounding, while saving passes:

    - δ⁽ⁿˡ⁾ is multiplied by 1/m once (by wᵢ / Σᵢ wᵢ with example weights), and
      the δ recursion, linear in δ, carries the factor down, so
      ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾ + λ W⁽ˡ⁾ and ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾ need no division;
    - a hidden activation with kernels in :data:`KERNELS` is applied in place
      over z, and δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁾) ⊙ f′ takes f′ from a.

    Dropout masks (``masks[k]`` for layer k + 1, as in backprop) go into arrays of
    the workspace: ã = a ⊙ r beside a, which f′ still reads. A scipy.sparse CSR
    x makes the first layer's two products sparse (``deltaprop._sparse``).

    One function on purpose: the two passes share the workspace's rows, the kept
    z's and the scaled δ, which split functions would pass back and forth.

    ``work`` is made for this call when missing or too small; ``kernels`` are
    ``KERNELS.get(f[k])`` for every k, looked up here when not given. Returns what
    ``backprop.cost_and_grad`` returns; the output array is new, not ``work``'s.
    """
    m, L = x.shape[0], len(W)
    sparse = is_sparse(x)
    if kernels is None:
        kernels = [KERNELS.get(act) for act in f]
    if work is None or not (m <= work.rows and x.dtype == work.dtype):
        work = Workspace([x.shape[1], *(w.shape[0] for w in W)], m, x.dtype)
    a: list[Any] = [x]  # a[k]: layer k + 1
    inputs: list[Any] = []  # inputs[k]: what W[k] multiplies, ã[k] = a[k] ⊙ r[k] or a[k]
    z_kept: list[np.ndarray | None] = [None] * (L + 1)  # z, where f′ needs it
    for k in range(L):
        r = None if masks is None else masks[k]
        a_in = a[k] if r is None else _dropped(a[k], r, work, k, m)  # ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾
        inputs.append(a_in)
        if k == 0 and sparse:
            z = first_layer(a_in, W[0], b[0], work.z[1][:m])  # sparse x: z⁽²⁾ = W⁽¹⁾x + b⁽¹⁾
        else:
            z = np.matmul(a_in, W[k].T, out=work.z[k + 1][:m])  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ a⁽ˡ⁾ …
            np.add(z, b[k], out=z)  # … + b⁽ˡ⁾
        if k == L - 1:
            break
        kern = kernels[k]
        if kern is not None:
            kern.f_into(z, z)  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), over z
            a.append(z)
        else:
            z_kept[k + 1] = z
            a.append(f[k].f(np, z))
    z_out = z  # z⁽ⁿˡ⁾
    delta = work.delta[L][:m]  # receives δ⁽ⁿˡ⁾ / m
    if sample_weight is None:
        out, loss_sum, delta_out = output_terms(cost, f[-1], z_out, y)
        data = loss_sum / m
        if out is z_out:  # the identity's a = z: hand back an array of its own
            out = out.copy()
        if m == 1:  # δ is only read from here on: no copy needed
            delta = delta_out
        else:
            np.multiply(delta_out, 1.0 / m, out=delta)
    else:
        out = f[-1].f(np, z_out)
        out = out.copy() if out is z_out else out
        total = np.sum(sample_weight)
        data = (sample_weight @ cost.loss_rows(np, z_out, out, y)) / total
        delta_out = cost.output_delta(np, f[-1], z_out, out, y)
        np.multiply(delta_out, (sample_weight / total)[:, None], out=delta)
    for k in range(L - 1, -1, -1):
        # δ holds δ⁽ˡ⁺¹⁾ / m: ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾ + λ W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾.
        if k == 0 and sparse:
            first_gradient(delta, inputs[0], dW[0])
        else:
            np.dot(delta.T, inputs[k], out=dW[k])
        if lam:
            dW[k] += lam * W[k]
        np.dot(work.ones[:m], delta, out=db[k])
        if k == 0:
            break
        back = np.dot(delta, W[k], out=work.delta[k][:m])  # Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾
        r = None if masks is None else masks[k]
        if r is not None:
            back *= r  # ⊙ r⁽ˡ⁾ (dropout)
        kern, z_k = kernels[k - 1], z_kept[k]
        if z_k is None and kern is not None:
            kern.mul_fprime(back, a[k])  # ⊙ f′(z⁽ˡ⁾), from a⁽ˡ⁾
        else:
            back *= f[k - 1].fprime(np, z_k, a[k])  # ⊙ f′(z⁽ˡ⁾)
        delta = back
    decay = backprop.weight_decay(np, W, lam) if lam else W[0].dtype.type(0.0)
    return data, decay, out


def _dropped(a: Any, r: np.ndarray, work: Workspace, k: int, m: int) -> Any:
    """ã = a ⊙ r into the workspace's array for layer k + 1 (a sparse input: a new CSR)."""
    if is_sparse(a):
        return a.multiply(r).tocsr()
    buf = work.dropped.get(k)
    if buf is None:
        buf = work.dropped[k] = np.empty((work.rows, a.shape[1]), work.dtype)
    return np.multiply(a, r, out=buf[:m])


# --- mini-batches and updates ------------------------------------------------------------


class Gather:
    """Mini-batches copied into arrays made once, by ``np.take(…, out=)``.

    Args:
      x, y, w: the training inputs, targets and example weights (or None); a
        scipy.sparse CSR x gives each batch its rows as a new CSR matrix.
      rows: the largest batch.
    """

    def __init__(self, x: Any, y: np.ndarray, w: np.ndarray | None, rows: int) -> None:
        self.src = (x, y, w)
        self.sparse = is_sparse(x)
        self.x = np.empty((0 if self.sparse else rows, *x.shape[1:]), x.dtype)
        self.y = np.empty((rows, *y.shape[1:]), y.dtype)
        self.w = None if w is None else np.empty(rows, w.dtype)

    def take(self, idx: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """The rows ``idx`` (at most ``rows`` of them), in this object's arrays."""
        n = idx.shape[0]
        x, y, w = self.src
        # mode="clip": the indices are valid, and "raise" would copy through a buffer.
        sparse = self.sparse
        xs = take_rows(x, idx) if sparse else x.take(idx, axis=0, out=self.x[:n], mode="clip")
        ys = y.take(idx, axis=0, out=self.y[:n], mode="clip")
        ws = None
        if w is not None and self.w is not None:
            ws = w.take(idx, axis=0, out=self.w[:n], mode="clip")
        return xs, ys, ws


class ArgmaxCount:
    """An epoch's count of softmax outputs classified right, compared once at the end.

    Each step keeps its examples' predicted classes at their places in the epoch's
    order; the epoch compares them with the labels in that order, rather than
    taking two argmaxes every step.
    """

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self.preds = np.empty(labels.shape[0], np.intp)
        self.end = 0  # the batches so far cover positions 0 … end of the order ...
        self.gaps: list[tuple[int, int]] = []  # ... but for these skipped (first, n) spans

    def add(self, output: np.ndarray, y: np.ndarray, first: int, n: int) -> None:
        """A batch's outputs, the examples first … first + n of the epoch's order."""
        output.argmax(axis=1, out=self.preds[first : first + n])
        if first != self.end:  # a skipped batch before this one
            self.gaps.append((self.end, first - self.end))
        self.end = first + n

    def result(self, order: np.ndarray | None) -> float:
        """The fraction right among the epoch's examples that were run."""
        if not self.end:
            return math.nan
        where: Any = slice(0, self.end)
        if self.gaps:
            keep = np.ones(self.end, bool)
            for first, n in self.gaps:
                keep[first : first + n] = False
            where = np.flatnonzero(keep)
        truth = self.labels[where] if order is None else np.take(self.labels, order[where])
        return float(np.count_nonzero(self.preds[where] == truth)) / truth.shape[0]


def update(opt: Any, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], lr: float) -> None:
    """``opt.update(np, θ, ∇J, state, α)``, with Adam and Nesterov through one scratch array.

    The arithmetic is the optimizer's own (``deltaprop.optim``), written with
    ``out=`` so that no other temporary the size of θ is made: that matters when θ
    has millions of entries. Other optimizers run their own update.
    """
    if type(opt) is Adam:
        _adam(opt.beta1, opt.beta2, opt.eps, theta, grad, state, lr)
    elif type(opt) is Momentum and opt.nesterov:
        _nesterov(opt.momentum, theta, grad, state, lr)
    else:
        opt.update(np, theta, grad, state, lr)


def _adam(
    b1: float,
    b2: float,
    eps: float,
    theta: np.ndarray,
    grad: np.ndarray,
    state: dict[str, Any],
    lr: float,
) -> None:
    m, v = state["m"], state["v"]
    t = state["t"] = state["t"] + 1
    c1, c2 = 1.0 - b1**t, 1.0 - b2**t  # bias corrections 1 − β₁ᵗ, 1 − β₂ᵗ
    buf = np.empty_like(theta)
    m *= b1
    m += np.multiply(grad, 1.0 - b1, out=buf)  # first moment: m := β₁ m + (1 − β₁) g
    v *= b2
    buf = np.multiply(grad, grad, out=buf)
    buf *= 1.0 - b2
    v += buf  # second moment: v := β₂ v + (1 − β₂) g²
    buf = np.sqrt(v, out=buf)
    buf /= math.sqrt(c2)
    buf += eps  # √v̂ + ε
    buf = np.divide(m, buf, out=buf)
    buf *= lr / c1  # α m̂ / (√v̂ + ε)
    theta -= buf


def _nesterov(
    mu: float, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], lr: float
) -> None:
    v = state["v"]
    step = np.multiply(grad, lr)  # α ∇J
    v *= mu
    v -= step  # v := μ v − α ∇J
    theta -= step
    theta += np.multiply(v, mu, out=step)  # θ := θ − α ∇J + μ v
