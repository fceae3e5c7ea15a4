"""Gradient descent, full-batch ("gd") or on mini-batches ("sgd")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._arrays import Array, Namespace

NAMES = ("gd", "sgd")


@dataclass(frozen=True)
class GradientDescent:
    """θ := θ − α ∇J(θ)

    The seed's update: θ is the flat parameter vector, ∇J the gradient that
    ``update`` receives and α the learning rate ``lr``. Whether ∇J comes from
    the whole training set ("gd") or from a mini-batch ("sgd") is the training
    loop's choice; ``name`` only records it. There is no state.

    Args:
      name: "gd" (full batch, the default) or "sgd" (mini-batches).

    >>> import numpy as np
    >>> theta = np.array([1.0, 2.0]); opt = GradientDescent()
    >>> opt.update(np, theta, np.array([10.0, -10.0]), opt.init(np, theta), lr=0.1)
    >>> theta
    array([0., 3.])

    References: Ng et al., UFLDL Tutorial, "Backpropagation Algorithm".
    """

    name: str = "gd"

    def __post_init__(self) -> None:
        if self.name not in NAMES:
            raise ValueError(f"name must be one of {', '.join(NAMES)}, got {self.name!r}")

    def init(self, xp: Namespace, theta: Array) -> dict[str, Any]:
        """No state: {}."""
        return {}

    def update(
        self, xp: Namespace, theta: Array, grad: Array, state: dict[str, Any], lr: float
    ) -> None:
        """θ := θ − α ∇J, in place."""
        theta -= lr * grad

    def config(self) -> dict[str, Any]:
        """{"name": "gd"} or {"name": "sgd"}."""
        return {"name": self.name}
