"""Array namespaces (the Python array API) and input checks at the library's edge.

The numerical core is written once against the array API standard: every
function takes the namespace ``xp`` it computes with. numpy is the default; any
namespace that ``array_api_compat`` recognises (array-api-strict, torch, CuPy)
works too. The namespace is resolved once, when a network is made, never per
operation.

The checks here run once per public call, before any arithmetic, and raise
``ValueError`` naming the argument, what was expected and what came.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ._devices import placed

Array = Any
Namespace = Any

FLOAT_DTYPES = ("float32", "float64")


def resolve_namespace(xp: ModuleType | str | None) -> Namespace:
    """The array namespace for ``xp``: None or "numpy" gives numpy itself.

    A module (``torch``, ``array_api_strict``, ``cupy``) or its import name is
    resolved through ``array_api_compat`` to its standard-conforming namespace.
    """
    if xp is None or xp is np or xp == "numpy":
        return np
    if isinstance(xp, str):
        import importlib

        try:
            xp = importlib.import_module(xp)
        except ImportError as exc:
            raise ValueError(f"xp: cannot import the array library {xp!r} ({exc})") from None
    import array_api_compat

    try:
        return array_api_compat.array_namespace(xp.asarray(0.0))
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"xp: {xp!r} is not an array API namespace ({exc})") from None


def namespace_of(x: Array) -> Namespace:
    """The namespace of an existing array (numpy arrays give numpy itself)."""
    if isinstance(x, np.ndarray | np.generic):
        return np
    import array_api_compat

    return array_api_compat.array_namespace(x)


def to_numpy(x: Array) -> np.ndarray:
    """A numpy copy or view of any array API array (host memory)."""
    if isinstance(x, np.ndarray):
        return x
    try:
        return np.from_dlpack(x)
    except (TypeError, RuntimeError, BufferError, AttributeError):
        import array_api_compat

        return np.asarray(array_api_compat.to_device(x, "cpu"))


def dtype_name(dtype: Any) -> str:
    """Normalise a dtype given as numpy dtype, type or string to "float32"/"float64"."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype).rsplit(".", 1)[-1]
    if name not in FLOAT_DTYPES:
        raise ValueError(f"dtype: expected float32 or float64, got {dtype!r}")
    return name


def first_nonfinite(values: np.ndarray) -> str:
    """Where the first NaN or infinity of ``values`` sits, for an error message."""
    bad = np.argwhere(~np.isfinite(values))[0]
    kind = "NaN" if np.isnan(values[tuple(bad)]) else "infinity"
    if values.ndim == 1:
        return f"{kind} at index {bad[0]}"
    return f"{kind} at row {bad[0]}, column {bad[1]}"


def check_real_finite(name: str, host: np.ndarray) -> None:
    """Raise ValueError naming ``name`` unless ``host`` holds real, finite numbers."""
    if not np.issubdtype(host.dtype, np.number) or np.issubdtype(host.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {host.dtype}")
    if not np.all(np.isfinite(host)):
        raise ValueError(f"{name} contains {first_nonfinite(host)}")


def as_matrix(
    name: str,
    value: Any,
    *,
    columns: int,
    what: str,
    xp: Namespace,
    dtype: Any,
    device: Any = None,
    allow_vector: bool = False,
) -> Array:
    """Check ``value`` is an (m, columns) matrix of finite numbers; convert it.

    Args:
      name: the argument's name in messages ("X", "Y").
      value: anything array-like.
      columns: the number of columns the network needs.
      what: what the columns are ("features, the network's input layer has 64").
      xp, dtype, device: the namespace, dtype and device to convert to.
      allow_vector: a 1-D value is taken as one column when ``columns`` is 1.

    An array already of ``xp`` on ``device`` is checked and cast there (one
    synchronisation for the finiteness check, no copy to the host); host data for
    a network on a device, or data on another device, is refused naming ``name``
    (see ``deltaprop._devices``).
    """
    if placed(name, value, xp, device):
        on_device = _device_matrix(value, columns, xp, dtype, allow_vector)
        if on_device is not None:
            return on_device
        value = to_numpy(value)  # something is wrong with it: the host checks say what
        _host_matrix(name, value, columns, what, dtype, allow_vector)
        raise ValueError(f"{name} cannot be used as it is")  # the checks above raise first
    converted = _host_matrix(name, value, columns, what, dtype, allow_vector)
    if xp is np:
        return converted
    return xp.asarray(converted, device=device)


def _device_matrix(
    value: Array, columns: int, xp: Namespace, dtype: Any, allow_vector: bool
) -> Array | None:
    """``value`` (of ``xp``, on its device) as an (m, columns) matrix of ``dtype``; None if it
    fails a check (the host checks then name the fault)."""
    x = value
    if x.ndim == 1 and allow_vector and columns == 1:
        x = xp.reshape(x, (-1, 1))
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != columns:
        return None
    if not xp.isdtype(x.dtype, ("real floating", "signed integer", "unsigned integer")):
        return None
    target = getattr(xp, dtype_name(dtype))
    converted = x if x.dtype == target else xp.astype(x, target)
    if not bool(xp.all(xp.isfinite(converted))):  # non-finite before, or beyond float32's range
        return None
    return converted


def _host_matrix(
    name: str, value: Any, columns: int, what: str, dtype: Any, allow_vector: bool
) -> np.ndarray:
    """as_matrix's checks on host data: a numpy matrix of ``dtype``."""
    host = _host_array(name, value)
    if host.ndim == 1 and allow_vector and columns == 1:
        host = host.reshape(-1, 1)
    if host.ndim != 2:
        hint = ""
        if host.ndim == 1:
            hint = f"; for a single example use {name}.reshape(1, -1)"
        raise ValueError(
            f"{name} must be a 2-D array (rows = examples), got shape {host.shape}{hint}"
        )
    if host.shape[0] == 0:
        raise ValueError(f"{name} has no rows; at least one example is needed")
    if host.shape[1] != columns:
        raise ValueError(f"{name} has {host.shape[1]} {what} {columns}")
    if not np.all(np.isfinite(host)):
        raise ValueError(f"{name} contains {first_nonfinite(host)}")
    target = np.dtype(dtype_name(dtype))
    with np.errstate(over="ignore"):  # checked just below, naming the value
        converted = np.asarray(host, dtype=target)
    if target.itemsize < host.dtype.itemsize and not np.all(np.isfinite(converted)):
        r, c = (int(i) for i in np.argwhere(~np.isfinite(converted))[0])
        raise ValueError(
            f"{name} has {host[r, c]:.4g} at row {r}, column {c}, beyond the range of "
            f"{target.name}, the network's dtype; rescale the data or use float64"
        )
    return converted


def _host_array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        host = value
    elif hasattr(value, "__dlpack__") or hasattr(value, "__array_namespace__"):
        host = to_numpy(value)
    else:
        try:
            host = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} is not a rectangular array of numbers ({exc})") from None
    if host.dtype == np.bool_ or not (
        np.issubdtype(host.dtype, np.number) and not np.issubdtype(host.dtype, np.complexfloating)
    ):
        raise ValueError(f"{name} must hold real numbers, got dtype {host.dtype}")
    return host
