"""Training checkpoints: the network, named extra arrays and a JSON state, in one file.

A checkpoint is a model file of format ``"deltaprop-checkpoint"`` (see
:mod:`deltaprop.modelformat`): the tensor ``"params"`` (θ), extra tensors stored
as ``"arrays/<name>"`` (optimizer moments, the best θ so far), and in the
metadata the list of their names and a JSON ``"state"`` dict (epoch, history,
the random generator's state). Written atomically, checksummed, checked on load.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._arrays import to_numpy
from .modelcheck import build, check_architecture, check_tensor_names
from .modelformat import (
    ARRAY_PREFIX,
    CHECKPOINT_FORMAT,
    MAX_FILE_BYTES,
    PARAMS,
    ModelFileError,
    architecture,
    atomic_write_bytes,
    check_type,
    clip,
    jsonable,
    numeric,
    params_host,
    read,
    serialize,
)
from .network import Network

PathLike = str | os.PathLike[str]


def save_checkpoint(
    path: PathLike,
    net: Network,
    *,
    arrays: Mapping[str, Any],
    state: Mapping[str, Any],
    force: bool = True,
) -> None:
    """Write a training checkpoint: the network, extra arrays and a JSON state dict.

    Args:
      path: the file to write.
      net: the network; its activations and cost must be built-in ones.
      arrays: named extra tensors such as optimizer moments; numpy arrays or any
        array API array (torch, CuPy, ...), of an integer or floating dtype. Their
        values are not checked for finiteness.
      state: a JSON-able dict (epoch, optimizer settings, history, a numpy
        Generator's ``bit_generator.state``; big Python ints survive).
      force: overwrite an existing file (default).

    Raises:
      ValueError: as ``save_model``, or an array name that is not a non-empty
        string, or an array of a non-numeric dtype.
    """
    if not isinstance(arrays, Mapping):
        raise ValueError(f"arrays: expected a dict of name -> array, got {type(arrays).__name__}")
    tensors = {PARAMS: params_host(net)}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"arrays: names must be non-empty strings, got {name!r}")
        host = np.asarray(to_numpy(value) if not isinstance(value, np.ndarray) else value)
        if not numeric(host.dtype):
            raise ValueError(
                f"arrays[{name!r}]: expected an integer or floating dtype, got {host.dtype}"
            )
        tensors[ARRAY_PREFIX + name] = np.asarray(host, order="C")  # keeps 0-d arrays 0-d
    info = architecture(net)
    info["arrays"] = list(arrays)
    info["state"] = jsonable("state", state)
    atomic_write_bytes(path, serialize(CHECKPOINT_FORMAT, info, tensors), force=force)


def load_checkpoint(
    path: PathLike, *, max_bytes: int = MAX_FILE_BYTES
) -> tuple[Network, dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Args:
      path: the file to read.
      max_bytes: refuse files larger than this (default 4 GiB) before reading them.

    Returns:
      (network, arrays, state): a numpy-backed Network, the extra arrays by the
      names they were saved under (numpy, dtypes kept), and the state dict.

    Raises:
      ModelFileError: as ``load_model``.
    """
    name = os.fspath(path)
    info, tensors = read(name, CHECKPOINT_FORMAT, max_bytes)
    check_architecture(name, info)
    check_type(name, info, "state", dict, "a JSON object")
    names = check_type(name, info, "arrays", list, "a list of array names")
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ModelFileError(f"{name}: metadata 'arrays' must list distinct non-empty names")
    check_tensor_names(name, tensors, {PARAMS} | {ARRAY_PREFIX + n for n in names})
    arrays: dict[str, np.ndarray] = {}
    for n in names:
        value = tensors[ARRAY_PREFIX + n]
        if not numeric(value.dtype):
            raise ModelFileError(
                f"{name}: tensor {clip(repr(ARRAY_PREFIX + n))} has dtype {value.dtype}; "
                "expected an integer or floating dtype"
            )
        arrays[n] = value if value.flags.writeable else value.copy()  # optimizers update in place
    return build(name, info, tensors[PARAMS]), arrays, info["state"]
