"""Sparse inputs: scipy.sparse matrices and arrays as X, and the one product that sees them.

A sparse X (CSR, CSC or COO; ``csr_matrix`` or ``csr_array`` alike) is checked
and stored as CSR in the network's dtype, never densified. Only the first layer
touches it: z⁽²⁾ = W⁽¹⁾x + b⁽¹⁾ is ``x @ W⁽¹⁾ᵀ`` (sparse × dense gives a dense
(m, s₂) array) and ∂J/∂W⁽¹⁾ = δ⁽²⁾ᵀx/m is ``(xᵀ δ⁽²⁾)ᵀ / m``; every later layer's
arrays are dense. backprop writes both with ``@``, which scipy defines for its
sparse types; the numpy engine, which writes products into preallocated arrays,
calls :func:`first_layer` and :func:`first_gradient` here. Mini-batches are
gathered as sparse rows (:func:`take_rows`).

Sparse input needs the numpy namespace: other array libraries get a ValueError
naming X.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ._arrays import Namespace, dtype_name

SPARSE_FORMATS = ("csr", "csc", "coo")
"""The scipy.sparse formats taken as X (others are converted by the caller)."""


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a scipy.sparse matrix or array (or a subclass of one).

    Nothing is imported: without scipy.sparse loaded, no object can be one.
    """
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(x))


def as_csr(name: str, value: Any, *, columns: int, what: str, xp: Namespace, dtype: Any) -> Any:
    """A scipy.sparse ``value`` checked like a dense X and stored as CSR of ``dtype``.

    Copies only to change format or dtype; never densifies. A ValueError names
    ``name`` for a non-numpy namespace, a format other than CSR/CSC/COO, a
    wrong shape, non-real or non-finite entries, or values beyond float32's range.
    """
    if xp is not np:
        raise ValueError(
            f"{name} is a scipy.sparse {type(value).__name__}; sparse input needs the numpy "
            f"namespace, the network uses {getattr(xp, '__name__', xp)!r}: pass a dense array"
        )
    if value.format not in SPARSE_FORMATS:
        raise ValueError(
            f"{name} is a scipy.sparse {value.format!r} {type(value).__name__}; expected "
            f"one of {', '.join(SPARSE_FORMATS)} (convert it with {name}.tocsr())"
        )
    if value.ndim != 2:
        raise ValueError(f"{name} must be 2-D (rows = examples), got shape {value.shape}")
    m, n = value.shape
    if m == 0:
        raise ValueError(f"{name} has no rows; at least one example is needed")
    if n != columns:
        raise ValueError(f"{name} has {n} {what} {columns}")
    kind = value.dtype
    if kind == np.bool_ or not np.issubdtype(kind, np.number):
        raise ValueError(f"{name} must hold real numbers, got dtype {kind}")
    if np.issubdtype(kind, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {kind}")
    csr = value.tocsr() if value.format != "csr" else value
    _check_entries(name, csr)
    target = np.dtype(dtype_name(dtype))
    if csr.dtype != target:
        with np.errstate(over="ignore"):
            converted = csr.astype(target)
        if not np.all(np.isfinite(converted.data)):
            r, c = _position(csr, int(np.argwhere(~np.isfinite(converted.data))[0, 0]))
            raise ValueError(
                f"{name} has {csr[r, c]:.4g} at row {r}, column {c}, beyond the range of "
                f"{target.name}, the network's dtype; rescale the data or use float64"
            )
        csr = converted
    return csr


def _check_entries(name: str, csr: Any) -> None:
    if not np.all(np.isfinite(csr.data)):
        i = int(np.argwhere(~np.isfinite(csr.data))[0, 0])
        kind = "NaN" if np.isnan(csr.data[i]) else "infinity"
        r, c = _position(csr, i)
        raise ValueError(f"{name} contains {kind} at row {r}, column {c}")


def _position(csr: Any, i: int) -> tuple[int, int]:
    """(row, column) of the i-th stored entry of a CSR matrix."""
    row = int(np.searchsorted(csr.indptr, i, side="right")) - 1
    return row, int(csr.indices[i])


def take_rows(x: Any, idx: Any) -> Any:
    """The rows ``idx`` of a CSR ``x``, in that order, as CSR (a mini-batch)."""
    return x[np.asarray(idx)]


def first_layer(x: Any, W: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """z⁽²⁾ = x W⁽¹⁾ᵀ + b⁽¹⁾ into ``out``, for a CSR x: the sparse product, dense result."""
    out[...] = x @ W.T
    out += b
    return out


def first_gradient(delta: np.ndarray, x: Any, out: np.ndarray) -> None:
    """δᵀ x into ``out`` (s₂, s₁), for a CSR x, as (xᵀ δ)ᵀ: xᵀ is CSC, no copy of x."""
    out[...] = (x.T @ delta).T
