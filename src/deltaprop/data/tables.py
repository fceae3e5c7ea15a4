"""Tables read by name: CSV (any of , ; tab) and Parquet through pandas, cells kept as text.

:func:`read_table` gives a :class:`Table`: its column names, one array per
column and, for a text file, the line each row starts on (as an editor numbers
lines), so that every later message can say "train.csv: line 7, column 'age'".
Text cells are stripped; empty cells and the usual markers of a missing value
(``NA``, ``N/A``, ``NaN``, ``null``, ``?``, ``-``, in any case) become None.
What each column *is* (a number, a category, a date) is decided later, on the
training rows, by :mod:`deltaprop.data.columns`.

Why pandas: its reader is the convention of the Python data ecosystem and reads
quoting, every delimiter, encodings and (with pyarrow installed) Parquet. Its
Python engine is used rather than its C engine because it tells a row with too
few fields from one with empty cells (the C engine pads short rows silently);
it is about three times slower, some 3 s for 40 MB, which a table that fits a
fully-connected network can afford. Nothing in a file is ever executed, and a
file larger than ``max_bytes`` is refused before it is read.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._files import file_size
from .errors import DataError, clip

PathLike = str | os.PathLike[str]

MAX_TABLE_BYTES = 1 << 30
"""Default cap (bytes) on a CSV or Parquet file's size."""

MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "?", "-"})
"""Cells (stripped, compared without case) that mean "no value"."""

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
"""The delimiters :func:`read_table` detects from the header line."""

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


@dataclass(frozen=True, eq=False)
class Table:
    """Columns by name, rows = examples.

    ``columns[j]`` is a 1-D array: float64 for a column stored as numbers (a
    Parquet number column, an array file), otherwise objects, each a str or None
    for a missing cell. ``lines[i]`` is the line row i starts on in a text file,
    or None where the source has no lines.
    """

    source: str
    names: tuple[str, ...]
    columns: tuple[np.ndarray, ...]
    lines: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        """The number of rows (examples)."""
        return int(self.columns[0].shape[0]) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        """The column called ``name``."""
        return self.columns[self.names.index(name)]

    def where(self, row: int, name: str | None = None) -> str:
        """Where row ``row`` (0-based) is, for a message: "file: line 7, column 'age'"."""
        place = f"row {row + 1}" if self.lines is None else f"line {int(self.lines[row])}"
        return f"{self.source}: {place}" + ("" if name is None else f", column {name!r}")

    def take(self, rows: np.ndarray) -> Table:
        """The rows ``rows`` (indices or a boolean mask), in that order."""
        lines = None if self.lines is None else self.lines[rows]
        return Table(self.source, self.names, tuple(c[rows] for c in self.columns), lines)

    def without(self, name: str) -> Table:
        """Every column but ``name``."""
        keep = [j for j, n in enumerate(self.names) if n != name]
        return Table(
            self.source,
            tuple(self.names[j] for j in keep),
            tuple(self.columns[j] for j in keep),
            self.lines,
        )


def table_from_array(source: str, X: np.ndarray, names: tuple[str, ...] | None = None) -> Table:
    """A table of float64 columns from a 2-D array (names "0", "1", … by default)."""
    X = np.asarray(X, dtype=np.float64)
    names = tuple(str(j) for j in range(X.shape[1])) if names is None else names
    return Table(source, names, tuple(X[:, j] for j in range(X.shape[1])))


def is_table_file(path: PathLike) -> bool:
    """True for the names :func:`read_table` reads: .csv, .tsv, .txt, .parquet, .pq."""
    return Path(path).name.lower().endswith(TABLE_SUFFIXES)


def read_table(
    path: PathLike,
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
    max_bytes: int = MAX_TABLE_BYTES,
) -> Table:
    """The table in a CSV or Parquet file; the first row of a CSV names the columns.

    Args:
      path: a .csv, .tsv or .txt file (text) or a .parquet / .pq file.
      delimiter: one character; None detects comma, semicolon or tab from the
        header line (the one that occurs most in it; comma when none does).
      encoding: the text's encoding; None means UTF-8, with or without a byte
        order mark. Other bytes are an error that names the offset and line and
        suggests ``encoding="latin-1"``.
      max_bytes: refuse a file larger than this before reading it.

    Raises:
      DataError: naming the file and, where it applies, the line and column.
    """
    _check_size(path, max_bytes)
    if Path(path).name.lower().endswith((".parquet", ".pq")):
        return _read_parquet(path)
    text = _decode(path, encoding)
    if delimiter is None:
        first = next((line for line in text.splitlines() if line.strip()), "")
        counts = {d: first.count(d) for d in DELIMITERS}
        delimiter = max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","
    elif len(delimiter) != 1 or delimiter in '"\r\n':
        raise DataError(f"{path}: delimiter must be one character (not a quote), got {delimiter!r}")
    return _parse(str(path), text, delimiter)


def _check_size(path: PathLike, max_bytes: int) -> None:
    size = file_size(path, DataError, "not a file")
    if size > max_bytes:
        raise DataError(f"{path}: {size} bytes, more than max_bytes={max_bytes} allows")


def _decode(path: PathLike, encoding: str | None) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode(encoding or "utf-8-sig")
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not "
            f"{encoding or 'UTF-8'} text; give the file's encoding (--encoding latin-1, or "
            "encoding='latin-1' in Python)"
        ) from None
    return text.removeprefix("\ufeff")


_PANDAS_CSV = {
    "header": None,  # the header is checked here (pandas would rename a repeated name)
    "dtype": str,  # every cell as text; the columns' kinds are decided on the training rows
    "keep_default_na": False,  # "" stays "", a short row's absent fields become NaN
    "skip_blank_lines": False,  # so that row i is on a line this module can count
    "engine": "python",  # see the module docstring
    "quotechar": '"',
}


def _parse(source: str, text: str, delimiter: str) -> Table:
    import pandas as pd

    body = text.lstrip("\r\n \t")
    skipped = text[: len(text) - len(body)].count("\n")  # blank lines before the header
    text = body
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, **_PANDAS_CSV)
    except pd.errors.EmptyDataError:
        raise DataError(f"{source}: empty file; a header row of column names is required") from None
    except (pd.errors.ParserError, ValueError) as exc:
        message = " ".join(str(exc).split())
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
        if found:
            want, line, got = (int(g) for g in found.groups())
            message = f"line {line + skipped}: {_fields(got)}, the header has {want}"
        elif "unexpected end of data" in message:
            line = _open_quote_line(text) + skipped
            message = f'line {line}: a quoted field (") starts here and is never closed'
        raise DataError(f"{source}: {message[:200]}") from None
    cells = frame.to_numpy(dtype=object)
    absent = frame.isna().to_numpy()  # short rows; blank lines are rows of nothing
    newlines = np.array([[c.count("\n") if isinstance(c, str) else 0 for c in r] for r in cells])
    starts = (
        1
        + skipped
        + np.arange(len(cells))
        + np.concatenate([[0], np.cumsum(newlines.sum(axis=1))[:-1]])
    )
    blank = absent.all(axis=1) | np.array([all(c in ("", None) for c in r) for r in cells])
    first = int(np.argmin(blank)) if not blank.all() else len(cells)
    if first == len(cells):
        raise DataError(f"{source}: empty file; a header row of column names is required")
    names = _check_header(source, [str(c).strip() for c in cells[first] if not _na(c)])
    rows = np.flatnonzero(~blank[first + 1 :]) + first + 1
    if len(rows) == 0:
        raise DataError(f"{source}: no data rows after the header")
    short = absent[rows, : len(names)].any(axis=1) | absent[rows].all(axis=1)
    if short.any():
        i = rows[int(np.argmax(short))]
        fields = _fields(int((~absent[i]).sum()))
        raise DataError(f"{source}: line {starts[i]}: {fields}, the header has {len(names)}")
    if cells.shape[1] > len(names):
        extra = ~absent[rows, len(names) :].all(axis=1)
        i = rows[int(np.argmax(extra))]
        raise DataError(
            f"{source}: line {starts[i]}: {_fields(int((~absent[i]).sum()))}, "
            f"the header has {len(names)}"
        )
    columns = tuple(_missing_as_none(cells[rows, j]) for j in range(len(names)))
    return Table(source, tuple(names), columns, starts[rows])


def _open_quote_line(text: str) -> int:
    """The line on which the quoted field still open at the end of ``text`` begins."""
    line, opened, inside = 1, 1, False
    for char in text:
        if char == '"':
            inside = not inside
            if inside:
                opened = line
        elif char == "\n":
            line += 1
    return opened


def _fields(n: int) -> str:
    return "1 field" if n == 1 else f"{n} fields"


def _na(cell: object) -> bool:
    return not isinstance(cell, str)


def _missing_as_none(cells: np.ndarray) -> np.ndarray:
    out = np.empty(len(cells), dtype=object)
    for i, cell in enumerate(cells):
        text = cell.strip()
        out[i] = None if text.lower() in MISSING_MARKERS else text
    return out


def _check_header(source: str, names: list[str]) -> list[str]:
    for i, name in enumerate(names):
        if not name:
            raise DataError(f"{source}: line 1, column {i + 1}: empty column name")
        if names.index(name) != i:
            raise DataError(f"{source}: line 1: column name {clip(repr(name))} appears twice")
    if all(is_number(name) for name in names):
        raise DataError(
            f"{source}: line 1 looks like data, not a header; a header row of column names "
            "is required"
        )
    return names


def resolve_target(table: Table, target: str | int | None) -> str:
    """The target column's name: by name, else by index (0-based, negative from the end).

    A string that names no column but reads as a whole number is an index, so
    ``--target 0`` and ``--target -1`` work on the command line.
    """
    names, source = table.names, table.source
    if target is None:
        return names[-1]
    if isinstance(target, str) and target in names:
        return target
    index: int | None = None
    integer = isinstance(target, int | np.integer) and not isinstance(target, bool)
    if integer or (isinstance(target, str) and target.strip().lstrip("+-").isdigit()):
        index = int(target)
    if index is None:
        raise DataError(
            f"{source}: target: no column named {target!r}; the columns are: "
            f"{', '.join(names)[:300]}"
        )
    if not -len(names) <= index < len(names):
        raise DataError(
            f"{source}: target: column index {index} is out of range for {len(names)} columns "
            f"(0 … {len(names) - 1}, or −1 for the last)"
        )
    return names[index]


def read_csv(
    path: PathLike,
    *,
    target: str | int | None = None,
    features_only: bool = False,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features X (m, n − 1) float64, target y (m,) and the feature names, from an all-number CSV.

    The strict reader, for files that are numbers already: ``target`` picks the
    target column by name or index (negative counts from the end; default the
    last); it holds numbers (y float64) or class names (y an array of str).
    Every other cell must be a finite number: a missing cell, infinity or text
    is an error naming the file, the line and the column. With
    ``features_only`` every column is a feature and y is empty. Tables with
    text, dates or missing cells go through :func:`read_table` and
    :class:`~deltaprop.data.columns.TableEncoder` instead.
    """
    table = read_table(path, delimiter=delimiter, encoding=encoding)
    if not features_only and len(table.names) < 2:
        raise DataError(f"{path}: line 1: 1 column; features and a target are needed")
    name = None if features_only else resolve_target(table, target)
    features = table if name is None else table.without(name)
    X = np.full((table.n_rows, len(features.names)), np.nan)
    bad = np.zeros(X.shape, dtype=bool)
    for j, column in enumerate(features.columns):
        for i, cell in enumerate(column):
            number = float(cell) if cell is not None and is_number(cell) else np.nan
            X[i, j] = number
            bad[i, j] = not np.isfinite(number)
    if name is not None:
        y_cells = table.column(name)
        missing = np.array([c is None for c in y_cells])
        bad = np.column_stack([bad, missing])
        names = (*features.names, name)
    else:
        names = features.names
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        cells = features.columns[j] if j < len(features.names) else table.column(names[j])
        cell = cells[i]
        where = table.where(i, names[j])
        if cell is None:
            raise DataError(f"{where}: missing value; missing values (NaN) are not allowed here")
        if is_number(cell):
            kind = "NaN" if np.isnan(float(cell)) else "infinity"
            raise DataError(f"{where}: {kind} is not allowed in data")
        raise DataError(f"{where}: {clip(repr(cell))} is not a number")
    if name is None:
        return X, np.empty(0), features.names
    texts = [str(c) for c in table.column(name)]
    if all(is_number(t) for t in texts):
        y = np.array([float(t) for t in texts])
        if not np.all(np.isfinite(y)):
            i = int(np.argmax(~np.isfinite(y)))
            raise DataError(f"{table.where(i, name)}: infinity is not allowed in data")
        return X, y, features.names
    return X, np.array(texts, dtype=str), features.names


def is_number(text: str) -> bool:
    """True if ``float(text)`` reads it."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_parquet(path: PathLike) -> Table:
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError(
            f"{path}: reading Parquet needs pyarrow; install it with: pip install pyarrow"
        ) from None
    except (OSError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise DataError(f"{path}: not a readable Parquet file ({reason})") from None
    names = _check_header(str(path), [str(c).strip() for c in frame.columns])
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            columns.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            if pd.api.types.is_datetime64_any_dtype(series):
                series = series.dt.strftime("%Y-%m-%d")
            text = np.array([None if pd.isna(v) else str(v) for v in series], dtype=object)
            columns.append(_missing_as_none(np.array(["" if v is None else v for v in text])))
    if not columns or len(frame) == 0:
        raise DataError(f"{path}: no data rows")
    return Table(str(path), tuple(names), tuple(columns))
