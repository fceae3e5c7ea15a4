"""The worked example's numbers, computed by the very functions training calls.

``compute`` runs ``backprop.forward``, ``backprop.output_delta`` and
``backprop.backward`` for the trace and the error terms, ``Network.evaluate``
(the trainer's call into ``backprop.cost_and_grad``) for J and ∇J, the
gradient-descent optimizer's ``update`` for the step, and ``deltaprop.gradcheck``
for every finite difference (at ε and ε/2, see :data:`EPSILON`). Nothing is
recomputed by hand.

Every number an equation shows carries a key naming it (``Num.of``), in the
seed's 1-based numbering; per-example quantities are those of example 1:

    x[j], y[i]             input and target
    W[l][i,j], b[l][i]     parameters before the step
    z[l][i], a[l][i]       weighted input and activation of unit i of layer l
    fp[l][i]               f′(z_i⁽ˡ⁾)
    δ[l][i]                the error term δ_i⁽ˡ⁾
    path[l][j,i]           W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾, one path back from unit j of layer l+1
    back[l][i]             Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾
    loss[k]                J(W,b; x⁽ᵏ⁾,y⁽ᵏ⁾), the data term of example k
    sumloss                Σ_k loss[k]
    J_data, J_decay, J     (1/m) Σ_k loss[k], (λ/2) Σ W², and their sum
    sumsq                  Σ_l Σ_i Σ_j (W_ij⁽ˡ⁾)²
    Σaδ[l][i,j], Σδ[l][i]  Σ_k a_j⁽ˡ⁾ δ_i⁽ˡ⁺¹⁾ and Σ_k δ_i⁽ˡ⁺¹⁾ over the m examples
    dW[l][i,j], db[l][i]   ∂J/∂W_ij⁽ˡ⁾ and ∂J/∂b_i⁽ˡ⁾
    W_new[l][i,j], b_new[l][i], J_new   after one step of gradient descent
    λ, α, m                weight decay, learning rate, number of examples
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backprop, gradcheck
from ..network import Network
from ..optim.gd import GradientDescent

EPSILON = 1e-3
"""ε of the finite differences: central differences at ε and ε/2, extrapolated.

Each entry gets its own verdict, so the finite difference must be accurate for
small entries too. A central difference ĝ(ε) errs by c ε² + rounding; the
Richardson combination (4 ĝ(ε/2) − ĝ(ε)) / 3 cancels the ε² term, leaving
O(ε⁴) + rounding/ε, about 1e−13 here, where a plain central difference at
UFLDL's ε = 1e−4 errs by up to ~1e−8, too much for a 1e−7 test on an entry of 1e−4.
"""


def richardson(coarse: np.ndarray, fine: np.ndarray) -> np.ndarray:
    """(4 ĝ(ε/2) − ĝ(ε)) / 3 from the central differences ĝ(ε) = coarse and ĝ(ε/2) = fine."""
    return (4.0 * fine - coarse) / 3.0


@dataclass(frozen=True)
class WorkedNumbers:
    """Everything the worked example shows, as float64 numpy arrays.

    Lists are indexed like ``backprop``'s: ``z[k]``, ``a[k]``, ``fp[k]``,
    ``delta[k]`` belong to layer l = k + 1 (None where undefined); ``W[k]``,
    ``b[k]``, ``weight_grads[k]``, ``bias_grads[k]`` are W⁽ᵏ⁺¹⁾, b⁽ᵏ⁺¹⁾,
    ∂J/∂W⁽ᵏ⁺¹⁾ and ∂J/∂b⁽ᵏ⁺¹⁾; ``back[k]`` is δ⁽ᵏ⁺²⁾ @ W⁽ᵏ⁺¹⁾, the sums
    Σ_j W_ji δ_j of layer k+1 (hidden layers only).
    """

    net: Network
    x: np.ndarray
    y: np.ndarray
    W: tuple[np.ndarray, ...]
    b: tuple[np.ndarray, ...]
    z: tuple[np.ndarray | None, ...]
    a: tuple[np.ndarray, ...]
    fp: tuple[np.ndarray | None, ...]
    delta: tuple[np.ndarray | None, ...]
    back: tuple[np.ndarray | None, ...]
    losses: np.ndarray
    data: float
    decay: float
    grad: np.ndarray
    weight_grads: tuple[np.ndarray, ...]
    bias_grads: tuple[np.ndarray, ...]
    grad_numeric: np.ndarray
    delta_numeric: tuple[np.ndarray | None, ...]
    learning_rate: float
    new_params: np.ndarray
    new_data: float
    new_decay: float

    @property
    def J(self) -> float:
        """J(W,b) = data term + weight decay, exactly as ``Network.cost_and_grad`` adds them."""
        return self.data + self.decay

    @property
    def new_J(self) -> float:
        """J after one step of gradient descent."""
        return self.new_data + self.new_decay

    @property
    def m(self) -> int:
        """The number of examples."""
        return int(self.x.shape[0])

    @property
    def L(self) -> int:
        """n_l − 1: the number of weight matrices."""
        return len(self.W)

    def at(self, name: str, k: int) -> np.ndarray:
        """``z``, ``fp``, ``delta``, ``back`` or ``delta_numeric`` at list index k (not None)."""
        value = getattr(self, name)[k]
        if value is None:
            raise KeyError(f"{name}[{k}] is not defined")
        return np.asarray(value)

    def numeric_grad(self, name: str, index: tuple[int, ...]) -> float:
        """The finite-difference ∂J/∂θ_p for entry ``index`` (0-based) of "W1", "b2", …."""
        start, shape = self._span(name)
        return float(self.grad_numeric[start + int(np.ravel_multi_index(index, shape))])

    def _span(self, name: str) -> tuple[int, tuple[int, ...]]:
        for span_name, start, _, shape in self.net.layout.spans():
            if span_name == name:
                return start, shape
        raise KeyError(name)


def compute(net: Network, x: np.ndarray, y: np.ndarray, *, learning_rate: float) -> WorkedNumbers:
    """Run the forward pass, backpropagation, the gradient check and one update.

    Over 60 lines because it is one pass in the order training computes: the
    trace and the error terms, J and ∇J, the finite differences, the step, then
    one record of it all; each part is a call into the library, not arithmetic.

    Args:
      net: a numpy float64 network; it is not changed.
      x, y: the examples, shapes (m, s_1) and (m, s_{n_l}).
      learning_rate: α of the one gradient-descent step.
    """
    xp = net.xp
    xa, ya = net.check_data(x, y)
    f = net.activations
    W = tuple(np.array(w, copy=True) for w in net.W)
    b = tuple(np.array(v, copy=True) for v in net.b)

    # The trace and the error terms: the calls backprop.cost_and_grad makes.
    trace = backprop.forward(xp, W, b, f, xa)
    delta = backprop.backward(
        xp, W, f, trace, backprop.output_delta(xp, net.cost, f[-1], trace, ya)
    )
    L = len(W)
    fp: list[np.ndarray | None] = [None]
    for k in range(1, L + 1):
        fp.append(f[k - 1].fprime(xp, trace.z[k], trace.a[k]))
    back: list[np.ndarray | None] = [None] * (L + 1)
    for k in range(1, L):
        back[k] = delta[k + 1] @ W[k]  # the same product backprop.backward forms
    losses = np.asarray(net.cost.loss_rows(xp, trace.z[-1], trace.a[-1], ya), dtype=np.float64)

    # J and ∇J exactly as the training loop gets them.
    theta = np.array(net.params, copy=True)
    grad = np.empty_like(theta)
    data, decay, _ = net.evaluate(xa, ya, theta, grad)
    dW, db = net.layout.unpack(xp, grad)

    # Finite differences, by deltaprop.gradcheck, at ε and ε/2 (all coordinates, θ's order).
    coarse = gradcheck.check_gradient(net, xa, ya, epsilon=EPSILON)
    fine = gradcheck.check_gradient(net, xa, ya, epsilon=EPSILON / 2)
    grad_numeric = np.empty(net.n_params)
    grad_numeric[coarse.indices] = richardson(coarse.numeric, fine.numeric)
    delta_numeric: list[np.ndarray | None] = [None]
    for c, f_ in zip(
        gradcheck.check_deltas(net, xa, ya, epsilon=EPSILON),
        gradcheck.check_deltas(net, xa, ya, epsilon=EPSILON / 2),
        strict=True,
    ):
        delta_numeric.append(richardson(c.measured, f_.measured))

    # One step of the seed's W := W − α ∂J/∂W, b := b − α ∂J/∂b, by the trainer's optimizer.
    new = np.array(theta, copy=True)
    GradientDescent().update(xp, new, grad, {}, learning_rate)
    new_grad = np.empty_like(new)
    new_data, new_decay, _ = net.evaluate(xa, ya, new, new_grad)

    return WorkedNumbers(
        net=net,
        x=np.asarray(xa),
        y=np.asarray(ya),
        W=W,
        b=b,
        z=tuple(trace.z),
        a=tuple(trace.a),
        fp=tuple(fp),
        delta=tuple(delta),
        back=tuple(back),
        losses=losses,
        data=float(data),
        decay=float(decay),
        grad=grad,
        weight_grads=tuple(dW),
        bias_grads=tuple(db),
        grad_numeric=grad_numeric,
        delta_numeric=tuple(delta_numeric),
        learning_rate=float(learning_rate),
        new_params=new,
        new_data=float(new_data),
        new_decay=float(new_decay),
    )
