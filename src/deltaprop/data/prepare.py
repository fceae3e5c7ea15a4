"""Data files and built-in datasets made ready for a network, fitted on the training rows.

>>> from deltaprop.data import prepare_dataset
>>> p = prepare_dataset("iris", seed=0)
>>> p.task, p.X_train.shape, p.Y_train.shape
('classification', (90, 4), (90, 3))

:func:`prepare_file` reads a table (CSV, Parquet) or an array file (.npy, .npz,
IDX), drops the rows whose target is missing, splits the rows (stratified for
classification), fits the column preprocessing and the target's encoding on
the training rows only, and applies them to every split. The fitted
:class:`~deltaprop.data.columns.TableEncoder` and
:class:`~deltaprop.data.targets.TargetEncoder` are plain data:
:meth:`Prepared.preprocessing` gives the JSON a model file stores, and
:func:`rows_for_model` applies it to another file by column name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .columns import TableEncoder
from .datasets import DATASETS, load_dataset
from .errors import DataError
from .preprocessing import one_hot, split_indices
from .readers import load_file, read_npy
from .tables import Table, is_table_file, read_table, resolve_target, table_from_array
from .targets import CLASSIFICATION, TargetEncoder


@dataclass(frozen=True, eq=False)
class Prepared:
    """Training, validation and test arrays ready for a network, and how they were made.

    ``columns`` is the fitted feature preprocessing (None for a built-in dataset,
    which comes preprocessed), ``target`` the task and the target's encoding,
    ``notes`` what was done that a user should hear (rows dropped, columns ignored).
    """

    source: str
    X_train: np.ndarray
    Y_train: np.ndarray
    X_val: np.ndarray
    Y_val: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    target: TargetEncoder
    columns: TableEncoder | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        """ "classification" or "regression"."""
        return self.target.task

    @property
    def classes(self) -> list[str]:
        """The class names (classification), else empty."""
        return list(self.target.classes)

    @property
    def n_features(self) -> int:
        """Columns of X: the size of a network's input layer."""
        return int(self.X_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Columns of Y: the size of a network's output layer."""
        return int(self.Y_train.shape[1])

    def preprocessing(self) -> dict[str, Any]:
        """The fitted preprocessing as JSON data, to store beside the model's weights."""
        return {
            "columns": None if self.columns is None else self.columns.to_dict(),
            "target": self.target.to_dict(),
        }


def is_dataset(name: str) -> bool:
    """True if ``name`` is a built-in dataset rather than a file."""
    return name in DATASETS


def prepare_dataset(
    name: str, *, seed: int = 0, val_size: float = 0.2, test_size: float | None = None
) -> Prepared:
    """The built-in dataset ``name`` split and preprocessed as :func:`load_dataset` does."""
    ds = load_dataset(name, seed=seed, val_size=val_size, test_size=test_size)
    if ds.task == CLASSIFICATION:
        target = TargetEncoder(None, ds.task, "built-in dataset", tuple(map(str, ds.classes)))
        k = len(ds.classes)
        Ys = [one_hot(y, k) for y in (ds.y_train, ds.y_val, ds.y_test)]
    else:
        target = TargetEncoder(None, ds.task, "built-in dataset", (), ds.target_scaler)
        Ys = [
            np.asarray(y, dtype=np.float64).reshape(len(y), -1)
            for y in (ds.y_train, ds.y_val, ds.y_test)
        ]
    return Prepared(name, ds.X_train, Ys[0], ds.X_val, Ys[1], ds.X_test, Ys[2], target)


def read_data(
    path: str,
    *,
    target: str | int | None = None,
    labels_path: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    need_target: bool = True,
) -> tuple[Table, str | None, np.ndarray | None]:
    """(feature table, target name, target values) from any data file deltaprop reads.

    Tables give their columns by name; array files (.npy, .npz, IDX) give
    columns named by position, "0", "1", …, and, for .npz and IDX, a target
    held apart ("y", "label"). With ``need_target`` False a missing target
    column is no error: values None (for predicting).
    """
    if not Path(path).exists():
        names = ", ".join(DATASETS)
        raise DataError(f"{path}: no such file, and not a built-in dataset ({names})")
    if is_table_file(path):
        if labels_path is not None:
            raise DataError(f"{path}: labels: only IDX image files take a separate labels file")
        table = read_table(path, delimiter=delimiter, encoding=encoding)
        if not need_target and (target is None or str(target) not in table.names):
            return table, None, None
        name = resolve_target(table, target)
        if len(table.names) < 2:
            raise DataError(f"{path}: 1 column; features and a target are needed")
        return table.without(name), name, table.column(name)
    for option, value in (("delimiter", delimiter), ("encoding", encoding)):
        if value is not None:
            raise DataError(f"{path}: {option}: applies to CSV files only")
    index = target
    if isinstance(target, str) and target.strip().lstrip("+-").isdigit():
        index = int(target)
    if str(path).lower().endswith(".npy") and not need_target:
        X, y = read_npy(path, target=None if index is None else int(index))
        return table_from_array(str(path), np.column_stack([X, y])), None, None
    X, y = load_file(path, target=index, labels_path=labels_path)
    return table_from_array(str(path), X), None if index is None else str(index), y


def prepare_file(
    path: str,
    *,
    target: str | int | None = None,
    task: str | None = None,
    missing: str = "impute",
    standardize: bool = True,
    val_size: float = 0.2,
    test_size: float = 0.2,
    seed: int = 0,
    labels_path: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    drop: Iterable[str] = (),
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
) -> Prepared:
    """Read ``path``, split its rows, fit the preprocessing on the training rows, apply it.

    (Over 60 lines because the steps must happen in this order, each on the rows the
    one before left: drop, infer the task, split, fit on the training rows, apply.)

    Rows whose target is missing are dropped (``notes`` says how many); with
    ``missing="drop"`` so are rows with a missing feature cell. See
    :meth:`TableEncoder.fit` for the columns and :meth:`TargetEncoder.fit`
    for the task.
    """
    table, name, y = read_data(
        path, target=target, labels_path=labels_path, delimiter=delimiter, encoding=encoding
    )
    assert y is not None
    notes: list[str] = []
    keep = _present_rows(y)
    if not keep.all():
        notes.append(f"dropped {int((~keep).sum())} rows whose target {name!r} is missing")
    if missing == "drop":
        dropped = set(drop)
        for column_name, column in zip(table.names, table.columns, strict=True):
            if column_name not in dropped:
                keep &= _present_rows(column)
        n_dropped = int((~keep).sum()) - int((~_present_rows(y)).sum())
        if n_dropped:
            notes.append(f"dropped {n_dropped} rows with a missing feature value (--missing drop)")
    if not keep.all():
        table, y = table.take(keep), y[keep]
    if table.n_rows == 0:
        raise DataError(f"{path}: no rows are left to learn from")
    where = f"{path}: target {name!r}"
    inferred = TargetEncoder.fit(name, y, np.arange(len(y)), task=task, where=where)
    labels = None
    if inferred.task == CLASSIFICATION:
        labels = np.argmax(inferred.encode(y, where), axis=1)
    try:
        train, val, test = split_indices(
            labels if labels is not None else np.zeros(len(y)),
            test_size,
            val_size,
            np.random.default_rng(seed),
            labels is not None,
        )
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    target_encoder = TargetEncoder.fit(
        name, y, train, task=inferred.task, standardize=standardize, where=where
    )
    target_encoder = TargetEncoder(
        name, inferred.task, inferred.reason, inferred.classes, target_encoder.scaler
    )
    columns = TableEncoder.fit(
        table.take(train),
        drop=drop,
        categorical=categorical,
        numeric=numeric,
        missing=missing,
        standardize=standardize,
    )
    parts = []
    for rows in (train, val, test):
        encoded = columns.transform(table.take(rows))
        notes += [n for n in encoded.notes if n not in notes]
        parts += [encoded.X, target_encoder.encode(y[rows], where)]
    X_train, Y_train, X_val, Y_val, X_test, Y_test = parts
    return Prepared(
        str(path), X_train, Y_train, X_val, Y_val, X_test, Y_test, target_encoder, columns, notes
    )


def _present_rows(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind == "f":
        return ~np.isnan(values.reshape(len(values), -1)).any(axis=1)
    if values.dtype.kind == "O":
        return np.array([v is not None for v in values], dtype=bool)
    return np.ones(len(values), dtype=bool)


def rows_for_model(
    path: str,
    preprocessing: Mapping[str, Any],
    *,
    with_targets: bool = True,
    delimiter: str | None = None,
    encoding: str | None = None,
    labels_path: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(X, Y or None, notes) for every row of ``path``, with a model's stored preprocessing.

    Feature columns are found by name, so their order in the file does not
    matter; a missing column is a DataError naming it; extra columns are
    ignored (a note says which). The target column, when the file has it, is
    left out of X whatever it holds; Y is made from it when ``with_targets``.
    """
    where = f"{path}: the model's metadata"
    columns = TableEncoder.from_dict(preprocessing.get("columns"), where)
    target = TargetEncoder.from_dict(preprocessing.get("target"), where)
    table_file = is_table_file(path)
    table, name, y = read_data(
        path,
        target=target.name,
        labels_path=labels_path,
        delimiter=delimiter,
        encoding=encoding,
        need_target=with_targets and not table_file,
    )
    if with_targets and table_file and name is None:
        raise DataError(
            f"{path}: no column {target.name!r} (the model's target) to evaluate against; "
            f"the columns are: {', '.join(table.names)[:300]}"
        )
    if not with_targets and not table_file:
        n = len(columns.inputs)
        if len(table.names) == n + 1:  # an array file with its target column
            t = -1 if target.name is None else int(target.name) % (n + 1)
            table = table.without(table.names[t])
            table = Table(table.source, tuple(map(str, range(n))), table.columns)
    encoded = columns.transform(table)
    Y = None
    if with_targets and y is not None:
        keep = _present_rows(y)
        if not keep.all():
            encoded.notes.append(f"left out {int((~keep).sum())} rows whose target is missing")
        Y = target.encode(y[keep], f"{path}: target {name!r}")
        return encoded.X[keep], Y, encoded.notes
    return encoded.X, Y, encoded.notes
