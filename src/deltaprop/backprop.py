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

Dropout (Srivastava et al. 2014, inverted form) multiplies a hidden layer's
output by a mask r⁽ˡ⁾ whose entries are 0 (the unit dropped, with probability
p_l) or 1/(1 − p_l), drawn by the caller; with ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾ in place of
a⁽ˡ⁾ in the next layer's z, the chain rule gives

    z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ ã⁽ˡ⁾ + b⁽ˡ⁾,   δ⁽ˡ⁾ = (W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ r⁽ˡ⁾ ⊙ f′(z⁽ˡ⁾),
    ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ ã⁽ˡ⁾ᵀ + λ W⁽ˡ⁾.

``masks[k]`` is r of layer k + 1 (None: no dropout there); without masks every
function computes the equations above. The input x may be a scipy.sparse CSR
matrix (``deltaprop._sparse``): ``@`` then makes the first layer's products
sparse × dense, and nothing else changes.

Every function takes the array namespace ``xp`` first and works on plain
arrays; none prints, reads files or keeps state. ``Network`` holds the
parameters and calls these; so do training and ``explain``.

These functions are the equations as written, for any array namespace, and
they are the definition: the numpy engine (``deltaprop.compiled``) computes the
same equations in compiled loops and BLAS products, and the tests hold it equal
to these lines.

References: Ng et al., UFLDL Tutorial, "Backpropagation Algorithm"; Srivastava
et al. 2014, "Dropout: a simple way to prevent neural networks from overfitting".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._arrays import Array, Namespace
from .activations import Activation
from .costs import Cost


@dataclass(frozen=True)
class Trace:
    """Every weighted input z and activation a of a forward pass.

    ``z[k]`` and ``a[k]`` belong to layer l = k + 1; ``z[0]`` is None and
    ``a[0]`` is the input x. Each array has shape (m, s_l). ``masks`` are the
    dropout masks r of the pass (``masks[k]`` for layer k + 1, or None).
    """

    z: list[Array]
    a: list[Array]
    masks: Sequence[Array | None] | None = None

    def input(self, k: int) -> Array:
        """ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾ for l = k + 1: what W[k] multiplies (a[k] itself without a mask)."""
        r = None if self.masks is None else self.masks[k]
        return self.a[k] if r is None else self.a[k] * r

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
    masks: Sequence[Array | None] | None = None,
) -> tuple[list[Array], list[Array]]:
    """Continue a forward pass from a[start] = ``a`` to the output layer.

    Returns the lists (z[start+1], …, z[n_l−1]) and (a[start+1], …, a[n_l−1]).
    """
    zs, acts = [], []
    for k in range(start, len(W)):
        if masks is not None and masks[k] is not None:
            a = a * masks[k]  # ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾ (dropout)
        z = a @ W[k].T + b[k]  # z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ a⁽ˡ⁾ + b⁽ˡ⁾, one row per example
        a = f[k].f(xp, z)  # a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾)
        zs.append(z)
        acts.append(a)
    return zs, acts


def forward(
    xp: Namespace,
    W: Sequence[Array],
    b: Sequence[Array],
    f: Sequence[Activation],
    x: Array,
    masks: Sequence[Array | None] | None = None,
) -> Trace:
    """Forward propagation: a⁽¹⁾ = x, z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾).

    Args:
      W, b: W[k] of shape (s_{k+2}, s_{k+1}) and b[k] of shape (s_{k+2},).
      f: f[k], the activation of layer k+2.
      x: the inputs, shape (m, s_1).
      masks: dropout masks, ``masks[k]`` (m, s_{k+1}) multiplying a[k] where
        W[k] takes it (None, or a None entry: none there).
    """
    zs, acts = propagate(xp, W, b, f, x, 0, masks)
    return Trace(z=[None, *zs], a=[x, *acts], masks=masks)


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
    Σ_j δ_j W_ji is the product δ⁽ˡ⁺¹⁾ @ W⁽ˡ⁾. Where the trace has a dropout
    mask r⁽ˡ⁾, δ⁽ˡ⁾ = (Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾) r_i⁽ˡ⁾ f′(z_i⁽ˡ⁾).

    Returns delta with delta[k] the δ of layer k+1 (delta[0], the input's, is None).
    """
    L = len(W)
    delta: list[Array] = [None] * (L + 1)
    delta[L] = delta_out
    masks = trace.masks
    for k in range(L - 1, 0, -1):
        back = delta[k + 1] @ W[k]  # Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾ for every unit i of layer l
        if masks is not None and masks[k] is not None:
            back = back * masks[k]  # ⊙ r⁽ˡ⁾ (dropout)
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
    averaged, plus λ W_ij⁽ˡ⁾; ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾. With dropout, a⁽ˡ⁾ is
    the masked ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾ that z⁽ˡ⁺¹⁾ was computed from.
    """
    m = trace.a[0].shape[0]
    for k in range(len(W)):
        dk = delta[k + 1]
        dW[k][...] = (dk.T @ trace.input(k)) / m + lam * W[k]
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
    masks: Sequence[Array | None] | None = None,
) -> tuple[Array, Array, Array]:
    """J(W,b) and its gradient for the batch (x, y), by one forward and one backward pass.

    The gradient is written into ``dW``, ``db``. Returns the two parts of J as 0-d
    arrays, the data term (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) and the weight decay
    (λ/2) Σ W² (J is their sum), and the output h_{W,b}(x) of the forward pass.

    With example weights wᵢ (shape (m,)) the data term is the weighted average;
    its gradient follows by scaling each example's δ⁽ⁿˡ⁾ by m wᵢ / Σᵢ wᵢ, which the
    δ recursion, being linear in δ, carries to every layer. ``masks`` are dropout
    masks (see :func:`forward`): J and ∇J of the thinned network they leave.

    This is the definition; ``deltaprop.compiled`` computes the same for numpy
    arrays in compiled code, and the tests hold the two equal.
    """
    trace = forward(xp, W, b, f, x, masks)
    delta_out = output_delta(xp, cost, f[-1], trace, y)
    if sample_weight is not None:
        scale = sample_weight * (y.shape[0] / xp.sum(sample_weight))
        delta_out = delta_out * xp.reshape(scale, (-1, 1))
    delta = backward(xp, W, f, trace, delta_out)
    gradients(xp, W, trace, delta, lam, dW, db)
    return data_term(xp, cost, trace, y, sample_weight), weight_decay(xp, W, lam), trace.output
