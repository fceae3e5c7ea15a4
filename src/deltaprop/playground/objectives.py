"""J with TensorFlow Playground's L1 term: the seed's J(W,b) + λ₁ Σ_l Σ_i Σ_j |W_ij⁽ˡ⁾|.

The seed's J (data term and (λ/2) Σ W²) is :class:`~deltaprop.objective.NetworkObjective`'s,
unchanged; this objective adds λ₁ Σ|W| and its subgradient λ₁ sign(W) to the weights'
part of ∇J (biases are not penalised, as with weight decay). It speaks the objective
contract, so ``loop.Trainer`` trains it like any other.
"""

from __future__ import annotations

import numpy as np

from .._arrays import Array
from ..objective import Batch, NetworkObjective, Terms


class WithL1(NetworkObjective):
    """J(W,b) + λ₁ Σ|W|: the parts are ("data", "decay", "l1").

    Args:
      net: the network (λ is its ``weight_decay``).
      l1: λ₁ ≥ 0.

    >>> from deltaprop import Network
    >>> net = Network([2, 2, 1], seed=0)
    >>> obj = WithL1(net, 0.5)
    >>> t = obj.value(net.params, Batch(np.ones((3, 2)), np.zeros((3, 1))))
    >>> bool(np.isclose(t.parts[2], 0.5 * sum(float(np.abs(w).sum()) for w in net.W)))
    True
    """

    part_names: tuple[str, ...] = ("data", "decay", "l1")
    separable = False

    def __init__(self, net: object, l1: float) -> None:
        super().__init__(net, engine="reference")  # type: ignore[arg-type]
        self.l1 = float(l1)

    def penalty(self, theta: Array) -> float:
        """λ₁ Σ|W| at θ (weights only)."""
        return self.l1 * float(np.abs(theta[: self.net.layout.n_weights]).sum())

    def evaluate(self, theta: Array, batch: Batch, grad: Array) -> Terms:
        """J's three parts at θ; ∇J + λ₁ sign(W) into ``grad``."""
        terms = super().evaluate(theta, batch, grad)
        n_w = self.net.layout.n_weights
        grad[:n_w] += self.l1 * np.sign(theta[:n_w])
        return Terms((*terms.parts, self.penalty(theta)), terms.output)

    def value(self, theta: Array, batch: Batch) -> Terms:
        """J's three parts at θ, without the gradient."""
        terms = super().value(theta, batch)
        return Terms((*terms.parts, self.penalty(theta)), terms.output)
