"""Forward propagation, the cost J(W,b) and backpropagation: the seed's equations.

Notation and indexing. The seed numbers layers l = 1 … n_l, layer 1 being the
input x and layer n_l the output h_{W,b}(x). Python lists are 0-based, so

    a[k], z[k], delta[k]   belong to layer l = k + 1      (z[0], delta[0] are None)
    W[k], b[k]             are W⁽ᵏ⁺¹⁾, b⁽ᵏ⁺¹⁾, joining layer k+1 to layer k+2
    f[k]                   is the activation that layer k+2 applies: a[k+1] = f[k](z[k+1])

W_ij⁽ˡ⁾ joins unit j of layer l to unit i of layer l+1, so W[k] has shape
(s_{l+1}, s_l). Rows are examples: a[k] has shape (m, s_l), and the seed's
column form z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ a⁽ˡ⁾ + b⁽ˡ⁾ reads ``z = a @ W.T + b``.

The cost over m examples (x⁽ⁱ⁾, y⁽ⁱ⁾) is

    J(W,b) = (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) + (λ/2) Σ_l Σ_i Σ_j (W_ji⁽ˡ⁾)²,

with J(W,b; x,y) = ½‖h_{W,b}(x) − y‖² in the seed (other data terms in
``costs``). Its gradient comes from the error terms δ⁽ˡ⁾ = ∂J(W,b; x,y)/∂z⁽ˡ⁾:

    δ⁽ⁿˡ⁾ = −(y − a⁽ⁿˡ⁾) ⊙ f′(z⁽ⁿˡ⁾)                  (owned by the cost)
    δ⁽ˡ⁾  = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾),  i.e.  δ_i⁽ˡ⁾ = (Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾) f′(z_i⁽ˡ⁾)
    ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ + λ W⁽ˡ⁾
    ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾

Every function takes the array namespace ``xp`` first and works on plain
arrays; none prints, reads files or keeps state. ``Network`` holds the
parameters and calls these; so do training and ``explain``.

The functions above ``cost_and_grad`` are the equations as written, for any
array namespace. For numpy, ``cost_and_grad`` takes a fast path that computes
the same equations with fewer passes over memory: products written straight
into preallocated arrays (a :class:`Workspace`) and into the gradient's views,
activations applied in place with f′ taken from a, δ⁽ⁿˡ⁾ scaled by 1/m once so
that no weight gradient needs dividing, and the weight decay skipped when λ = 0.
The tests check that both paths give the same numbers.

References: Ng et al., UFLDL Tutorial, "Backpropagation Algorithm".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import Array, Namespace
from .activations import Activation
from .costs import Cost


@dataclass(frozen=True)
class Trace:
    """Every weighted input z and activation a of a forward pass.

    ``z[k]`` and ``a[k]`` belong to layer l = k + 1; ``z[0]`` is None and
    ``a[0]`` is the input x. Each array has shape (m, s_l).
    """

    z: list[Array]
    a: list[Array]

    @property
    def output(self) -> Array:
        """h_{W,b}(x) = a⁽ⁿˡ⁾."""
        return self.a[-1]


def propagate(
    xp: Namespace,
    W: Sequence[Array],
    b: Sequence[Array],
    f: Sequence[Activation],
    a: Array,
    start: int,
) -> tuple[list[Array], list[Array]]:
    """Continue a forward pass from a[start] = ``a`` to the output layer.

    Returns the lists (z[start+1], …, z[n_l−1]) and (a[start+1], …, a[n_l−1]).
    """
    zs, acts = [], []
    for k in range(start, len(W)):
        z = a @ W[k].T + b[k]  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ a⁽ˡ⁾ + b⁽ˡ⁾, one row per example
        a = f[k].f(xp, z)  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)
        zs.append(z)
        acts.append(a)
    return zs, acts


def forward(
    xp: Namespace, W: Sequence[Array], b: Sequence[Array], f: Sequence[Activation], x: Array
) -> Trace:
    """Forward propagation: a⁽¹⁾ = x, z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾).

    Args:
      W, b: W[k] of shape (s_{k+2}, s_{k+1}) and b[k] of shape (s_{k+2},).
      f: f[k], the activation of layer k+2.
      x: the inputs, shape (m, s_1).
    """
    zs, acts = propagate(xp, W, b, f, x, 0)
    return Trace(z=[None, *zs], a=[x, *acts])


def data_term(
    xp: Namespace, cost: Cost, trace: Trace, y: Array, sample_weight: Array | None = None
) -> Array:
    """(1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾): the average per-example cost (a 0-d array).

    With example weights wᵢ it is the weighted average (Σᵢ wᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)) / Σᵢ wᵢ.
    """
    if sample_weight is None:
        return cost.loss_sum(xp, trace.z[-1], trace.a[-1], y) / y.shape[0]
    rows = cost.loss_rows(xp, trace.z[-1], trace.a[-1], y)
    return (sample_weight @ rows) / xp.sum(sample_weight)


def weight_decay(xp: Namespace, W: Sequence[Array], lam: float) -> Array:
    """(λ/2) Σ_l Σ_i Σ_j (W_ji⁽ˡ⁾)²: weights only, never biases (a 0-d array)."""
    total = 0.0
    for Wk in W:
        w = xp.reshape(Wk, (-1,))
        total = total + w @ w
    return (lam / 2) * total


def output_delta(xp: Namespace, cost: Cost, f_out: Activation, trace: Trace, y: Array) -> Array:
    """δ⁽ⁿˡ⁾ = ∂J(W,b; x,y)/∂z⁽ⁿˡ⁾, per example; e.g. −(y − a⁽ⁿˡ⁾) ⊙ f′(z⁽ⁿˡ⁾)."""
    return cost.output_delta(xp, f_out, trace.z[-1], trace.a[-1], y)


def backward(
    xp: Namespace, W: Sequence[Array], f: Sequence[Activation], trace: Trace, delta_out: Array
) -> list[Array]:
    """The δ recursion from the output layer down to layer 2.

    δ_i⁽ˡ⁾ = (Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾) f′(z_i⁽ˡ⁾): unit i of layer l feeds every unit j
    of layer l+1 through W_ji⁽ˡ⁾, so its error is the sum over those paths. In rows,
    Σ_j δ_j W_ji is the product δ⁽ˡ⁺¹⁾ @ W⁽ˡ⁾.

    Returns delta with delta[k] the δ of layer k+1 (delta[0], the input's, is None).
    """
    L = len(W)
    delta: list[Array] = [None] * (L + 1)
    delta[L] = delta_out
    for k in range(L - 1, 0, -1):
        back = delta[k + 1] @ W[k]  # Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾ for every unit i of layer l
        delta[k] = back * f[k - 1].fprime(xp, trace.z[k], trace.a[k])  # ⊙ f′(z⁽ˡ⁾)
    return delta


def gradients(
    xp: Namespace,
    W: Sequence[Array],
    trace: Trace,
    delta: Sequence[Array],
    lam: float,
    dW: Sequence[Array],
    db: Sequence[Array],
) -> None:
    """Write ∂J/∂W⁽ˡ⁾ and ∂J/∂b⁽ˡ⁾ into ``dW`` and ``db`` (views into the flat gradient).

    ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ + λ W⁽ˡ⁾, entry by entry ∂J/∂W_ij⁽ˡ⁾ = a_j⁽ˡ⁾ δ_i⁽ˡ⁺¹⁾
    averaged, plus λ W_ij⁽ˡ⁾; ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾.
    """
    m = trace.a[0].shape[0]
    for k in range(len(W)):
        dk = delta[k + 1]
        dW[k][...] = (dk.T @ trace.a[k]) / m + lam * W[k]
        db[k][...] = xp.sum(dk, axis=0) / m


def cost_and_grad(
    xp: Namespace,
    W: Sequence[Array],
    b: Sequence[Array],
    f: Sequence[Activation],
    cost: Cost,
    lam: float,
    x: Array,
    y: Array,
    dW: Sequence[Array],
    db: Sequence[Array],
    sample_weight: Array | None = None,
    work: Workspace | None = None,
) -> tuple[Array, Array, Array]:
    """J(W,b) and its gradient for the batch (x, y), by one forward and one backward pass.

    The gradient is written into ``dW``, ``db``. Returns the two parts of J as 0-d
    arrays, the data term (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) and the weight decay
    (λ/2) Σ W² (J is their sum), and the output h_{W,b}(x) of the forward pass.

    With example weights wᵢ (shape (m,)) the data term is the weighted average;
    its gradient follows by scaling each example's δ⁽ⁿˡ⁾ by m wᵢ / Σᵢ wᵢ, which the
    δ recursion, being linear in δ, carries to every layer.

    For numpy arrays this runs :func:`cost_and_grad_numpy`, reusing ``work``'s
    arrays when given; other namespaces ignore ``work``.
    """
    if xp is np:
        return cost_and_grad_numpy(W, b, f, cost, lam, x, y, dW, db, sample_weight, work)
    trace = forward(xp, W, b, f, x)
    delta_out = output_delta(xp, cost, f[-1], trace, y)
    if sample_weight is not None:
        scale = sample_weight * (y.shape[0] / xp.sum(sample_weight))
        delta_out = delta_out * xp.reshape(scale, (-1, 1))
    delta = backward(xp, W, f, trace, delta_out)
    gradients(xp, W, trace, delta, lam, dW, db)
    return data_term(xp, cost, trace, y, sample_weight), weight_decay(xp, W, lam), trace.output


# --- the numpy fast path ---------------------------------------------------------------------


class Workspace:
    """Arrays that :func:`cost_and_grad_numpy` reuses from one batch to the next.

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


def cost_and_grad_numpy(
    W: Sequence[np.ndarray],
    b: Sequence[np.ndarray],
    f: Sequence[Activation],
    cost: Cost,
    lam: float,
    x: np.ndarray,
    y: np.ndarray,
    dW: Sequence[np.ndarray],
    db: Sequence[np.ndarray],
    sample_weight: np.ndarray | None = None,
    work: Workspace | None = None,
) -> tuple[Any, Any, np.ndarray]:
    """:func:`cost_and_grad` for numpy arrays: the same equations, fewer passes.

    Each line below is an equation of :func:`forward`, :func:`backward` or
    :func:`gradients`, written into ``work``'s arrays or the gradient's views
    with ``out=``. The forward pass makes the same operations as :func:`forward`
    and the loss is summed as :func:`data_term` sums it, so J has the same bits as
    on the generic path; the backward pass uses ``np.dot`` (the same BLAS products
    as ``@``, with less overhead per call on small arrays) and two rewrites that
    keep the numbers, up to rounding, while saving passes:

    - δ⁽ⁿˡ⁾ is multiplied by 1/m once (by wᵢ / Σᵢ wᵢ with example weights), and
      the δ recursion, linear in δ, carries the factor down, so
      ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾ + λ W⁽ˡ⁾ and ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾ need no division;
    - a hidden activation with numpy kernels (``f_into``, ``mul_fprime``) is
      applied in place over z, and δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁾) ⊙ f′ takes f′ from a.

    ``work`` is made for this call when missing or too small. Returns what
    :func:`cost_and_grad` returns; the output array is new, not ``work``'s.
    """
    m, L = x.shape[0], len(W)
    if work is None or not work.fits(m, x.dtype):
        work = Workspace([x.shape[1], *(w.shape[0] for w in W)], m, x.dtype)
    a: list[np.ndarray] = [x]  # a[k]: layer k + 1
    z_kept: list[np.ndarray | None] = [None] * (L + 1)  # z, where f′ needs it
    for k in range(L - 1):
        z = np.matmul(a[k], W[k].T, out=work.z[k + 1][:m])  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ a⁽ˡ⁾ …
        np.add(z, b[k], out=z)  # … + b⁽ˡ⁾
        act = f[k]
        if act.f_into is not None and act.mul_fprime is not None:
            act.f_into(z, z)  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), over z
            a.append(z)
        else:
            z_kept[k + 1] = z
            a.append(act.f(np, z))
    z_out = np.matmul(a[L - 1], W[L - 1].T, out=work.z[L][:m])
    np.add(z_out, b[L - 1], out=z_out)  # z⁽ⁿˡ⁾
    delta = work.delta[L][:m]  # receives δ⁽ⁿˡ⁾ / m
    if sample_weight is None:
        out, loss_sum, delta_out = cost.output_terms(np, f[-1], z_out, y)
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
        np.dot(delta.T, a[k], out=dW[k])
        if lam:
            dW[k] += lam * W[k]
        np.dot(work.ones[:m], delta, out=db[k])
        if k == 0:
            break
        back = np.dot(delta, W[k], out=work.delta[k][:m])  # Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾
        mul_fprime, z_k = f[k - 1].mul_fprime, z_kept[k]
        if z_k is None and mul_fprime is not None:
            mul_fprime(back, a[k])  # ⊙ f′(z⁽ˡ⁾), from a⁽ˡ⁾
        else:
            back *= f[k - 1].fprime(np, z_k, a[k])  # ⊙ f′(z⁽ˡ⁾)
        delta = back
    decay = weight_decay(np, W, lam) if lam else W[0].dtype.type(0.0)
    return data, decay, out
