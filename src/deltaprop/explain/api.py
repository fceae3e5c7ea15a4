"""``explain(...)``: the one call that builds an :class:`Explanation`.

Hyper-parameters live here, at the entry point; ``trace`` computes, ``worked``
and ``experiments`` make records, the renderers only format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import check_count, check_positive
from ..activations import Activation
from ..costs import Cost
from ..network import Network
from . import experiments as _experiments
from . import worked
from .explanation import Explanation
from .trace import EPSILON, compute

DEFAULT_LAYERS = (3, 3, 2)
MAX_PARAMS = 1000
"""Larger networks are refused: explain writes out every weight (use gradcheck for those)."""
MAX_EXAMPLES = 10_000


def explain(
    net: Network | None = None,
    x: Any = None,
    y: Any = None,
    *,
    layers: Sequence[int] = DEFAULT_LAYERS,
    activation: str | Activation | Sequence[str | Activation] = "sigmoid",
    output_activation: str | Activation | None = None,
    cost: str | Cost = "squared_error",
    weight_decay: float = 0.0,
    learning_rate: float = 0.5,
    seed: int = 0,
    m: int | None = None,
    unit: int | None = None,
    experiments: bool = True,
    threshold: float = 1e-7,
) -> Explanation:
    """Work backpropagation through with numbers, check each derivative, run the experiments.

    The worked example shows, in the seed's notation and then with its numbers,
    every z_i⁽ˡ⁾ and a_i⁽ˡ⁾, J(W,b) with its data term and weight decay, the output
    δ_i⁽ⁿˡ⁾, the hidden δ_i⁽ˡ⁾ (one unit path by path), every ∂J/∂W_ij⁽ˡ⁾ and
    ∂J/∂b_i⁽ˡ⁾, and one step of gradient descent. Every δ and every partial
    derivative stands beside a central difference; ✓ means a relative difference
    |g − ĝ| / |g + ĝ| below ``threshold``.

    Args:
      net: explain this network (numpy, float64) with its own parameters; then
        ``layers``, ``activation``, ``output_activation``, ``cost`` and
        ``weight_decay`` must be left at their defaults.
      x, y: the examples, shapes (m, s_1) and (m, s_{n_l}) (a single example may be
        1-D); by default m random ones drawn with ``seed``.
      layers: s_1 … s_{n_l} of a new network (default the seed's 3-3-2).
      activation, output_activation, cost, weight_decay: as for :class:`Network`.
      learning_rate: α of the one gradient-descent step shown.
      seed: seeds the new network, the random examples and the experiments.
      m: the number of random examples (default 1); with ``x`` given it must
        match x's rows or be left out.
      unit: the hidden unit i (1-based, as in the seed) whose δ is worked path by
        path in each hidden layer; default 1.
      experiments: also run the four short experiments that answer the seed's
        questions (why ½, why the average, why weight decay, is δ = ∂J/∂z).
      threshold: the relative difference below which a derivative gets ✓.

    Raises:
      ValueError: a bad argument, named.

    Over 60 lines because this docstring documents every argument of the public
    entry point; the body is the checks, one call each to ``trace``, ``worked``
    and ``experiments``, and the settings recorded.

    >>> e = explain(experiments=False)
    >>> e.ok, e.step("J").value == e.numbers.net.cost_and_grad(e.numbers.x, e.numbers.y)[0]
    (True, True)
    """
    seed = check_count("seed", seed, 0)
    learning_rate = check_positive("learning_rate", learning_rate)
    threshold = check_positive("threshold", threshold)
    if not isinstance(experiments, bool):
        raise ValueError(f"experiments must be True or False, got {experiments!r}")
    if net is None:
        net = Network(
            list(layers),
            activation=activation,
            output_activation=output_activation,
            cost=cost,
            weight_decay=weight_decay,
            seed=seed,
        )
    else:
        _check_own_network(net, layers, activation, output_activation, cost, weight_decay)
    if net.n_params > MAX_PARAMS:
        raise ValueError(
            f"layers: the network has {net.n_params} parameters; explain writes out every one "
            f"and takes at most {MAX_PARAMS} (use `deltaprop gradcheck` for large networks)"
        )
    x_arr, y_arr = _examples(net, x, y, m, seed)
    unit = _check_unit(net, unit)

    numbers = compute(net, x_arr, y_arr, learning_rate=learning_rate)
    sections = worked.sections(numbers, unit=unit, threshold=threshold)
    if experiments:
        sections += _experiments.all_experiments(seed, net, numbers.x, numbers.y, threshold)
    config = {
        "layers": list(net.layer_sizes),
        "activation": net.activation_label,
        "output_activation": net.output_activation.name,
        "cost": net.cost.name,
        "weight_decay": net.weight_decay,
        "learning_rate": learning_rate,
        "seed": seed,
        "m": int(x_arr.shape[0]),
        "unit": unit,
        "experiments": experiments,
        "threshold": threshold,
        "epsilon": EPSILON,
    }
    return Explanation(config=config, sections=tuple(sections), numbers=numbers)


# --- argument checks ----------------------------------------------------------------------------


def _check_own_network(
    net: Any,
    layers: Sequence[int],
    activation: Any,
    output_activation: Any,
    cost: Any,
    weight_decay: Any,
) -> None:
    if not isinstance(net, Network):
        raise ValueError(f"net must be a deltaprop.Network, got {type(net).__name__}")
    if net.xp is not np or net.dtype != "float64":
        raise ValueError(
            f"net: explain needs a numpy float64 network, got {net!r} on "
            f"{getattr(net.xp, '__name__', net.xp)}"
        )
    given = {
        "layers": tuple(layers) != DEFAULT_LAYERS,
        "activation": activation != "sigmoid",
        "output_activation": output_activation is not None,
        "cost": cost != "squared_error",
        "weight_decay": weight_decay != 0.0,
    }
    for name, differs in given.items():
        if differs:
            raise ValueError(
                f"{name}: given together with net; a network brings its own {name} "
                f"(it has {getattr(net, 'layer_sizes' if name == 'layers' else name)!r})"
            )


def _examples(
    net: Network, x: Any, y: Any, m: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if (x is None) != (y is None):
        raise ValueError("x and y: give both (the examples and their targets) or neither")
    if m is not None:
        m = check_count("m", m)
        if m > MAX_EXAMPLES:
            raise ValueError(f"m must be at most {MAX_EXAMPLES}, got {m}")
    if x is None:
        return _random_examples(net, 1 if m is None else m, np.random.default_rng(seed + 1))
    x_arr, y_arr = np.asarray(x), np.asarray(y)
    if x_arr.ndim == 1:
        x_arr = x_arr.reshape(1, -1)
    if y_arr.ndim == 1 and x_arr.shape[0] == 1 and net.layer_sizes[-1] > 1:
        y_arr = y_arr.reshape(1, -1)
    xa, ya = net.check_data(x_arr, y_arr)
    if m is not None and m != xa.shape[0]:
        raise ValueError(f"m is {m} but x has {xa.shape[0]} rows; leave m out when giving x")
    if xa.shape[0] > MAX_EXAMPLES:
        raise ValueError(f"x has {xa.shape[0]} rows; explain takes at most {MAX_EXAMPLES}")
    return np.asarray(xa), np.asarray(ya)


def _random_examples(
    net: Network, m: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs uniform in [0, 1] and targets the cost accepts."""
    s_in, s_out = net.layer_sizes[0], net.layer_sizes[-1]
    X = rng.uniform(size=(m, s_in))
    if net.cost.name == "cross_entropy":
        Y = np.eye(s_out)[rng.integers(0, s_out, size=m)]
    else:
        Y = rng.uniform(size=(m, s_out))
    return X, Y


def _check_unit(net: Network, unit: int | None) -> int:
    hidden = net.layer_sizes[1:-1]
    if unit is None:
        return 1
    unit = check_count("unit", unit)
    if not hidden:
        raise ValueError("unit: the network has no hidden layer whose δ could be worked out")
    for l, size in enumerate(hidden, start=2):
        if unit > size:
            raise ValueError(f"unit is {unit}, but hidden layer {l} has only {size} units")
    return unit
