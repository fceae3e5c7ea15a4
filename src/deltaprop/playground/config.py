"""The playground's settings: what the page's controls and its URL say, checked once here.

A :class:`Config` is the whole state of a run that is not a number the run computed:
the data set and its noise, the split, the features, the network, the cost, the
optimizer and its rates, the seed. The page keeps it in its URL (``to_params``), so
a shared link or Reset rebuilds the same data and the same initial weights.
Every value comes from the client and is checked by ``_validate`` with the name the
page's URL uses, so an error names the setting the learner changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from .._validate import check_choice, check_count, check_real
from ..activations import HIDDEN_ACTIVATIONS
from .datasets import CLASSIFICATION, DATASETS, FEATURES, REGRESSION

PLAYGROUND_OPTIMIZERS = ("gd", "sgd", "momentum", "adam", "lbfgs")
COST_CHOICES = ("squared_error", "cross_entropy")
"""½‖h − y‖² (the seed's) or cross-entropy (binary, with the sigmoid output)."""
MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 8
N_POINTS = 400
"""Points in a generated data set (TensorFlow Playground shows a few hundred)."""


@dataclass(frozen=True)
class Config:
    """One run's settings; ``activation`` has one entry per hidden layer."""

    dataset: str = "circle"
    noise: int = 0
    train: int = 50
    batch: int = 10
    optimizer: str = "sgd"
    lr: float = 0.03
    activation: tuple[str, ...] = ("tanh", "tanh")
    l2: float = 0.0
    l1: float = 0.0
    problem: str = "classification"
    cost: str = "squared_error"
    hidden: tuple[int, ...] = (4, 2)
    features: tuple[str, ...] = ("x1", "x2")
    seed: int = 0

    def to_params(self) -> dict[str, str]:
        """The settings as URL query parameters (lists comma-separated)."""
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if isinstance(value, tuple):
                out[key] = ",".join(str(v) for v in value)
            else:
                out[key] = repr(value) if isinstance(value, float) else str(value)
        return out

    @property
    def output_activation(self) -> str:
        """sigmoid for a class in {0, 1}, identity for a regression target."""
        return "sigmoid" if self.problem == "classification" else "identity"

    @property
    def network_cost(self) -> str:
        """The name of the cost in :data:`deltaprop.costs.COSTS`."""
        return "binary_cross_entropy" if self.cost == "cross_entropy" else "squared_error"


MAX_TEXT = 40
"""The longest text a number setting may be (converting a long digit string costs time)."""


def _short(name: str, text: str) -> str:
    if len(text) > MAX_TEXT:
        raise ValueError(f"{name} must be a number, got a text of {len(text)} characters")
    return text


def _int(name: str, text: str, low: int, high: int) -> int:
    _short(name, text)
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {text!r}") from None
    value = check_count(name, value, low)
    if value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value


def _float(name: str, text: str, low: float, high: float) -> float:
    _short(name, text)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text!r}") from None
    return check_real(name, value, low=low, high=high)


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse(params: Mapping[str, Any], *, allow_csv: bool = False) -> Config:
    """A checked :class:`Config` from query parameters; missing ones take the defaults.

    Raises ValueError naming the parameter, what was expected and what came.
    """
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a JSON object of settings, got {type(params).__name__}")
    base = Config()
    known = set(asdict(base))
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"unknown setting {str(unknown[0])[:40]!r}; the settings are: {', '.join(known)}"
        )
    p = {k: str(v) for k, v in params.items()}
    datasets = (*DATASETS, "csv") if allow_csv else DATASETS
    dataset = check_choice("dataset", p.get("dataset", base.dataset), datasets, "data set")
    problem = "regression" if dataset in REGRESSION else "classification"
    if dataset == "csv":
        problem = check_choice(
            "problem", p.get("problem", base.problem), ("classification", "regression"), "problem"
        )
    sizes = _list(p["hidden"]) if "hidden" in p else [str(h) for h in base.hidden]
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"hidden must have at most {MAX_HIDDEN_LAYERS} layers, got {len(sizes)}")
    hidden = tuple(_int("hidden", h, 1, MAX_UNITS) for h in sizes)
    acts = _list(p["activation"]) if "activation" in p else ["tanh"]
    for a in acts:
        check_choice("activation", a, HIDDEN_ACTIVATIONS, "activation")
    if not hidden:
        acts = acts[:1] or ["tanh"]  # kept for when layers are added again
    elif len(acts) == 1:
        acts = acts * len(hidden)
    elif len(acts) != len(hidden):
        raise ValueError(
            f"activation must name one activation or one per hidden layer ({len(hidden)}), "
            f"got {len(acts)}"
        )
    feats = tuple(_list(p["features"])) if "features" in p else base.features
    for f in feats:
        check_choice("features", f, FEATURES, "feature")
    if not feats or len(set(feats)) != len(feats):
        raise ValueError(f"features must name at least one feature, each once, got {feats!r}")
    cost = check_choice("cost", p.get("cost", base.cost), COST_CHOICES, "cost")
    if cost == "cross_entropy" and problem == "regression":
        raise ValueError("cost: cross_entropy needs a classification problem; use squared_error")
    return replace(
        base,
        dataset=dataset,
        noise=_int("noise", p.get("noise", "0"), 0, 50),
        train=_int("train", p.get("train", str(base.train)), 10, 90),
        batch=_int("batch", p.get("batch", str(base.batch)), 1, 1000),
        optimizer=check_choice(
            "optimizer", p.get("optimizer", base.optimizer), PLAYGROUND_OPTIMIZERS, "optimizer"
        ),
        lr=_float("lr", p.get("lr", repr(base.lr)), 1e-6, 10.0),
        activation=tuple(acts),
        l2=_float("l2", p.get("l2", "0"), 0.0, 10.0),
        l1=_float("l1", p.get("l1", "0"), 0.0, 10.0),
        problem=problem,
        cost=cost,
        hidden=hidden,
        features=feats,
        seed=_int("seed", p.get("seed", "0"), 0, 2**31 - 1),
    )


__all__ = ["CLASSIFICATION", "Config", "parse"]
