"""Optimizers for the flat parameter vector θ: one contract, one file each.

The step-based optimizers (gradient descent, momentum, Nesterov, Adam) follow
:class:`Optimizer`: ``state = opt.init(xp, θ)``, then ``opt.update(xp, θ, ∇J,
state, α)`` once per step, changing θ in place. L-BFGS is not step-based: it
chooses where to evaluate J and runs its own loop, so it is the function
:func:`minimize_lbfgs` instead.

>>> import numpy as np
>>> opt = get_optimizer("momentum", momentum=0.5)
>>> theta = np.zeros(3); state = opt.init(np, theta)
>>> opt.update(np, theta, np.ones(3), state, lr=0.1)
>>> theta
array([-0.1, -0.1, -0.1])
>>> get_optimizer(**opt.config()) == opt
True
"""

from __future__ import annotations

from .adam import Adam
from .base import Optimizer
from .gd import GradientDescent
from .lbfgs import LbfgsResult, minimize_lbfgs
from .momentum import Momentum
from .schedules import Constant, Cosine, InverseTime, Schedule, StepDecay

OPTIMIZERS = ("gd", "sgd", "momentum", "nesterov", "adam", "lbfgs")
"""Every optimizer's name; all but "lbfgs" are made by :func:`get_optimizer`."""


def get_optimizer(
    name: str,
    *,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> Optimizer:
    """The step-based optimizer called ``name``, with its hyper-parameters.

    Keywords that do not belong to the named optimizer are ignored, so
    ``get_optimizer(**opt.config())`` rebuilds ``opt``.

    Args:
      name: "gd", "sgd", "momentum", "nesterov" or "adam".
      momentum: μ of "momentum" and "nesterov".
      beta1, beta2, eps: β₁, β₂, ε of "adam".

    Raises:
      ValueError: for an unknown name, listing the valid ones, and for
        "lbfgs", which has no step-by-step form: use :func:`minimize_lbfgs`.
    """
    if name in ("gd", "sgd"):
        return GradientDescent(name=name)
    if name in ("momentum", "nesterov"):
        return Momentum(momentum=momentum, nesterov=name == "nesterov")
    if name == "adam":
        return Adam(beta1=beta1, beta2=beta2, eps=eps)
    if name == "lbfgs":
        raise ValueError(
            "optimizer 'lbfgs' is not step-based: it picks its own evaluation points "
            "and runs its own loop; call deltaprop.optim.minimize_lbfgs instead"
        )
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


__all__ = [
    "OPTIMIZERS",
    "Adam",
    "Constant",
    "Cosine",
    "GradientDescent",
    "InverseTime",
    "LbfgsResult",
    "Momentum",
    "Optimizer",
    "Schedule",
    "StepDecay",
    "get_optimizer",
    "minimize_lbfgs",
]
