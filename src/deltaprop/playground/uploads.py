"""A learner's CSV: read by ``deltaprop.data``'s table reader, two feature columns and a target.

The bytes come from the page; they are written to a temporary file this module
names itself (no path ever comes from the client), read with
``data.tables.read_table`` (header, delimiter, encoding and row checks, with errors
naming the line), then removed. The two chosen feature columns are rescaled to
[−5, 5] so the points sit in the playground's square; a classification target must
have exactly two values (they become 0 and 1), a regression target is rescaled to
[−1, 1].
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from ..data.errors import DataError
from ..data.tables import Table, read_table
from .session import Upload

MAX_UPLOAD_BYTES = 1_000_000
"""The largest CSV accepted (about 1 MB)."""
MAX_ROWS = 5000


def read_upload(body: bytes) -> Table:
    """The table in the uploaded CSV ``body``; DataError (a ValueError) if it cannot be read."""
    if len(body) > MAX_UPLOAD_BYTES:
        raise DataError(f"upload: the file is {len(body)} bytes; at most {MAX_UPLOAD_BYTES}")
    fd, path = tempfile.mkstemp(prefix="deltaprop-playground-", suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        table = read_table(path, max_bytes=MAX_UPLOAD_BYTES)
    except DataError as exc:  # name the upload, not the temporary file
        raise DataError(str(exc).replace(path, "upload")) from None
    finally:
        os.unlink(path)
    table = Table("upload", table.names, table.columns, table.lines)
    if table.n_rows > MAX_ROWS:
        raise DataError(f"upload: {table.n_rows} rows; the playground takes at most {MAX_ROWS}")
    if table.n_rows < 4:
        raise DataError(f"upload: {table.n_rows} rows; at least 4 are needed (train and test)")
    if len(table.names) < 3:
        raise DataError(
            f"upload: {len(table.names)} columns; two features and a target need at least 3"
        )
    return table


def _numbers(table: Table, name: str) -> np.ndarray:
    column = table.column(name)
    out = np.empty(len(column))
    for row, cell in enumerate(column):
        try:
            out[row] = float(cell)
        except (TypeError, ValueError):
            raise DataError(f"{table.where(row, name)}: expected a number, got {cell!r}") from None
        if not np.isfinite(out[row]):
            raise DataError(f"{table.where(row, name)}: expected a finite number, got {cell!r}")
    return out


def _rescaled(values: np.ndarray, half: float) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high == low:
        return np.zeros_like(values)
    return (values - low) / (high - low) * 2 * half - half


def choose(table: Table, x1: str, x2: str, target: str, problem: str) -> Upload:
    """The data set made of columns ``x1``, ``x2`` (features) and ``target`` of the table."""
    for arg, name in (("x1", x1), ("x2", x2), ("target", target)):
        if name not in table.names:
            names = ", ".join(table.names)
            raise ValueError(f"{arg}: no column {name!r}; the columns are: {names}")
    if len({x1, x2, target}) < 3:
        raise ValueError(
            f"x1, x2 and target must be three different columns, got {x1!r}, {x2!r}, {target!r}"
        )
    points = np.stack([_rescaled(_numbers(table, x1), 5.0), _rescaled(_numbers(table, x2), 5.0)], 1)
    if problem == "classification":
        cells = np.array([str(c) for c in table.column(target)], dtype=object)
        levels = sorted(set(cells))
        if len(levels) != 2:
            shown = ", ".join(repr(v) for v in levels[:5])
            raise ValueError(
                f"target: a classification target needs exactly 2 values; column {target!r} "
                f"has {len(levels)} ({shown}{', …' if len(levels) > 5 else ''})"
            )
        y = (cells == levels[1]).astype(np.float64)
    elif problem == "regression":
        y = _rescaled(_numbers(table, target), 1.0)
    else:
        raise ValueError(f"problem must be 'classification' or 'regression', got {problem!r}")
    return Upload(points, y, (x1, x2, target))
