"""The objective: θ ↦ J(θ)'s parts and ∇J(θ) over a batch. Everything that trains speaks it.

An objective is what an optimizer minimises. It owns a flat parameter vector θ
(``params``, a network's own, changed in place by training) and, for a batch of
examples (x⁽ⁱ⁾, y⁽ⁱ⁾) with optional weights wᵢ, gives J's parts and the gradient:

    J(θ) = data(θ) + Σ_k penalty_k(θ),    data(θ) = Σᵢ wᵢ J(θ; x⁽ⁱ⁾,y⁽ⁱ⁾) / Σᵢ wᵢ

(wᵢ = 1 without weights: the seed's average (1/m) Σᵢ). An objective provides

- ``params``, ``n_params``, ``xp``, ``from_host(array)``: θ, its length, its array
  namespace, and a float64 numpy vector turned into an array like θ;
- ``part_names``: the names of J's parts, the data term first, e.g. ("data", "decay");
- ``evaluate(theta, batch, grad) -> Terms``: J's parts at ``theta`` over ``batch``,
  ∇J written into ``grad`` (an array like θ), and the batch's outputs;
- ``value(theta, batch) -> Terms``: the same without the gradient (validation);
- ``accuracy(output, y) -> float``: the fraction classified right, NaN when the
  objective does not classify;
- ``float64()`` (for gradient checks): the same objective over a float64 copy
  of the network, computed by the reference engine;
- ``engine``: "numpy" when the numpy engine computes it (the loop then gathers,
  updates and counts with the same engine), else "reference";
- optionally ``new_history()``: a ``History`` (subclass) with a column
  ``train_<part>`` for each part beyond data and decay, and one for each key of
  ``Terms.extra``;
- ``separable``: True when the data term is the weighted average above and the
  penalties do not depend on the examples. Then it also provides
  ``evaluate_data(theta, batch, grad) -> (data, output)`` (∇ of the data term
  alone) and ``add_penalty(theta, grad) -> tuple of penalties`` (adds their
  gradient), so that ``deltaprop.distributed.DataParallel`` can sum the data
  terms of many processes' shards and add the penalties once.

:class:`NetworkObjective` is the seed's: J(W,b) = (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) +
(λ/2) Σ W², from ``backprop``. The sparse autoencoder's J + β Σ_j KL(ρ‖ρ̂_j)
(``deltaprop.autoencoder.SparseObjective``) and scikit-learn's per-batch
penalty (``deltaprop.sklearn``) are others.
"""

from __future__ import annotations

import math
import os
from typing import Any, NamedTuple, Protocol

import numpy as np

from . import backprop, compiled
from ._arrays import Array, Namespace, to_numpy
from ._sparse import is_sparse, take_rows
from ._validate import check_choice
from .network import Network

ENGINES = ("auto", "reference", "numpy")
"""How a network's J and ∇J are computed: "reference" runs ``backprop``'s readable
functions, "numpy" the numpy engine (``deltaprop.compiled``), "auto" the numpy
engine for numpy arrays and the reference for every other namespace. The
environment variable ``DELTAPROP_ENGINE=reference`` makes "auto" mean "reference"."""


class Batch(NamedTuple):
    """Examples: inputs x (m, s₁), targets y (m, s_{n_l}), weights w (m,) or None.

    ``masks`` are dropout masks drawn for these examples (``masks[k]`` of shape
    (m, s_{k+1}) for layer k + 1, None where a layer has none; see ``backprop``):
    an objective that ``supports_dropout`` evaluates the thinned network they
    leave, so that a batch with its masks is a fixed, checkable function of θ.
    x may be a scipy.sparse CSR matrix (numpy namespace).
    """

    x: Array
    y: Array
    w: Array | None = None
    masks: tuple[Array | None, ...] | None = None

    @property
    def m(self) -> int:
        """The number of examples."""
        return int(self.x.shape[0])

    def weight(self, xp: Namespace) -> float:
        """Σᵢ wᵢ, or m without weights."""
        return float(self.m) if self.w is None else float(xp.sum(self.w))

    def take(self, xp: Namespace, idx: Array) -> Batch:
        """The rows ``idx`` (of the masks too); sparse rows of a sparse x."""
        w = None if self.w is None else xp.take(self.w, idx, axis=0)
        x = take_rows(self.x, idx) if is_sparse(self.x) else xp.take(self.x, idx, axis=0)
        masks = self.masks
        if masks is not None:
            masks = tuple(None if r is None else xp.take(r, idx, axis=0) for r in masks)
        return Batch(x, xp.take(self.y, idx, axis=0), w, masks)


class Terms(NamedTuple):
    """J's parts at θ over a batch (floats, named by the objective's ``part_names``)
    and the batch's outputs; ``extra`` holds figures an objective reports beside them."""

    parts: tuple[float, ...]
    output: Array
    extra: dict[str, float] | None = None

    @property
    def total(self) -> float:
        """J = the sum of the parts."""
        return sum(self.parts)


class Objective(Protocol):
    """What training minimises; see the module docstring for the contract."""

    xp: Namespace
    part_names: tuple[str, ...]
    separable: bool

    @property
    def params(self) -> Array: ...

    @property
    def n_params(self) -> int: ...

    def from_host(self, host: np.ndarray) -> Array: ...

    def evaluate(self, theta: Array, batch: Batch, grad: Array) -> Terms: ...

    def value(self, theta: Array, batch: Batch) -> Terms: ...

    def accuracy(self, output: Array, y: Array) -> float: ...


def float64_copy(net: Network) -> Network:
    """The same network computing in float64 (a copy; ``net`` is untouched)."""
    twin = net.copy()
    twin.dtype = "float64"
    twin._theta = twin.from_host(to_numpy(net.params).astype(np.float64))
    twin.W, twin.b = twin.layout.unpack(twin.xp, twin._theta)
    return twin


def accuracy(xp: Any, cost_name: str, out: Array, y: Array) -> float:
    """Fraction classified right: argmax for softmax outputs, 0.5 threshold for sigmoid ones.

    NaN for costs that are not classification costs.
    """
    if cost_name == "cross_entropy":
        return float(xp.mean(xp.astype(xp.argmax(out, axis=1) == xp.argmax(y, axis=1), out.dtype)))
    if cost_name == "binary_cross_entropy":
        return float(xp.mean(xp.astype((out > 0.5) == (y > 0.5), out.dtype)))
    return math.nan


def accuracy_count(xp: Any, cost_name: str, out: Array, y: Array) -> Array | None:
    """The number of rows classified right, as :func:`accuracy` decides, as a 0-d array of
    ``xp`` (left where it was computed: no synchronisation); None for other costs."""
    if cost_name == "cross_entropy":
        return xp.sum(xp.astype(xp.argmax(out, axis=1) == xp.argmax(y, axis=1), out.dtype))
    if cost_name == "binary_cross_entropy":  # each row counts its fraction of outputs right
        return xp.sum(xp.astype((out > 0.5) == (y > 0.5), out.dtype)) / out.shape[1]
    return None


def own_method(objective: Any, name: str, of: str) -> Any:
    """``objective``'s method ``name`` where the class that defines its ``of`` defines it too.

    A subclass that changes ``evaluate`` but not ``evaluate_on_device`` would
    otherwise inherit a device evaluation of another J; then there is none (None).
    """
    for cls in type(objective).__mro__:
        if of in vars(cls):
            return getattr(objective, name) if name in vars(cls) else None
    return None


def uses_numpy_engine(xp: Namespace, engine: str) -> bool:
    """The one dispatch between the definition and the numpy engine.

    "auto" follows ``DELTAPROP_ENGINE`` ("auto", "reference" or "numpy") when it is set.
    """
    check_choice("engine", engine, ENGINES, "engine")
    if engine == "auto":
        engine = check_choice(
            "DELTAPROP_ENGINE", os.environ.get("DELTAPROP_ENGINE") or "auto", ENGINES, "engine"
        )
    if engine == "numpy" and xp is not np:
        raise ValueError(f"engine: 'numpy' computes with numpy arrays, the network uses {xp!r}")
    return xp is np and engine != "reference"


class OnNetwork:
    """What an objective over a network's θ shares: θ, its length, conversions, views.

    Args:
      net: the network whose ``params`` are θ.
    """

    def __init__(self, net: Network) -> None:
        self.net = net
        self.xp = net.xp

    @property
    def params(self) -> Array:
        """θ: the network's own flat parameter vector."""
        return self.net.params

    @property
    def n_params(self) -> int:
        """The length of θ."""
        return self.net.n_params

    def from_host(self, host: np.ndarray) -> Array:
        """A float64 numpy vector as an array like θ."""
        return self.net.from_host(host)

    def _views(self, theta: Array) -> tuple[list[Array], list[Array]]:
        """W and b: the network's own views for its θ, else views into ``theta``."""
        net = self.net
        return (net.W, net.b) if theta is net.params else net.unpack(theta)


class NetworkObjective(OnNetwork):
    """The seed's J(W,b) = (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) + (λ/2) Σ_l Σ_i Σ_j (W_ji⁽ˡ⁾)².

    Args:
      net: the network; θ is its ``params``, λ its ``weight_decay`` (read at every
        evaluation, so a caller may change it between runs).
      engine: "auto", "reference" or "numpy" (see :data:`ENGINES`).

    >>> import numpy as np
    >>> net = Network([2, 3, 1], weight_decay=0.1, seed=0)
    >>> obj = NetworkObjective(net)
    >>> grad = np.empty(net.n_params)
    >>> terms = obj.evaluate(net.params, Batch(np.ones((4, 2)), np.zeros((4, 1))), grad)
    >>> obj.part_names, len(terms.parts), terms.total == net.cost_and_grad(
    ...     np.ones((4, 2)), np.zeros((4, 1)))[0]
    (('data', 'decay'), 2, True)
    """

    part_names: tuple[str, ...] = ("data", "decay")
    separable = True
    supports_dropout = True  # a Batch's masks thin the network (both engines)

    def __init__(self, net: Network, engine: str = "auto") -> None:
        super().__init__(net)
        self.fast = uses_numpy_engine(net.xp, engine)
        self.engine = "numpy" if self.fast else "reference"
        # Softmax outputs are classified by argmax: the numpy engine counts them per epoch.
        self.argmax_accuracy = net.cost.name == "cross_entropy"
        self._f = net.activations
        # The compiled kernels, where they cover the network (else the readable functions).
        self._compiled = compiled.engine_for(net) if self.fast else None

    def evaluate(self, theta: Array, batch: Batch, grad: Array) -> Terms:
        """J's two parts (data term, weight decay) and ∇J into ``grad``."""
        data, decay, out = self._cost_and_grad(theta, batch, grad, self.net.weight_decay)
        return Terms((float(data), float(decay)), out)

    def evaluate_on_device(self, theta: Array, batch: Batch, grad: Array) -> Terms:
        """``evaluate`` with J's parts left as 0-d arrays where they were computed.

        On a device, ``float`` of a part waits for the device and copies it to the
        host: the loop sums these arrays over an epoch and converts them once.
        """
        data, decay, out = self._cost_and_grad(theta, batch, grad, self.net.weight_decay)
        return Terms((data, decay), out)

    def count_correct(self, output: Array, y: Array) -> Array | None:
        """The rows of ``output`` classified right (a 0-d array), None if not classifying."""
        return accuracy_count(self.xp, self.net.cost.name, output, y)

    def float64(self) -> NetworkObjective:
        """The same objective over a float64 copy of the network, by the reference engine."""
        return NetworkObjective(float64_copy(self.net), engine="reference")

    def evaluate_data(self, theta: Array, batch: Batch, grad: Array) -> tuple[float, Array]:
        """The data term and its gradient alone (λ = 0), for data-parallel sums."""
        data, _, out = self._cost_and_grad(theta, batch, grad, 0.0)
        return float(data), out

    def add_penalty(self, theta: Array, grad: Array) -> tuple[float]:
        """(λ/2) Σ W², its gradient λW added to the weights' part of ``grad``."""
        net, lam = self.net, self.net.weight_decay
        W, _ = self._views(theta)
        if lam:
            n_w = net.layout.n_weights
            grad[:n_w] += lam * theta[:n_w]  # ∂/∂W (λ/2) Σ W² = λW, weights only
        return (float(backprop.weight_decay(self.xp, W, lam)),)

    def value(self, theta: Array, batch: Batch) -> Terms:
        """J's parts without the gradient: one forward pass."""
        net, xp = self.net, self.xp
        W, b = self._views(theta)
        trace = backprop.forward(xp, W, b, net.activations, batch.x, batch.masks)
        data = backprop.data_term(xp, net.cost, trace, batch.y, batch.w)
        decay = backprop.weight_decay(xp, W, net.weight_decay)
        return Terms((float(data), float(decay)), trace.output)

    def accuracy(self, output: Array, y: Array) -> float:
        return accuracy(self.xp, self.net.cost.name, output, y)

    def _cost_and_grad(
        self, theta: Array, batch: Batch, grad: Array, lam: float
    ) -> tuple[Any, Any, Array]:
        net = self.net
        x, y, w, masks = batch
        engine = self._compiled
        if engine is None or not engine.covers(theta, grad, x):  # the definition itself
            W, b = self._views(theta)
            dW, db = net.unpack(grad)
            f, cost = self._f, net.cost
            return backprop.cost_and_grad(self.xp, W, b, f, cost, lam, x, y, dW, db, w, masks)
        return engine.cost_and_grad(theta, grad, lam, x, y, w, masks)

    def epoch_rule(self) -> tuple[compiled.Engine, float, float | None] | None:
        """(engine, λ, None) for the compiled whole-epoch call (``deltaprop.fused``).

        None where that call does not compute this objective's J: no compiled
        engine, or a subclass whose ``evaluate`` adds terms of its own.
        """
        if self._compiled is None or type(self).evaluate is not NetworkObjective.evaluate:
            return None
        return self._compiled, self.net.weight_decay, None


class AccuracyCount:
    """An epoch's count of examples classified right, batch by batch (any namespace).

    ``dp`` (a ``deltaprop.distributed.DataParallel`` or None) sums the counts over
    ranks. ``deltaprop.compiled.ArgmaxCount`` counts the same for the numpy engine.

    On a device (``on_device``) the count stays a 0-d array there until ``result``,
    where the objective can count (``count_correct``).
    """

    def __init__(self, objective: Objective, dp: Any = None, on_device: bool = False) -> None:
        self.objective, self.dp = objective, dp
        self.correct: Any = 0.0
        self.rows = 0.0
        self._count = own_method(objective, "count_correct", "accuracy") if on_device else None

    def add(self, output: Array, y: Array, first: int, n: int) -> None:
        """A batch's outputs and targets (its rows of the epoch's order: first … first + n)."""
        rows = output.shape[0]
        if rows and self._count is not None:
            right = self._count(output, y)
            self.correct = math.nan if right is None else self.correct + right
        elif rows:
            self.correct += self.objective.accuracy(output, y) * rows
        self.rows += float(rows)

    def add_epoch(self, outputs: Array, ran: Array, bs: int, y: Array, order: Array | None) -> None:
        """A whole epoch's outputs (the order's places): batch j counts where ``ran[j]`` ≠ 0."""
        m = outputs.shape[0]
        for j in np.flatnonzero(ran != 0):
            first = int(j) * bs
            idx = slice(first, min(m, first + bs))
            ys = y[idx] if order is None else self.objective.xp.take(y, order[idx], axis=0)
            self.add(outputs[idx], ys, first, ys.shape[0])

    def result(self, order: Array | None) -> float:
        """The fraction right among the epoch's examples that were run."""
        correct, rows = float(self.correct), self.rows
        if self.dp is not None:
            correct, rows = self.dp.sum([correct, rows])
        return correct / rows if rows else math.nan
