"""The file format of models and checkpoints: safetensors framing, checksums, atomic writes.

Both kinds of file are safetensors containers (https://github.com/huggingface/safetensors):
an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range, then the raw tensor bytes. Nothing in a file is ever executed
(no pickle), so a file from an untrusted source can at worst be refused.

The header's metadata holds one key, ``"deltaprop"``, whose value is a JSON
string::

    {"format": "deltaprop-model", "format_version": 2, "deltaprop_version": "0.1.0",
     "checksum": "sha256:…", "layer_sizes": [64, 25, 64], "activation": "sigmoid",
     "output_activation": "sigmoid", "cost": "squared_error", "weight_decay": 0.0001,
     "dtype": "float64", "init": "ufldl", "seed": 0, "extra": {...}}

``activation`` is one name for every hidden layer or, for a network with one
activation per hidden layer, a list of names, input side first (files with a
single name, every file written before per-layer activations, read as before).

``checksum`` is SHA-256 over every tensor (name, dtype, shape and bytes, in name
order), so a changed or zeroed byte of the weights is caught on load; files of
format version 1 predate it and are read without one.

This module knows the format and nothing of :class:`~deltaprop.network.Network`
beyond the attributes it reads to describe one, so that ``Network.save`` can use
it; building a network from a file is :mod:`deltaprop.modelcheck`'s work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._arrays import to_numpy
from ._files import file_size, interrupts_held
from ._version import __version__
from .activations import ACTIVATIONS
from .costs import COSTS

PathLike = str | os.PathLike[str]

MODEL_FORMAT = "deltaprop-model"
CHECKPOINT_FORMAT = "deltaprop-checkpoint"
FORMAT_VERSION = 2
"""The newest format version this module writes and reads (1: the same, without checksum)."""

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


# --- writing ---------------------------------------------------------------------


def write_model(
    net: Any, path: PathLike, *, metadata: Mapping[str, Any] | None = None, force: bool = True
) -> None:
    """``deltaprop.io.save_model`` (documented there), for ``Network.save`` to call."""
    info = architecture(net)
    info["extra"] = jsonable("metadata", {} if metadata is None else metadata)
    tensors = {PARAMS: params_host(net)}
    atomic_write_bytes(path, serialize(MODEL_FORMAT, info, tensors), force=force)


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
    with interrupts_held():  # Ctrl-C comes after the write, which leaves no temporary file
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


def architecture(net: Any) -> dict[str, Any]:
    """The metadata fields that describe ``net``; a ValueError for a custom activation or cost."""
    act = net.activation  # one Activation, or a tuple of one per hidden layer
    hidden = (
        [(f"activation[{i}]", a) for i, a in enumerate(act)]
        if isinstance(act, tuple)
        else [("activation", act)]
    )
    checks: list[tuple[str, Any, Mapping[str, Any]]] = [
        *((name, a, ACTIVATIONS) for name, a in hidden),
        ("output_activation", net.output_activation, ACTIVATIONS),
        ("cost", net.cost, COSTS),
    ]
    for argument, obj, table in checks:
        if table.get(obj.name) != obj:
            raise ValueError(
                f"{argument}: a custom {type(obj).__name__} ({obj.name!r}) cannot be saved; "
                f"model files store built-in names only: {', '.join(table)}"
            )
    return {
        "deltaprop_version": __version__,
        "layer_sizes": list(net.layer_sizes),
        "activation": net.activation_name
        if isinstance(net.activation_name, str)
        else list(net.activation_name),
        "output_activation": net.output_activation.name,
        "cost": net.cost.name,
        "weight_decay": net.weight_decay,
        "dtype": net.dtype,
        "init": net.init,
        "seed": None if net.seed is None else int(net.seed),
    }


def params_host(net: Any) -> np.ndarray:
    """θ as a contiguous numpy array in the network's dtype; a ValueError if not finite."""
    theta = np.ascontiguousarray(to_numpy(net.params), dtype=np.dtype(net.dtype))
    if not np.all(np.isfinite(theta)):
        bad = int(np.argwhere(~np.isfinite(theta))[0, 0])
        raise ValueError(
            f"net.params has a non-finite value ({theta[bad]}) at index {bad}; "
            "a model file holds finite parameters only"
        )
    return theta


def jsonable(argument: str, value: Any) -> Any:
    """``value`` (a dict) as plain JSON data; numpy scalars and arrays become numbers and lists."""
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


def checksum(tensors: Mapping[str, np.ndarray]) -> str:
    """``"sha256:<hex>"`` over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = np.ascontiguousarray(tensors[name])
        digest.update(json.dumps([name, value.dtype.str, list(value.shape)]).encode())
        digest.update(value.tobytes())
    return "sha256:" + digest.hexdigest()


def serialize(fmt: str, info: dict[str, Any], tensors: dict[str, np.ndarray]) -> bytes:
    """The bytes of a file of format ``fmt``: ``info`` and a checksum as metadata, the tensors."""
    from safetensors.numpy import save

    header = {"format": fmt, "format_version": FORMAT_VERSION, **info}
    header["checksum"] = checksum(tensors)
    return save(tensors, metadata={METADATA_KEY: json.dumps(header)})


# --- reading ---------------------------------------------------------------------


def read(name: str, fmt: str, max_bytes: int) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and the tensors of the file ``name``: framing, format and checksum checked."""
    data = _read_bytes(name, max_bytes)
    header_len = _check_framing(name, data)
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        tensors = load(data)
    # The parser is the trust boundary: whatever it raises means a malformed file.
    except (SafetensorError, ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ModelFileError(f"{name}: not a valid safetensors file ({clip(str(exc))})") from None
    info = _parse_metadata(name, data[8 : 8 + header_len])
    version = _check_format(name, info, fmt)
    if version >= 2:
        stored = check_type(name, info, "checksum", str, "a string")
        if stored != checksum(tensors):
            raise ModelFileError(
                f"{name}: the tensors do not match the checksum in the metadata; "
                "the file is damaged (a changed, zeroed or missing byte)"
            )
    return info, tensors


def _read_bytes(name: str, max_bytes: int) -> bytes:
    size = file_size(name, ModelFileError, "expected a model file")
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
    return data


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


def _check_format(name: str, info: dict[str, Any], fmt: str) -> int:
    found = check_type(name, info, "format", str, "a string")
    if found != fmt:
        hint = {
            MODEL_FORMAT: "; it is a model file, read it with load_model",
            CHECKPOINT_FORMAT: "; it is a checkpoint, read it with load_checkpoint",
        }.get(found, "")
        raise ModelFileError(f"{name}: format is {clip(repr(found))}, expected {fmt!r}{hint}")
    version = check_type(name, info, "format_version", int, "an integer")
    if not 1 <= version <= FORMAT_VERSION:
        newer = " (written by a newer deltaprop)" if version > FORMAT_VERSION else ""
        raise ModelFileError(
            f"{name}: format_version is {version}{newer}; this deltaprop reads versions "
            f"1 to {FORMAT_VERSION}"
        )
    check_type(name, info, "deltaprop_version", str, "a string")
    return int(version)


def field(name: str, info: dict[str, Any], key: str) -> Any:
    """``info[key]``, or a ModelFileError naming the file and the missing field."""
    if key not in info:
        raise ModelFileError(f"{name}: metadata field {key!r} is missing")
    return info[key]


def check_type(name: str, info: dict[str, Any], key: str, kind: type, what: str) -> Any:
    """``info[key]`` if it is a ``kind`` (bools are not ints), else a ModelFileError."""
    value = field(name, info, key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ModelFileError(
            f"{name}: metadata field {key!r} must be {what}, got {clip(repr(value))}"
        )
    return value


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters: messages quote the file, which may be huge."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def numeric(dtype: np.dtype[Any]) -> bool:
    """An integer or floating dtype."""
    return bool(np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating))
