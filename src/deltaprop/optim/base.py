"""The contract every step-based optimizer follows.

An optimizer is a small frozen object of hyper-parameters with two pure-ish
functions, as in JAX's ``example_libraries/optimizers.py``:

    state = opt.init(xp, θ)                  # arrays shaped like θ, plus step counts
    opt.update(xp, θ, ∇J, state, α)          # θ and state changed in place

θ is the network's flat parameter vector (``Network.params``) and ∇J the flat
gradient with the same layout. Updating θ in place keeps the W⁽ˡ⁾, b⁽ˡ⁾ views
into it valid. The optimizer holds no state of its own, so one instance can
drive any number of networks, and ``config()`` is all a model file needs to
rebuild it (``get_optimizer(**config)``).

Batching is not the optimizer's business: "sgd" is gradient descent fed
mini-batch gradients by the training loop.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .._arrays import Array, Namespace


@runtime_checkable
class Optimizer(Protocol):
    """A step-based optimizer: θ := θ + Δθ(∇J, state, α), one call per step."""

    @property
    def name(self) -> str:
        """ "gd", "sgd", "momentum", "nesterov" or "adam"."""
        ...

    def init(self, xp: Namespace, theta: Array) -> dict[str, Any]:
        """The state before the first step: arrays shaped like θ (same dtype and
        device, zeros) and counters such as ``"t": 0``."""
        ...

    def update(
        self, xp: Namespace, theta: Array, grad: Array, state: dict[str, Any], lr: float
    ) -> None:
        """One step with learning rate α = ``lr``: changes ``theta`` and ``state`` in place."""
        ...

    def config(self) -> dict[str, Any]:
        """The hyper-parameters as JSON-able data, ``name`` included."""
        ...
