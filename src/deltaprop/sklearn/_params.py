"""The estimators' constructor parameters: checked once, at fit, into one frozen record.

scikit-learn estimators store their constructor arguments untouched and check
them when ``fit`` runs; :func:`settings` does that check, naming the argument,
what was expected and what came, and returns a :class:`Settings` the solvers read.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import dtype_name
from .._validate import check_count
from ..activations import ACTIVATIONS
from ..activations import HIDDEN_ACTIVATIONS as HIDDEN_NAMES
from ..costs import COSTS
from ..dropout import check_dropout

SOLVERS = ("lbfgs", "sgd", "adam")
STOCHASTIC_SOLVERS = ("sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")

SKLEARN_ACTIVATIONS = {
    "identity": "identity",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
}
"""scikit-learn's activation names and the deltaprop activation each one is."""

HIDDEN_ACTIVATIONS = {
    **SKLEARN_ACTIVATIONS,
    **{name: name for name in HIDDEN_NAMES},
}
"""Every name ``activation`` takes: scikit-learn's four and deltaprop's elementwise ones."""

OUTPUT_ACTIVATIONS = {**HIDDEN_ACTIVATIONS, **{name: name for name in ACTIVATIONS}}
"""Every name ``output_activation`` takes (softmax included)."""

DEFAULT_ALPHA = 1e-4
"""scikit-learn's default ``alpha``, used when neither alpha nor weight_decay is given."""


@dataclass(frozen=True)
class Settings:
    """The checked hyper-parameters of one fit (names as scikit-learn's, values normalised).

    ``activation`` and ``output_activation`` hold deltaprop names ("sigmoid",
    not "logistic"); ``activation`` is a tuple of one per hidden layer for a mix.
    ``dtype`` holds "float32", "float64" or None (follow X). ``dropout`` holds
    one rate per hidden layer, or None.
    """

    hidden_layer_sizes: tuple[int, ...]
    activation: str | tuple[str, ...]
    solver: str
    alpha: float
    weight_decay: float | None
    batch_size: int | None  # None: "auto", min(200, n_samples)
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    verbose: bool
    warm_start: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    dtype: str | None
    output_activation: str | None
    cost: str | None
    dropout: tuple[float, ...] | None = None
    early_stopping_metric: str = "score"  # or "loss": the validation J decides

    @property
    def stochastic(self) -> bool:
        """True for "sgd" and "adam", which step through mini-batches."""
        return self.solver in STOCHASTIC_SOLVERS

    def lam(self, weight_sum: float) -> float:
        """λ for a batch whose example weights sum to ``weight_sum`` (its size, unweighted).

        scikit-learn adds (α / (2 Σᵢ wᵢ)) Σ W² to each batch's loss, so
        λ = α / Σᵢ wᵢ; ``weight_decay``, when given, is λ itself, for every batch.
        """
        if self.weight_decay is not None:
            return self.weight_decay
        return self.alpha / weight_sum

    def lam_rule(self) -> tuple[float, float | None]:
        """:meth:`lam` as (λ, None) for every batch, or (0, α) for λ = α / Σᵢ wᵢ per batch."""
        if self.weight_decay is not None:
            return self.weight_decay, None
        return 0.0, self.alpha


def settings(params: Mapping[str, Any]) -> Settings:
    """Check an estimator's ``get_params()`` and normalise them; ValueError names the argument."""
    p = dict(params)
    alpha, weight_decay = p["alpha"], p["weight_decay"]
    if alpha is not None and weight_decay is not None:
        raise ValueError(
            f"alpha={alpha!r} and weight_decay={weight_decay!r} are both given; they set the "
            "same penalty (weight_decay = λ, alpha = λ × batch size): give one of them"
        )
    batch_size = p["batch_size"]
    n_iter_no_change = p["n_iter_no_change"]
    if not (isinstance(n_iter_no_change, float) and n_iter_no_change == math.inf):
        n_iter_no_change = check_count("n_iter_no_change", n_iter_no_change)
    hidden = _hidden(p["hidden_layer_sizes"])
    return Settings(
        hidden_layer_sizes=hidden,
        activation=_activation(p["activation"], len(hidden)),
        solver=_choice("solver", p["solver"], {s: s for s in SOLVERS}),
        alpha=DEFAULT_ALPHA if alpha is None else _real("alpha", alpha, low=0.0),
        weight_decay=None if weight_decay is None else _real("weight_decay", weight_decay, 0.0),
        batch_size=None if batch_size == "auto" else check_count("batch_size", batch_size),
        learning_rate=_choice("learning_rate", p["learning_rate"], {s: s for s in LEARNING_RATES}),
        learning_rate_init=_real("learning_rate_init", p["learning_rate_init"], 0.0, open_low=True),
        power_t=_real("power_t", p["power_t"], low=0.0),
        max_iter=check_count("max_iter", p["max_iter"]),
        shuffle=_flag("shuffle", p["shuffle"]),
        tol=_real("tol", p["tol"], low=0.0),
        verbose=_verbose(p["verbose"]),
        warm_start=_flag("warm_start", p["warm_start"]),
        momentum=_real("momentum", p["momentum"], 0.0, 1.0, open_high=True),
        nesterovs_momentum=_flag("nesterovs_momentum", p["nesterovs_momentum"]),
        early_stopping=_flag("early_stopping", p["early_stopping"]),
        validation_fraction=_real(
            "validation_fraction", p["validation_fraction"], 0.0, 1.0, open_high=True
        ),
        beta_1=_real("beta_1", p["beta_1"], 0.0, 1.0, open_high=True),
        beta_2=_real("beta_2", p["beta_2"], 0.0, 1.0, open_high=True),
        epsilon=_real("epsilon", p["epsilon"], 0.0, open_low=True),
        n_iter_no_change=n_iter_no_change,
        max_fun=check_count("max_fun", p["max_fun"]),
        dtype=None if p["dtype"] is None else dtype_name(p["dtype"]),
        output_activation=None
        if p["output_activation"] is None
        else _choice("output_activation", p["output_activation"], OUTPUT_ACTIVATIONS),
        cost=None if p["cost"] is None else _choice("cost", p["cost"], {c: c for c in COSTS}),
        dropout=_dropout(p.get("dropout"), len(hidden), p["solver"]),
        early_stopping_metric=_choice(
            "early_stopping_metric", p["early_stopping_metric"], {"score": "score", "loss": "loss"}
        ),
    )


def _activation(value: Any, n_hidden: int) -> str | tuple[str, ...]:
    """One hidden activation, or one per hidden layer (all alike: that one), as deltaprop names."""
    if isinstance(value, str):
        return _choice("activation", value, HIDDEN_ACTIVATIONS)
    if not isinstance(value, tuple | list):
        raise ValueError(
            f"activation: expected a name such as 'relu', or one per hidden layer, got {value!r}"
        )
    if len(value) != n_hidden:
        raise ValueError(
            f"activation: {len(value)} activation(s) for {n_hidden} hidden layer(s) "
            "(hidden_layer_sizes); give one per hidden layer, or a single name"
        )
    names = tuple(_choice(f"activation[{i}]", v, HIDDEN_ACTIVATIONS) for i, v in enumerate(value))
    return names[0] if names and len(set(names)) == 1 else names


def _dropout(value: Any, n_hidden: int, solver: Any) -> tuple[float, ...] | None:
    rates = check_dropout(value, n_hidden)
    if rates is not None and solver == "lbfgs":
        raise ValueError(
            "dropout: solver='lbfgs' needs the same loss at every evaluation, and dropout "
            "draws new masks each step; use solver='adam' or 'sgd'"
        )
    return rates


def _hidden(value: Any) -> tuple[int, ...]:
    sizes = [value] if isinstance(value, numbers.Integral) else value
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be a whole number or a sequence of them, got {value!r}"
        ) from None
    for s in sizes:
        if _is_bool(s) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(
                f"hidden_layer_sizes must hold whole numbers ≥ 1 (units per hidden layer), "
                f"got {value!r}"
            )
    return tuple(int(s) for s in sizes)


def _choice(name: str, value: Any, options: Mapping[str, str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: unknown {name} {value!r}; choose one of: {', '.join(options)}")
    return options[value]


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool | np.bool_)


def _verbose(value: Any) -> bool:
    if _is_bool(value):
        return bool(value)
    return check_count("verbose", value, low=0) > 0


def _flag(name: str, value: Any) -> bool:
    if not _is_bool(value):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _real(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    if _is_bool(value) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    number = float(value)
    too_low = number <= low if open_low else number < low
    too_high = number >= high if open_high else number > high
    if too_low or too_high:
        left, right = "(" if open_low else "[", ")" if open_high else "]"
        raise ValueError(f"{name} must be in {left}{low:g}, {high:g}{right}, got {value!r}")
    return number
