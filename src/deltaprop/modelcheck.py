"""A model file's architecture checked field by field, and the network built from it.

Shared by :mod:`deltaprop.io` (model files) and :mod:`deltaprop.checkpoints`:
every field and the parameter tensor are checked before a :class:`Network` is
built, and any problem is a :class:`~deltaprop.modelformat.ModelFileError`
naming the file and the field.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._arrays import FLOAT_DTYPES
from .activations import ACTIVATIONS
from .costs import COSTS
from .modelformat import PARAMS, ModelFileError, check_type, clip, field, is_int
from .network import INITS, Layout, Network


def check_architecture(name: str, info: dict[str, Any]) -> None:
    """Layer sizes, activations, cost, dtype, init, λ and seed: each present and valid."""
    sizes = check_type(name, info, "layer_sizes", list, "a list of unit counts")
    if len(sizes) < 2 or not all(is_int(s) and s >= 1 for s in sizes):
        raise ModelFileError(
            f"{name}: layer_sizes must list at least 2 positive whole numbers, "
            f"got {clip(repr(sizes))}"
        )
    hidden = field(name, info, "activation")
    if isinstance(hidden, list):  # one per hidden layer
        if len(hidden) != len(sizes) - 2 or not all(isinstance(a, str) for a in hidden):
            raise ModelFileError(
                f"{name}: activation must be a name or a list of one name per hidden layer "
                f"({len(sizes) - 2}), got {clip(repr(hidden))}"
            )
        for act in hidden:
            if act not in ACTIVATIONS:
                raise ModelFileError(
                    f"{name}: unknown activation {clip(repr(act))}; expected one of: "
                    f"{', '.join(ACTIVATIONS)}"
                )
    for key, table in (
        *(() if isinstance(hidden, list) else (("activation", ACTIVATIONS),)),
        ("output_activation", ACTIVATIONS),
        ("cost", COSTS),
        ("dtype", FLOAT_DTYPES),
        ("init", INITS),
    ):
        value = check_type(name, info, key, str, "a string")
        if value not in table:
            raise ModelFileError(
                f"{name}: unknown {key} {clip(repr(value))}; expected one of: {', '.join(table)}"
            )
    decay = field(name, info, "weight_decay")
    if not (is_int(decay) or (isinstance(decay, float) and math.isfinite(decay))) or decay < 0:
        raise ModelFileError(
            f"{name}: weight_decay must be a finite number ≥ 0, got {clip(repr(decay))}"
        )
    seed = field(name, info, "seed")
    if seed is not None and not (is_int(seed) and seed >= 0):
        raise ModelFileError(
            f"{name}: seed must be a non-negative integer or null, got {clip(repr(seed))}"
        )


def check_tensor_names(name: str, tensors: dict[str, np.ndarray], expected: set[str]) -> None:
    """Exactly the ``expected`` tensors, or a ModelFileError listing missing and unexpected."""
    found = set(tensors)
    if found != expected:
        missing, unexpected = sorted(expected - found), sorted(found - expected)
        parts = [f"missing {missing}"] if missing else []
        parts += [f"unexpected {unexpected}"] if unexpected else []
        raise ModelFileError(f"{name}: wrong tensors: {clip(', '.join(parts))}")


def check_params(name: str, info: dict[str, Any], theta: np.ndarray) -> None:
    """θ has the metadata's dtype, the length its layer sizes need, and finite values."""
    if theta.dtype != np.dtype(info["dtype"]):
        raise ModelFileError(
            f"{name}: tensor {PARAMS!r} has dtype {theta.dtype}, the metadata says {info['dtype']}"
        )
    n_params = Layout(tuple(info["layer_sizes"])).n_params
    if theta.shape != (n_params,):
        count = f"{theta.size} values" if theta.ndim == 1 else f"shape {theta.shape} (expected 1-D)"
        raise ModelFileError(
            f"{name}: tensor {PARAMS!r} has {count}, "
            f"layer_sizes {clip(str(info['layer_sizes']))} need {clip(str(n_params))}"
        )
    if not np.all(np.isfinite(theta)):
        bad = int(np.argwhere(~np.isfinite(theta))[0, 0])
        raise ModelFileError(
            f"{name}: tensor {PARAMS!r} has a non-finite value ({theta[bad]}) at index {bad}"
        )


def build(name: str, info: dict[str, Any], theta: np.ndarray) -> Network:
    """The numpy-backed network the checked ``info`` describes, with parameters ``theta``."""
    check_params(name, info, theta)
    try:
        net = Network(
            info["layer_sizes"],
            activation=info["activation"],
            output_activation=info["output_activation"],
            cost=info["cost"],
            weight_decay=info["weight_decay"],
            init=info["init"],
            dtype=info["dtype"],
            seed=0,
        )
    except (ValueError, OverflowError) as exc:
        raise ModelFileError(
            f"{name}: the stored architecture is invalid: {clip(str(exc))}"
        ) from None
    net.params = theta
    net.seed = info["seed"]
    return net
