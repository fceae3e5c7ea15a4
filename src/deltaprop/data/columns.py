"""Feature columns: what each one is, fitted on the training rows, and applied by name.

:meth:`TableEncoder.fit` looks at each column of the training rows and decides:

- **numeric**: every value is a number; missing cells get the training median,
  plus a 0/1 indicator column ``name (missing)`` when the training rows had any;
- **categorical**: text (or booleans) with few distinct values, one-hot encoded;
  a missing cell is its own level ``(missing)`` when the training rows had any,
  and a value never seen in training is encoded as all zeros and reported;
- **date**: ISO dates (``2024-03-01``, with or without a time) become two
  numbers, days since 1970-01-01 and the month, imputed like numbers;
- **dropped**: identifier-like text (almost every value distinct, like names),
  columns with no values, and those named in ``drop``.

Then every output column is standardised with the training rows' mean and
standard deviation. The encoder is plain data: :meth:`to_dict` gives JSON that
a model file stores, :meth:`from_dict` checks it back, and :meth:`transform`
finds each column by name, so a file with its columns in another order gives
the same X.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DataError, clip
from .preprocessing import Standardizer, fit_standardizer, standardize_checked
from .tables import Table

NUMERIC, CATEGORICAL, DATE, DROPPED = "numeric", "categorical", "date", "dropped"
KINDS = (NUMERIC, CATEGORICAL, DATE, DROPPED)
MISSING_POLICIES = ("impute", "drop", "error")
MISSING_LEVEL = "(missing)"
MAX_LEVELS = 200
"""Text columns with more distinct values than this are dropped rather than one-hot encoded."""

_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class ColumnSpec:
    """One input column and how it becomes features; ``note`` says what was done."""

    name: str
    kind: str
    note: str
    medians: tuple[float, ...] = ()  # numeric: 1, date: 2 (days, month)
    indicator: bool = False
    categories: tuple[str, ...] = ()

    @property
    def outputs(self) -> list[str]:
        """The names of the features this column becomes."""
        if self.kind == NUMERIC:
            return [self.name] + ([f"{self.name} (missing)"] if self.indicator else [])
        if self.kind == DATE:
            extra = [f"{self.name} (missing)"] if self.indicator else []
            return [f"{self.name} (days since 1970-01-01)", f"{self.name} (month)", *extra]
        if self.kind == CATEGORICAL:
            return [f"{self.name}={c}" for c in self.categories]
        return []


@dataclass(frozen=True, eq=False)
class Encoded:
    """X (m, n) float64 and notes on what :meth:`TableEncoder.transform` had to do."""

    X: np.ndarray
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class TableEncoder:
    """The fitted preprocessing of a table's feature columns (see the module docstring)."""

    columns: tuple[ColumnSpec, ...]
    missing: str = "impute"
    scaler: Standardizer | None = None

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The names of X's columns, in order."""
        return tuple(name for spec in self.columns for name in spec.outputs)

    @property
    def n_features(self) -> int:
        """Columns of X: the size of a network's input layer."""
        return len(self.feature_names)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The columns a table must have (the dropped ones need not be there)."""
        return tuple(s.name for s in self.columns if s.kind != DROPPED)

    @classmethod
    def fit(
        cls,
        table: Table,
        *,
        drop: Iterable[str] = (),
        categorical: Iterable[str] = (),
        numeric: Iterable[str] = (),
        missing: str = "impute",
        standardize: bool = True,
    ) -> TableEncoder:
        """Decide each column's kind and fit its statistics on ``table`` (the training rows).

        ``drop``, ``categorical`` and ``numeric`` name columns whose kind is given
        rather than inferred; ``missing`` is "impute" (default), "drop" (the
        caller removes rows with missing cells first) or "error".
        """
        if missing not in MISSING_POLICIES:
            raise DataError(
                f"missing: expected one of {', '.join(MISSING_POLICIES)}, got {missing!r}"
            )
        given = {"drop": set(drop), "categorical": set(categorical), "numeric": set(numeric)}
        for option, names in given.items():
            for name in sorted(names):
                if name not in table.names:
                    raise DataError(
                        f"{table.source}: {option}: no column named {name!r}; "
                        f"the columns are: {', '.join(table.names)[:300]}"
                    )
        both = given["categorical"] & given["numeric"] | given["drop"] & (
            given["categorical"] | given["numeric"]
        )
        if both:
            raise DataError(f"column {sorted(both)[0]!r} is given two kinds")
        specs = []
        for name, values in zip(table.names, table.columns, strict=True):
            forced = next((k for k, v in given.items() if name in v), None)
            specs.append(_fit_column(table, name, values, forced, missing))
        encoder = cls(tuple(specs), missing)
        if not encoder.n_features:
            raise DataError(f"{table.source}: no feature columns are left to learn from")
        if not standardize:
            return encoder
        X = encoder.transform(table, standardized=False).X
        scaler = fit_standardizer(table.source, X, encoder.feature_names)
        return cls(encoder.columns, missing, scaler)

    @classmethod
    def for_arrays(cls, names: Sequence[str], scaler: Standardizer | None) -> TableEncoder:
        """Numeric columns ``names`` with no missing values, and an already fitted scaler."""
        specs = tuple(ColumnSpec(n, NUMERIC, "number", (0.0,)) for n in names)
        return cls(specs, "error", scaler)

    def transform(self, table: Table, *, standardized: bool = True) -> Encoded:
        """X for ``table``'s rows; each input column found by name, extra ones ignored."""
        absent = [name for name in self.inputs if name not in table.names]
        if absent:
            raise DataError(
                f"{table.source}: no column {absent[0]!r}, which the model needs"
                + (f" (nor {', '.join(map(repr, absent[1:]))[:200]})" if absent[1:] else "")
                + f"; the file's columns are: {', '.join(table.names)[:300]}"
            )
        notes: list[str] = []
        extra = [n for n in table.names if n not in {s.name for s in self.columns}]
        if extra:
            notes.append(f"ignored columns the model does not use: {', '.join(extra)[:300]}")
        parts = [
            _encode(table, spec, table.column(spec.name), self.missing, notes)
            for spec in self.columns
            if spec.kind != DROPPED
        ]
        X = np.column_stack(parts) if parts else np.empty((table.n_rows, 0))
        if standardized and self.scaler is not None:
            X = standardize_checked(self.scaler, X, table.where, self.feature_names)
        return Encoded(X, notes)

    def describe(self) -> list[str]:
        """The column table: name, kind and what was done, one line each."""
        width = max([len(s.name) for s in self.columns] + [6])
        lines = [f"  {'column':<{width}}  {'type':<12}  what was done"]
        lines += [f"  {s.name:<{width}}  {s.kind:<12}  {s.note}" for s in self.columns]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: what a model file stores."""
        return {
            "missing": self.missing,
            "columns": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "note": s.note,
                    "medians": list(s.medians),
                    "indicator": s.indicator,
                    "categories": list(s.categories),
                }
                for s in self.columns
            ],
            "scaler": None if self.scaler is None else self.scaler.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TableEncoder:
        """The encoder :meth:`to_dict` described; a DataError naming ``where`` if malformed."""
        try:
            specs = tuple(_spec_from(c) for c in data["columns"])
            missing = data["missing"]
            scaler = data["scaler"]
            if missing not in MISSING_POLICIES or not specs:
                raise ValueError
            encoder = cls(specs, missing, None)
            if scaler is not None:
                encoder = cls(specs, missing, Standardizer.from_dict(scaler, encoder.n_features))
        except (KeyError, TypeError, ValueError, IndexError):
            raise DataError(f"{where}: the stored column preprocessing is malformed") from None
        return encoder


def _spec_from(c: Mapping[str, Any]) -> ColumnSpec:
    spec = ColumnSpec(
        str(c["name"]),
        str(c["kind"]),
        str(c["note"]),
        tuple(float(v) for v in c["medians"]),
        bool(c["indicator"]),
        tuple(str(v) for v in c["categories"]),
    )
    need = {NUMERIC: 1, DATE: 2}.get(spec.kind, 0)
    if spec.kind not in KINDS or len(spec.medians) != need:
        raise ValueError
    if not all(np.isfinite(spec.medians)):
        raise ValueError
    if spec.kind == CATEGORICAL and not spec.categories:
        raise ValueError
    return spec


# --- fitting one column ----------------------------------------------------------


def _fit_column(
    table: Table, name: str, values: np.ndarray, forced: str | None, missing: str
) -> ColumnSpec:
    present = _present(values)
    n_missing = int((~present).sum())
    if forced == "drop":
        return ColumnSpec(name, DROPPED, "named by --drop")
    if n_missing and missing == "error":
        row = int(np.argmin(present))
        raise DataError(f"{table.where(row, name)}: missing value (the missing policy is 'error')")
    if not present.any():
        return ColumnSpec(name, DROPPED, "no values in the training rows")
    if forced != "categorical" and values.dtype.kind == "f":
        return _numeric_spec(table, name, values, present)
    texts = np.array([_text(v) for v in values[present]], dtype=object)
    numbers = _as_numbers(values)
    n_numbers = int((~np.isnan(numbers)).sum())  # infinity is a number, refused later
    if forced == "numeric" or (forced is None and n_numbers == len(texts)):
        return _numeric_spec(table, name, values, present)
    if forced is None and all(_ISO_DATE.match(t) for t in texts):
        days = _days(table, name, values)
        medians = (float(np.nanmedian(days)), float(np.nanmedian(_month(days))))
        note = "ISO dates → days since 1970-01-01 and month" + _imputed(n_missing, medians[0])
        return ColumnSpec(name, DATE, note, medians, n_missing > 0)
    distinct = sorted(set(texts))
    if forced is None and n_numbers >= 0.9 * len(texts):
        row = next(i for i in range(len(values)) if present[i] and np.isnan(numbers[i]))
        raise DataError(
            f"{table.where(row, name)}: {clip(repr(values[row]))} is not a number, though "
            f"{100 * n_numbers / len(texts):.0f} % of the column's values are; mark missing "
            f"values as NA, or pass --categorical {name} or --drop {name}"
        )
    if forced is None and len(texts) >= 20 and len(distinct) >= 0.9 * len(texts):
        return ColumnSpec(
            name,
            DROPPED,
            f"identifier-like text, {len(distinct)} distinct values in {len(texts)} rows "
            f"(--categorical {name} keeps it)",
        )
    if forced is None and len(distinct) > MAX_LEVELS:
        return ColumnSpec(
            name,
            DROPPED,
            f"{len(distinct)} distinct values, too many to one-hot encode "
            f"(--categorical {name} keeps it)",
        )
    levels = tuple(distinct) + ((MISSING_LEVEL,) if n_missing else ())
    note = f"one-hot, {len(distinct)} levels" + (
        f" + '{MISSING_LEVEL}' ({n_missing} rows)" if n_missing else ""
    )
    return ColumnSpec(name, CATEGORICAL, note, categories=levels)


def _numeric_spec(table: Table, name: str, values: np.ndarray, present: np.ndarray) -> ColumnSpec:
    numbers = _checked_numbers(table, name, values, present)
    median = float(np.median(numbers[present]))
    n_missing = int((~present).sum())
    return ColumnSpec(
        name, NUMERIC, "number" + _imputed(n_missing, median), (median,), n_missing > 0
    )


def _imputed(n_missing: int, median: float) -> str:
    if not n_missing:
        return ""
    return f"; {n_missing} missing: median {median:.6g} imputed, + missing indicator"


# --- encoding --------------------------------------------------------------------


def _encode(
    table: Table, spec: ColumnSpec, values: np.ndarray, missing: str, notes: list[str]
) -> np.ndarray:
    present = _present(values)
    n_missing = int((~present).sum())
    if n_missing and missing == "error":
        row = int(np.argmin(present))
        raise DataError(
            f"{table.where(row, spec.name)}: missing value (the missing policy is 'error')"
        )
    if spec.kind == CATEGORICAL:
        return _one_hot(spec, values, present, notes)
    if spec.kind == NUMERIC:
        parts = [_checked_numbers(table, spec.name, values, present)]
    else:
        days = _days(table, spec.name, values)
        parts = [days, _month(days)]
    out = [np.where(present, p, m) for p, m in zip(parts, spec.medians, strict=True)]
    if spec.indicator:
        out.append((~present).astype(np.float64))
    elif n_missing:
        notes.append(
            f"column {spec.name!r}: {n_missing} missing values imputed with the training median "
            "(training had none)"
        )
    return np.column_stack(out)


def _one_hot(
    spec: ColumnSpec, values: np.ndarray, present: np.ndarray, notes: list[str]
) -> np.ndarray:
    index = {c: k for k, c in enumerate(spec.categories)}
    out = np.zeros((len(values), len(spec.categories)))
    unseen: dict[str, int] = {}
    for i, value in enumerate(values):
        key = _text(value) if present[i] else MISSING_LEVEL
        k = index.get(key)
        if k is None:
            unseen[key] = unseen.get(key, 0) + 1
        else:
            out[i, k] = 1.0
    if unseen:
        shown = ", ".join(f"{v!r} ({n})" for v, n in sorted(unseen.items())[:5])
        notes.append(
            f"column {spec.name!r}: {sum(unseen.values())} values not seen in training, "
            f"encoded as all zeros: {shown}" + (" …" if len(unseen) > 5 else "")
        )
    return out


def _present(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    return np.array([v is not None for v in values], dtype=bool)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_numbers(values: np.ndarray) -> np.ndarray:
    """float64, NaN where a cell is missing or not a number."""
    if values.dtype.kind == "f":
        return values
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is not None:
            with contextlib.suppress(ValueError):
                out[i] = float(v)
    return out


def _checked_numbers(
    table: Table, name: str, values: np.ndarray, present: np.ndarray
) -> np.ndarray:
    numbers = _as_numbers(values)
    bad = present & ~np.isfinite(numbers)
    if bad.any():
        row = int(np.argmax(bad))
        cell = values[row]
        what = (
            "infinity is not allowed in data"
            if np.isinf(numbers[row])
            else f"{clip(repr(str(cell)))} is not a number"
        )
        raise DataError(f"{table.where(row, name)}: {what}")
    return numbers


def _days(table: Table, name: str, values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is None:
            continue
        text = str(v)
        try:
            if not _ISO_DATE.match(text):
                raise ValueError
            out[i] = float((np.datetime64(text[:10], "D") - _EPOCH).astype(np.int64))
        except ValueError:
            raise DataError(
                f"{table.where(i, name)}: {clip(repr(text))} is not an ISO date"
            ) from None
    return out


def _month(days: np.ndarray) -> np.ndarray:
    ok = np.isfinite(days)
    months = np.full(len(days), np.nan)
    stamps = (_EPOCH + days[ok].astype(np.int64)).astype("datetime64[M]").astype(np.int64)
    months[ok] = stamps % 12 + 1
    return months
