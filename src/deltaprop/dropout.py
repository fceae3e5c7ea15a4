"""Dropout: the rates of the hidden layers, checked, and the masks a training step draws.

Inverted dropout (Srivastava et al. 2014): during training, each unit i of
hidden layer l is kept with probability 1 − p_l, and a kept unit's output is
scaled by 1/(1 − p_l), so that E[ã⁽ˡ⁾] = a⁽ˡ⁾ and nothing changes at prediction
time. A step's mask r⁽ˡ⁾ (entries 0 or 1/(1 − p_l)) is drawn per example and
unit; ``backprop`` says how it enters J and ∇J. The loop
(``deltaprop.loop``) draws one set per mini-batch from the run's seeded
Generator, after the epoch's shuffle, so that reruns and resumed runs draw
the same masks; validation, prediction, ``explain`` and gradient checks
evaluate the whole network (no masks) unless given a batch with masks.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._arrays import Array


def check_dropout(value: Any, n_hidden: int, argument: str = "dropout") -> tuple[float, ...] | None:
    """One rate p_l ∈ [0, 1) per hidden layer from ``value``, or None for no dropout.

    Args:
      value: None or 0 (none), one rate for every hidden layer, or a sequence
        of one rate per hidden layer.
      n_hidden: the network's number of hidden layers.
      argument: the argument's name, for the error message.
    """
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        rates = [value] * n_hidden
        if n_hidden == 0 and value != 0:
            raise ValueError(
                f"{argument}={value!r}: the network has no hidden layer to drop units from"
            )
    elif isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(
            f"{argument}: expected a rate in [0, 1) or one rate per hidden layer, got {value!r}"
        )
    else:
        rates = list(value)
        if len(rates) != n_hidden:
            raise ValueError(
                f"{argument}: {len(rates)} rate(s) for {n_hidden} hidden layer(s); give one "
                "rate per hidden layer, or a single rate for all of them"
            )
    checked = []
    for i, p in enumerate(rates):
        name = argument if isinstance(value, numbers.Real) else f"{argument}[{i}]"
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= float(p) < 1:
            raise ValueError(
                f"{name} must be a probability of dropping a unit, in [0, 1), got {p!r}"
            )
        checked.append(float(p))
    return tuple(checked) if any(checked) else None


class Masks:
    """Draws the dropout masks of a network's hidden layers for a batch.

    Args:
      rates: p_l of each hidden layer (layers 2 … n_l − 1), from :func:`check_dropout`.
      sizes: the layer sizes s_1 … s_{n_l}.
      dtype: the network's dtype, "float32" or "float64" (the uniforms are drawn in it).
      from_host: turns a numpy array into one of the network's namespace and device.
    """

    def __init__(
        self,
        rates: Sequence[float],
        sizes: Sequence[int],
        dtype: str,
        from_host: Callable[[np.ndarray], Array],
    ) -> None:
        if len(rates) != len(sizes) - 2:
            raise ValueError(f"dropout: {len(rates)} rates for {len(sizes) - 2} hidden layers")
        self.rates = tuple(rates)
        self.sizes = tuple(sizes)
        self.dtype = np.dtype(dtype)
        self.from_host = from_host

    def draw(self, rng: np.random.Generator, m: int, rows: Any = None) -> tuple[Array | None, ...]:
        """Masks for m examples: ``masks[k]`` (m, s_{k+1}) for hidden layer k + 1, else None.

        Each entry is 1/(1 − p) with probability 1 − p and 0 otherwise; the layers
        are drawn in order, input side first, each from ``rng.random``. ``rows``
        (a slice or a boolean selection) keeps those rows of each mask: one
        process's share of a batch drawn for all of them.
        """
        masks: list[Array | None] = [None]
        for p, s in zip(self.rates, self.sizes[1:-1], strict=True):
            if p == 0:
                masks.append(None)
                continue
            u = rng.random((m, s), dtype=self.dtype)
            r = np.greater_equal(u, p).astype(self.dtype)  # kept with probability 1 − p
            r *= self.dtype.type(1.0 / (1.0 - p))  # inverted dropout: scaled at training
            masks.append(self.from_host(r if rows is None else r[rows]))
        masks.append(None)  # the output layer is never dropped
        return tuple(masks)


def run_masks(cfg: Any, objective: Any, net: Any) -> Masks | None:
    """What draws a run's dropout masks (None without dropout), checked against the run.

    Args:
      cfg: the run's ``LoopConfig`` (``dropout``, ``opt``).
      objective: the run's objective; it must have ``supports_dropout``.
      net: the network (sizes, dtype, ``from_host``).
    """
    rates = cfg.dropout
    if rates is None:
        return None
    if cfg.opt is None:
        raise ValueError(
            "dropout: L-BFGS needs the same J at every evaluation, and dropout draws new "
            "masks each step; use a step-based optimizer (sgd, momentum, adam, …)"
        )
    if not getattr(objective, "supports_dropout", False):
        raise ValueError(
            f"dropout: the objective {type(objective).__name__} does not take dropout masks"
        )
    return Masks(rates, net.layer_sizes, net.dtype, net.from_host)


class FixedMasks:
    """An objective whose every batch is evaluated with the same dropout masks.

    J and ∇J of one thinned network are an ordinary function of θ: wrapped
    here, they can be checked by ``deltaprop.check_gradient`` like any other
    objective. Every batch must have the masks' rows.

    Args:
      objective: the objective, one that ``supports_dropout`` (a NetworkObjective).
      masks: ``masks[k]`` for layer k + 1, or None (as :meth:`Masks.draw` gives them).

    >>> import numpy as np, deltaprop as dp
    >>> from deltaprop.objective import NetworkObjective
    >>> net = dp.Network([3, 5, 2], seed=0)
    >>> masks = Masks([0.5], net.layer_sizes, "float64", net.from_host).draw(
    ...     np.random.default_rng(0), 4)
    >>> x, y = np.random.default_rng(1).normal(size=(4, 3)), np.full((4, 2), 0.5)
    >>> dp.check_gradient(FixedMasks(NetworkObjective(net), masks), x, y, epsilon=1e-5).ok
    True
    """

    def __init__(self, objective: Any, masks: Sequence[Array | None]) -> None:
        if not getattr(objective, "supports_dropout", False):
            raise ValueError(f"objective: {type(objective).__name__} does not take dropout masks")
        self.objective = objective
        self.masks = tuple(masks)
        self.net = objective.net
        self.xp = objective.xp
        self.part_names = objective.part_names
        self.separable = False

    @property
    def params(self) -> Array:
        """θ: the wrapped objective's."""
        return self.objective.params

    @property
    def n_params(self) -> int:
        """The length of θ."""
        return int(self.objective.n_params)

    def from_host(self, host: np.ndarray) -> Array:
        """A float64 numpy vector as an array like θ."""
        return self.objective.from_host(host)

    def evaluate(self, theta: Array, batch: Any, grad: Array) -> Any:
        """The wrapped objective's J's parts and ∇J, with these masks."""
        return self.objective.evaluate(theta, batch._replace(masks=self.masks), grad)

    def value(self, theta: Array, batch: Any) -> Any:
        """The wrapped objective's J's parts, with these masks."""
        return self.objective.value(theta, batch._replace(masks=self.masks))

    def accuracy(self, output: Array, y: Array) -> float:
        """The wrapped objective's accuracy."""
        return float(self.objective.accuracy(output, y))

    def float64(self) -> FixedMasks:
        """The same, in float64 by the reference engine (for gradient checks)."""
        twin = self.objective.float64()
        masks = [None if r is None else twin.net.from_host(np.asarray(r)) for r in self.masks]
        return FixedMasks(twin, masks)
