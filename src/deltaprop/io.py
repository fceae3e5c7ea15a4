"""Model files: a safe format, atomic writes, checksums and validation on load.

A model file is a safetensors container (see :mod:`deltaprop.modelformat` for
the layout) holding one tensor, ``"params"``: the flat θ in the network's dtype,
laid out as in :mod:`deltaprop.network` (every W⁽ˡ⁾ row-major, then every b⁽ˡ⁾),
and JSON metadata naming the architecture, a checksum of the tensor, and an
``"extra"`` dict of whatever the caller stored (the CLI keeps the training
settings, the fitted column preprocessing and the test metrics there).

Activations and costs are stored by name; only the built-in names
(:data:`~deltaprop.activations.ACTIVATIONS`, :data:`~deltaprop.costs.COSTS`) can be
saved or loaded. Loading checks every field and the tensor before building a
network, and reports any problem as :class:`ModelFileError` naming the file and
what was wrong. The file holds host float arrays whatever array library or
device the saved network used; loading gives a numpy-backed network unless
``xp`` and ``device`` ask for another (``load_model(path, xp="torch", device="cuda")``).

Checkpoints live in :mod:`deltaprop.checkpoints`; :func:`save_checkpoint` and
:func:`load_checkpoint` are re-exported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .checkpoints import load_checkpoint, save_checkpoint
from .modelcheck import build, check_architecture, check_params, check_tensor_names
from .modelformat import (
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    MAX_HEADER_BYTES,
    MODEL_FORMAT,
    PARAMS,
    ModelFileError,
    ModelFileExistsError,
    atomic_write_bytes,
    check_type,
    read,
    write_model,
)
from .network import Network

PathLike = str | os.PathLike[str]

__all__ = [
    "CHECKPOINT_FORMAT",
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
    "MAX_HEADER_BYTES",
    "MODEL_FORMAT",
    "ModelFileError",
    "ModelFileExistsError",
    "atomic_write_bytes",
    "load_checkpoint",
    "load_metadata",
    "load_model",
    "save_checkpoint",
    "save_model",
]


def save_model(
    net: Network,
    path: PathLike,
    *,
    metadata: Mapping[str, Any] | None = None,
    force: bool = True,
) -> None:
    """Write ``net`` to ``path`` as a safetensors model file, atomically.

    Args:
      net: the network; its activations and cost must be built-in ones.
      path: the file to write (conventionally ``*.safetensors``).
      metadata: any JSON-able dict (optimizer settings, training history), stored
        under "extra" and returned by :func:`load_metadata`. numpy scalars and
        arrays become numbers and lists; NaN and infinities are written as
        Python's json writes them.
      force: overwrite an existing file (default); if False, raise
        :class:`ModelFileExistsError` instead.

    Raises:
      ValueError: a custom activation or cost, non-finite parameters, or
        metadata that is not JSON-able.
      ModelFileExistsError: ``path`` exists and ``force`` is False.
    """
    write_model(net, path, metadata=metadata, force=force)


def load_model(
    path: PathLike, *, max_bytes: int = MAX_FILE_BYTES, xp: Any = None, device: Any = None
) -> Network:
    """Read a model file written by :func:`save_model` into a Network (numpy by default).

    Every field, the checksum and the tensor are checked before the network is
    built; nothing in the file is executed. The file holds host arrays whatever
    device the network was saved from.

    Args:
      path: the file to read.
      max_bytes: refuse files larger than this (default 4 GiB) before reading them.
      xp, device: the array namespace and device to put the network on, as for
        ``Network`` (``xp="torch", device="cuda"``); θ is copied there once.

    Raises:
      ModelFileError: the file is missing, too large, damaged, not a safetensors
        file, not a deltaprop model, or inconsistent; the message names the file
        and the fault.
    """
    name = os.fspath(path)
    info, tensors = _read_model(name, max_bytes)
    net = build(name, info, tensors[PARAMS])
    return net if xp is None and device is None else net.to(xp, device)


def load_metadata(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """The checked JSON metadata of a model file: architecture fields and "extra"."""
    name = os.fspath(path)
    info, tensors = _read_model(name, max_bytes)
    check_params(name, info, tensors[PARAMS])
    return info


def _read_model(name: str, max_bytes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    info, tensors = read(name, MODEL_FORMAT, max_bytes)
    check_architecture(name, info)
    check_type(name, info, "extra", dict, "a JSON object")
    check_tensor_names(name, tensors, {PARAMS})
    return info, tensors
