"""Adam: steps scaled by running estimates of the gradient's first two moments."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._arrays import Array, Namespace
from .._validate import check_fraction, check_positive


@dataclass(frozen=True)
class Adam:
    """θ := θ − α m̂ / (√v̂ + ε),  m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)

    where, at step t = 1, 2, … with gradient g = ∇J(θ),

        m := β₁ m + (1 − β₁) g        (first moment: running mean of g)
        v := β₂ v + (1 − β₂) g²       (second moment: running mean of g², elementwise)

    m and v start at zero, so early on they are biased towards zero; dividing
    by 1 − βᵗ corrects that (m̂, v̂). α is the learning rate ``lr``; the state
    holds ``"m"``, ``"v"`` (shaped like θ) and the step count ``"t"``.

    Args:
      beta1: β₁, decay rate of the first moment, in [0, 1).
      beta2: β₂, decay rate of the second moment, in [0, 1).
      eps: ε > 0, added to √v̂ so that no step divides by zero.

    >>> import numpy as np
    >>> theta = np.array([1.0, -1.0]); opt = Adam()
    >>> opt.update(np, theta, np.array([0.5, -2.0]), opt.init(np, theta), lr=0.1)
    >>> theta.round(6)   # first step: m̂ = g, v̂ = g², so each θ_i moves α·sign(g_i)
    array([ 0.9, -0.9])

    References: Kingma & Ba 2014, "Adam: A Method for Stochastic Optimization",
    Algorithm 1.
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    name = "adam"

    def __post_init__(self) -> None:
        object.__setattr__(self, "beta1", check_fraction("beta1", self.beta1))
        object.__setattr__(self, "beta2", check_fraction("beta2", self.beta2))
        object.__setattr__(self, "eps", check_positive("eps", self.eps))

    def init(self, xp: Namespace, theta: Array) -> dict[str, Any]:
        """{"m": zeros like θ, "v": zeros like θ, "t": 0}."""
        return {"m": xp.zeros_like(theta), "v": xp.zeros_like(theta), "t": 0}

    def update(
        self, xp: Namespace, theta: Array, grad: Array, state: dict[str, Any], lr: float
    ) -> None:
        """One step t := t + 1; θ, m, v changed in place."""
        b1, b2, eps = self.beta1, self.beta2, self.eps
        m, v = state["m"], state["v"]
        t = state["t"] = state["t"] + 1
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t  # bias corrections 1 − β₁ᵗ, 1 − β₂ᵗ
        m *= b1
        m += (1.0 - b1) * grad  # first moment: m := β₁ m + (1 − β₁) g
        v *= b2
        v += (1.0 - b2) * (grad * grad)  # second moment: v := β₂ v + (1 − β₂) g²
        theta -= (lr / c1) * m / (xp.sqrt(v) / math.sqrt(c2) + eps)  # α m̂ / (√v̂ + ε)

    def config(self) -> dict[str, Any]:
        """{"name": "adam", "beta1": β₁, "beta2": β₂, "eps": ε}."""
        return {"name": self.name, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}
