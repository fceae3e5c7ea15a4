"""Gradient descent with momentum, classical or Nesterov's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._arrays import Array, Namespace
from .._validate import check_fraction


@dataclass(frozen=True)
class Momentum:
    """v := μ v − α ∇J(θ);  θ := θ + v

    The velocity v (state ``"v"``, shaped like θ, zero at the start) is a
    running sum of past steps decaying by the factor μ = ``momentum`` per step;
    α is the learning rate ``lr``. With μ = 0 this is plain gradient descent.

    With ``nesterov=True`` (name "nesterov") the update is

        v := μ v − α ∇J(θ);  θ := θ + μ v − α ∇J(θ)

    which is Sutskever et al.'s Nesterov momentum, v := μ v − α ∇J(θ + μ v),
    rewritten in terms of the look-ahead point: the stored θ is always the
    point θ + μ v where the next gradient is taken, so ∇J is evaluated at the
    current parameters like every other optimizer here. The same formulation
    as scikit-learn's ``SGDOptimizer``.

    Args:
      momentum: μ, in [0, 1).
      nesterov: use Nesterov's look-ahead form.

    >>> import numpy as np
    >>> theta = np.array([1.0]); opt = Momentum(momentum=0.5)
    >>> state = opt.init(np, theta)
    >>> for _ in range(2):
    ...     opt.update(np, theta, np.array([1.0]), state, lr=0.1)
    >>> theta, state["v"]   # v = −0.1, then 0.5·(−0.1) − 0.1 = −0.15
    (array([0.75]), array([-0.15]))

    References: Polyak 1964, "Some methods of speeding up the convergence of
    iteration methods"; Sutskever, Martens, Dahl & Hinton 2013, "On the
    importance of initialization and momentum in deep learning", eqs. 1–4.
    """

    momentum: float = 0.9
    nesterov: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "momentum", check_fraction("momentum", self.momentum))
        if not isinstance(self.nesterov, bool):
            raise ValueError(f"nesterov must be True or False, got {self.nesterov!r}")

    @property
    def name(self) -> str:
        """ "nesterov" or "momentum"."""
        return "nesterov" if self.nesterov else "momentum"

    def init(self, xp: Namespace, theta: Array) -> dict[str, Any]:
        """{"v": zeros like θ}."""
        return {"v": xp.zeros_like(theta)}

    def update(
        self, xp: Namespace, theta: Array, grad: Array, state: dict[str, Any], lr: float
    ) -> None:
        """One step, θ and v changed in place; one temporary array of θ's size."""
        mu, v = self.momentum, state["v"]
        step = lr * grad  # α ∇J
        v *= mu
        v -= step  # v := μ v − α ∇J
        if not self.nesterov:
            theta += v  # θ := θ + v
            return
        theta -= step  # θ := θ − α ∇J + μ v
        theta += mu * v

    def config(self) -> dict[str, Any]:
        """{"name": "momentum" or "nesterov", "momentum": μ}."""
        return {"name": self.name, "momentum": self.momentum}
