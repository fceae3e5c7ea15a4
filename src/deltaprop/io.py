"""Model files and checkpoints: a safe format, atomic writes, validation on load.

Both kinds of file are safetensors containers (https://github.com/huggingface/safetensors):
an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range, then the raw tensor bytes. Nothing in a file is ever executed
(no pickle), so a file from an untrusted source can at worst be refused.

A model file holds one tensor, ``"params"``: the flat θ in the network's dtype,
laid out as in :mod:`deltaprop.network` (every W⁽ˡ⁾ row-major, then every b⁽ˡ⁾).
The header's metadata holds one key, ``"deltaprop"``, whose value is a JSON
string::

    {"format": "deltaprop-model", "format_version": 1, "deltaprop_version": "0.1.0",
     "layer_sizes": [64, 25, 64], "activation": "sigmoid", "output_activation": "sigmoid",
     "cost": "squared_error", "weight_decay": 0.0001, "dtype": "float64",
     "init": "ufldl", "seed": 0, "extra": {...}}

Activations and costs are stored by name; only the built-in names
(:data:`~deltaprop.activations.ACTIVATIONS`, :data:`~deltaprop.costs.COSTS`) can be
saved or loaded. A checkpoint (format ``"deltaprop-checkpoint"``) adds named extra
tensors, stored as ``"arrays/<name>"``, and a JSON ``"state"`` dict.

Writes go to a temporary file in the target's directory which is flushed,
fsync'ed and renamed over the target, so a crash leaves either the old file or
the new one, never half of one. Loading checks every field and every tensor
before building a network, and reports any problem as :class:`ModelFileError`
naming the file and what was wrong.

Loading always gives a numpy-backed network, whatever array library the saved
network used.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._arrays import FLOAT_DTYPES, to_numpy
from .activations import ACTIVATIONS
from .costs import COSTS
from .network import INITS, Layout, Network

PathLike = str | os.PathLike[str]

MODEL_FORMAT = "deltaprop-model"
CHECKPOINT_FORMAT = "deltaprop-checkpoint"
FORMAT_VERSION = 1
"""The newest format version this module writes and reads."""

METADATA_KEY = "deltaprop"
PARAMS = "params"
ARRAY_PREFIX = "arrays/"

MAX_FILE_BYTES = 4 * 2**30
"""Files larger than this (4 GiB) are refused before they are read."""
MAX_HEADER_BYTES = 16 * 2**20
"""Headers (and so the JSON metadata) larger than this (16 MiB) are refused."""


class ModelFileError(ValueError):
    """A model or checkpoint file is missing, malformed or inconsistent.

    The message starts with the file's path and says what was wrong.
    """


class ModelFileExistsError(ModelFileError, FileExistsError):
    """The target file exists and the caller asked not to overwrite it (``force=False``)."""


# --- saving ----------------------------------------------------------------------


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
    info = _architecture(net)
    info["extra"] = _jsonable("metadata", {} if metadata is None else metadata)
    tensors = {PARAMS: _params_host(net)}
    atomic_write_bytes(path, _serialize(MODEL_FORMAT, info, tensors), force=force)


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
      ValueError: as :func:`save_model`, or an array name that is not a non-empty
        string, or an array of a non-numeric dtype.
    """
    if not isinstance(arrays, Mapping):
        raise ValueError(f"arrays: expected a dict of name -> array, got {type(arrays).__name__}")
    tensors = {PARAMS: _params_host(net)}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"arrays: names must be non-empty strings, got {name!r}")
        host = to_numpy(value) if not isinstance(value, np.ndarray) else value
        host = np.asarray(host)
        if not _numeric(host.dtype):
            raise ValueError(
                f"arrays[{name!r}]: expected an integer or floating dtype, got {host.dtype}"
            )
        tensors[ARRAY_PREFIX + name] = np.asarray(host, order="C")  # keeps 0-d arrays 0-d
    info = _architecture(net)
    info["arrays"] = list(arrays)
    info["state"] = _jsonable("state", state)
    atomic_write_bytes(path, _serialize(CHECKPOINT_FORMAT, info, tensors), force=force)


def atomic_write_bytes(path: PathLike, data: bytes, *, force: bool = True) -> None:
    """Replace the file at ``path`` with ``data`` so that readers see all or nothing.

    The bytes go to a new temporary file in the same directory, which is flushed,
    fsync'ed and renamed over ``path`` (``os.replace``, atomic on POSIX and
    Windows); then the directory is fsync'ed where the platform allows, so the
    rename itself survives a crash. On any error the temporary file is removed
    and whatever was at ``path`` is untouched; an OSError with an errno (a full
    disk, say) is raised again with ``path`` as its ``filename``. The new file
    gets the usual mode for a new file (0o666 less the umask).

    Args:
      path: the target file.
      data: its new contents.
      force: if False and ``path`` exists, raise :class:`ModelFileExistsError`.
    """
    target = os.fspath(path)
    if not force and os.path.exists(target):
        raise ModelFileExistsError(f"{target}: the file exists and force=False; not overwriting")
    directory = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        tmp, fd = _create_temp(directory, os.path.basename(target))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None:
            # A full disk shows up in write() or fsync() with no file name, a failed
            # rename names the temporary file: name the file the caller asked for.
            raise OSError(exc.errno, exc.strerror, target) from exc
        raise
    _fsync_directory(directory)


def _create_temp(directory: str, name: str) -> tuple[str, int]:
    # Like tempfile.mkstemp, but with mode 0o666 so that the umask applies as for
    # any new file (mkstemp's 0o600 would make every saved model private).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"{directory}: could not create a unique temporary file")


def _fsync_directory(directory: str) -> None:
    # Best effort: Windows cannot open a directory, some file systems refuse fsync.
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _architecture(net: Network) -> dict[str, Any]:
    for argument, obj, table in (
        ("activation", net.activation, ACTIVATIONS),
        ("output_activation", net.output_activation, ACTIVATIONS),
        ("cost", net.cost, COSTS),
    ):
        if table.get(obj.name) != obj:
            raise ValueError(
                f"{argument}: a custom {type(obj).__name__} ({obj.name!r}) cannot be saved; "
                f"model files store built-in names only: {', '.join(table)}"
            )
    from . import __version__  # here, not at the top: deltaprop/__init__ may import io

    return {
        "deltaprop_version": __version__,
        "layer_sizes": list(net.layer_sizes),
        "activation": net.activation.name,
        "output_activation": net.output_activation.name,
        "cost": net.cost.name,
        "weight_decay": net.weight_decay,
        "dtype": net.dtype,
        "init": net.init,
        "seed": None if net.seed is None else int(net.seed),
    }


def _params_host(net: Network) -> np.ndarray:
    theta = np.ascontiguousarray(to_numpy(net.params), dtype=np.dtype(net.dtype))
    if not np.all(np.isfinite(theta)):
        bad = int(np.argwhere(~np.isfinite(theta))[0, 0])
        raise ValueError(
            f"net.params has a non-finite value ({theta[bad]}) at index {bad}; "
            "a model file holds finite parameters only"
        )
    return theta


def _jsonable(argument: str, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise ValueError(f"{argument}: expected a dict, got {type(value).__name__}")
    try:
        return json.loads(json.dumps(value, default=_json_default))
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"{argument}: cannot be stored as JSON ({exc})") from None


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} {obj!r} is not JSON-serialisable")


def _serialize(fmt: str, info: dict[str, Any], tensors: dict[str, np.ndarray]) -> bytes:
    from safetensors.numpy import save

    header = {"format": fmt, "format_version": FORMAT_VERSION, **info}
    return save(tensors, metadata={METADATA_KEY: json.dumps(header)})


# --- loading ---------------------------------------------------------------------


def load_model(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> Network:
    """Read a model file written by :func:`save_model` into a numpy-backed Network.

    Every field and the tensor are checked before the network is built; nothing
    in the file is executed.

    Args:
      path: the file to read.
      max_bytes: refuse files larger than this (default 4 GiB) before reading them.

    Raises:
      ModelFileError: the file is missing, too large, not a safetensors file, not
        a deltaprop model, or inconsistent; the message names the file and the fault.
    """
    name = os.fspath(path)
    info, tensors = _read(name, MODEL_FORMAT, max_bytes)
    _check_type(name, info, "extra", dict, "a JSON object")
    _check_tensor_names(name, tensors, {PARAMS})
    return _build(name, info, tensors[PARAMS])


def load_metadata(path: PathLike, *, max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """The checked JSON metadata of a model file: architecture fields and "extra"."""
    name = os.fspath(path)
    info, tensors = _read(name, MODEL_FORMAT, max_bytes)
    _check_type(name, info, "extra", dict, "a JSON object")
    _check_tensor_names(name, tensors, {PARAMS})
    _check_params(name, info, tensors[PARAMS])
    return info


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
      ModelFileError: as :func:`load_model`.
    """
    name = os.fspath(path)
    info, tensors = _read(name, CHECKPOINT_FORMAT, max_bytes)
    _check_type(name, info, "state", dict, "a JSON object")
    names = _check_type(name, info, "arrays", list, "a list of array names")
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ModelFileError(f"{name}: metadata 'arrays' must list distinct non-empty names")
    _check_tensor_names(name, tensors, {PARAMS} | {ARRAY_PREFIX + n for n in names})
    arrays: dict[str, np.ndarray] = {}
    for n in names:
        value = tensors[ARRAY_PREFIX + n]
        if not _numeric(value.dtype):
            raise ModelFileError(
                f"{name}: tensor {_clip(repr(ARRAY_PREFIX + n))} has dtype {value.dtype}; "
                "expected an integer or floating dtype"
            )
        arrays[n] = value if value.flags.writeable else value.copy()  # optimizers update in place
    return _build(name, info, tensors[PARAMS]), arrays, info["state"]


def _read(name: str, fmt: str, max_bytes: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked architecture metadata and the raw tensors of the file ``name``."""
    try:
        size = os.stat(name).st_size
    except FileNotFoundError:
        raise ModelFileError(f"{name}: no such file") from None
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot read the file ({exc.strerror})") from None
    if os.path.isdir(name):
        raise ModelFileError(f"{name}: is a directory, expected a model file")
    if size == 0:
        raise ModelFileError(f"{name}: the file is empty (0 bytes)")
    if size > max_bytes:
        raise ModelFileError(
            f"{name}: the file has {size} bytes, more than the limit of {max_bytes}; "
            "pass max_bytes to read it anyway"
        )
    try:
        with open(name, "rb") as f:
            # size + 1, not max_bytes + 1: read() allocates what it is asked for, and a
            # 100-byte file must not cost max_bytes of memory.
            data = f.read(size + 1)
    except OSError as exc:
        raise ModelFileError(f"{name}: cannot read the file ({exc.strerror})") from None
    if len(data) > size:
        raise ModelFileError(f"{name}: the file grew while it was read; try again")

    header_len = _check_framing(name, data)
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        tensors = load(data)
    # The parser is the trust boundary: whatever it raises means a malformed file.
    except (SafetensorError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ModelFileError(f"{name}: not a valid safetensors file ({_clip(str(exc))})") from None

    info = _parse_metadata(name, data[8 : 8 + header_len])
    _check_format(name, info, fmt)
    _check_architecture(name, info)
    return info, tensors


def _check_framing(name: str, data: bytes) -> int:
    if len(data) < 8:
        raise ModelFileError(
            f"{name}: {len(data)} bytes is too short for a safetensors file "
            "(it starts with an 8-byte header length)"
        )
    header_len = int.from_bytes(data[:8], "little")
    if header_len > len(data) - 8:
        raise ModelFileError(
            f"{name}: the header length field says {header_len} bytes, but only "
            f"{len(data) - 8} follow it; the file is truncated or not a safetensors file"
        )
    if header_len > MAX_HEADER_BYTES:
        raise ModelFileError(
            f"{name}: the header has {header_len} bytes, more than the limit of {MAX_HEADER_BYTES}"
        )
    return header_len


def _parse_metadata(name: str, header: bytes) -> dict[str, Any]:
    # safetensors has already parsed this header; the inner JSON string may still
    # be malformed or nest deep enough to exhaust the recursion limit.
    try:
        outer = json.loads(header)
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(f"{name}: the header is not valid JSON ({exc})") from None
    meta = outer.get("__metadata__") if isinstance(outer, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get(METADATA_KEY), str):
        raise ModelFileError(
            f"{name}: the header has no {METADATA_KEY!r} metadata; "
            "it is a safetensors file but not one written by deltaprop"
        )
    try:
        info = json.loads(meta[METADATA_KEY])
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(
            f"{name}: the {METADATA_KEY!r} metadata is not valid JSON ({exc})"
        ) from None
    if not isinstance(info, dict):
        raise ModelFileError(
            f"{name}: the {METADATA_KEY!r} metadata must be a JSON object, "
            f"got {type(info).__name__}"
        )
    return info


def _check_format(name: str, info: dict[str, Any], fmt: str) -> None:
    found = _check_type(name, info, "format", str, "a string")
    if found != fmt:
        hint = {
            MODEL_FORMAT: "; it is a model file, read it with load_model",
            CHECKPOINT_FORMAT: "; it is a checkpoint, read it with load_checkpoint",
        }.get(found, "")
        raise ModelFileError(f"{name}: format is {_clip(repr(found))}, expected {fmt!r}{hint}")
    version = _check_type(name, info, "format_version", int, "an integer")
    if version != FORMAT_VERSION:
        newer = " (written by a newer deltaprop)" if version > FORMAT_VERSION else ""
        raise ModelFileError(
            f"{name}: format_version is {version}{newer}; this deltaprop reads version "
            f"{FORMAT_VERSION}"
        )
    _check_type(name, info, "deltaprop_version", str, "a string")


def _check_architecture(name: str, info: dict[str, Any]) -> None:
    sizes = _check_type(name, info, "layer_sizes", list, "a list of unit counts")
    if len(sizes) < 2 or not all(_is_int(s) and s >= 1 for s in sizes):
        raise ModelFileError(
            f"{name}: layer_sizes must list at least 2 positive whole numbers, "
            f"got {_clip(repr(sizes))}"
        )
    for key, table in (
        ("activation", ACTIVATIONS),
        ("output_activation", ACTIVATIONS),
        ("cost", COSTS),
        ("dtype", FLOAT_DTYPES),
        ("init", INITS),
    ):
        value = _check_type(name, info, key, str, "a string")
        if value not in table:
            raise ModelFileError(
                f"{name}: unknown {key} {_clip(repr(value))}; expected one of: {', '.join(table)}"
            )
    decay = _field(name, info, "weight_decay")
    if not (_is_int(decay) or (isinstance(decay, float) and math.isfinite(decay))) or decay < 0:
        raise ModelFileError(
            f"{name}: weight_decay must be a finite number ≥ 0, got {_clip(repr(decay))}"
        )
    seed = _field(name, info, "seed")
    if seed is not None and not (_is_int(seed) and seed >= 0):
        raise ModelFileError(
            f"{name}: seed must be a non-negative integer or null, got {_clip(repr(seed))}"
        )


def _field(name: str, info: dict[str, Any], key: str) -> Any:
    if key not in info:
        raise ModelFileError(f"{name}: metadata field {key!r} is missing")
    return info[key]


def _check_type(name: str, info: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = _field(name, info, key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ModelFileError(
            f"{name}: metadata field {key!r} must be {what}, got {_clip(repr(value))}"
        )
    return value


def _check_tensor_names(name: str, tensors: dict[str, np.ndarray], expected: set[str]) -> None:
    found = set(tensors)
    if found != expected:
        missing, unexpected = sorted(expected - found), sorted(found - expected)
        parts = [f"missing {missing}"] if missing else []
        parts += [f"unexpected {unexpected}"] if unexpected else []
        raise ModelFileError(f"{name}: wrong tensors: {_clip(', '.join(parts))}")


def _check_params(name: str, info: dict[str, Any], theta: np.ndarray) -> None:
    if theta.dtype != np.dtype(info["dtype"]):
        raise ModelFileError(
            f"{name}: tensor {PARAMS!r} has dtype {theta.dtype}, the metadata says {info['dtype']}"
        )
    n_params = Layout(tuple(info["layer_sizes"])).n_params
    if theta.shape != (n_params,):
        count = f"{theta.size} values" if theta.ndim == 1 else f"shape {theta.shape} (expected 1-D)"
        raise ModelFileError(
            f"{name}: tensor {PARAMS!r} has {count}, "
            f"layer_sizes {_clip(str(info['layer_sizes']))} need {_clip(str(n_params))}"
        )
    if not np.all(np.isfinite(theta)):
        bad = int(np.argwhere(~np.isfinite(theta))[0, 0])
        raise ModelFileError(
            f"{name}: tensor {PARAMS!r} has a non-finite value ({theta[bad]}) at index {bad}"
        )


def _build(name: str, info: dict[str, Any], theta: np.ndarray) -> Network:
    _check_params(name, info, theta)
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
            f"{name}: the stored architecture is invalid: {_clip(str(exc))}"
        ) from None
    net.params = theta
    net.seed = info["seed"]
    return net


def _clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters: messages quote the file, which may be huge."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numeric(dtype: np.dtype[Any]) -> bool:
    return bool(np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))
