"""One MPI rank's share of a data file's training and validation rows.

The split into training, validation and test rows is the one a single process
makes (same seed); rank r then holds rows [start_r, stop_r) of the training rows
and of the validation rows, in the single process's order, so that the seeded
mini-batches mean the same examples. A ``.npy`` file is opened as a memory map
and only this rank's rows (and, on rank 0, the test rows) are read; the
standardiser's mean and scale are summed over the ranks. Other files are small
enough that each rank prepares the whole file and keeps its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from .columns import TableEncoder
from .errors import DataError
from .prepare import Prepared, is_dataset
from .preprocessing import Standardizer, check_standardizer, split_indices
from .readers import check_npy_file
from .targets import CLASSIFICATION, TargetEncoder


class Ranks(Protocol):
    """What sharding needs of :class:`deltaprop.distributed.DataParallel`."""

    @property
    def is_root(self) -> bool: ...

    def shard(self, m: int) -> tuple[int, int]: ...

    def sum(self, values: Sequence[float]) -> list[float]: ...


def shard_prepared(full: Prepared, dp: Ranks) -> Prepared:
    """This rank's share of ``full``'s training and validation rows; rank 0 keeps the test rows."""
    (a, b), (c, d) = dp.shard(len(full.X_train)), dp.shard(len(full.X_val))
    test = slice(None) if dp.is_root else slice(0, 0)
    return Prepared(
        full.source,
        full.X_train[a:b].copy(),
        full.Y_train[a:b].copy(),
        full.X_val[c:d].copy(),
        full.Y_val[c:d].copy(),
        full.X_test[test],
        full.Y_test[test],
        target=full.target,
        columns=full.columns,
        notes=full.notes,
    )


def prepare_npy_shard(
    path: str,
    dp: Ranks,
    *,
    target: int | str | None,
    task: str | None,
    val_size: float,
    test_size: float,
    seed: int,
    standardize: bool,
) -> Prepared:
    """This rank's rows of a 2-D ``.npy`` file, read through a memory map (see the module).

    Over 60 lines because it repeats :func:`~deltaprop.data.prepare_file`'s steps on a
    memory map: every rank must make the same split, then read its rows alone.
    """
    check_npy_file(path)
    rows = np.load(path, mmap_mode="r", allow_pickle=False)
    if rows.ndim != 2 or rows.shape[1] < 2:
        raise DataError(
            f"{path}: expected a 2-D array with feature and target columns, got shape {rows.shape}"
        )
    index = rows.shape[1] - 1 if target is None else int(str(target))
    if not -rows.shape[1] <= index < rows.shape[1]:
        raise DataError(
            f"{path}: target: column index {index} is out of range for {rows.shape[1]} columns"
        )
    t = index % rows.shape[1]
    features_of = np.delete(np.arange(rows.shape[1]), t)
    y = np.asarray(rows[:, t])
    where = f"{path}: target column {t}"
    inferred = TargetEncoder.fit(
        None if target is None else str(target), y, np.arange(len(y)), task=task, where=where
    )
    classification = inferred.task == CLASSIFICATION
    labels = np.argmax(inferred.encode(y, where), axis=1) if classification else np.zeros(len(y))
    try:
        tr, va, te = split_indices(
            labels, test_size, val_size, np.random.default_rng(seed), classification
        )
    except ValueError as exc:
        raise DataError(f"{path}: {exc}") from None
    (a, b), (c, d) = dp.shard(len(tr)), dp.shard(len(va))
    mine = {"train": tr[a:b], "val": va[c:d], "test": te if dp.is_root else te[:0]}
    X = {k: np.asarray(rows[idx][:, features_of], dtype=np.float64) for k, idx in mine.items()}
    for k, part in X.items():
        if not np.all(np.isfinite(part)):
            i, j = (int(v) for v in np.argwhere(~np.isfinite(part))[0])
            raise DataError(
                f"{path}: row {int(mine[k][i]) + 1}, column {int(features_of[j]) + 1}: "
                "NaN or infinity is not allowed in data"
            )
    scaler = _summed_scaler(path, X["train"], dp.sum) if standardize else None
    if scaler is not None:
        X = {k: scaler.transform(v) for k, v in X.items()}
    target_scaler = None
    if not classification and standardize:
        target_scaler = _summed_scaler(
            path, y[mine["train"]].reshape(-1, 1).astype(np.float64), dp.sum
        )
    encoder = TargetEncoder(
        inferred.name, inferred.task, inferred.reason, inferred.classes, target_scaler
    )
    columns = TableEncoder.for_arrays([str(j) for j in range(len(features_of))], scaler)
    Y = {k: encoder.encode(y[idx], where) for k, idx in mine.items()}
    return Prepared(
        str(path),
        X["train"],
        Y["train"],
        X["val"],
        Y["val"],
        X["test"],
        Y["test"],
        target=encoder,
        columns=columns,
    )


def _summed_scaler(
    path: str, X: np.ndarray, total: Callable[[Sequence[float]], list[float]]
) -> Standardizer:
    """μ and σ over every rank's rows, from the sums of x and x² (population σ; 1 if constant)."""
    n = X.shape[1]
    sums = np.asarray(total([len(X), *X.sum(axis=0), *(X**2).sum(axis=0)]))
    mean = sums[1 : n + 1] / sums[0]
    var = np.maximum(sums[n + 1 :] / sums[0] - mean**2, 0.0)
    scaler = Standardizer(mean, np.where(var > 0, np.sqrt(var), 1.0))
    check_standardizer(path, scaler, None)
    return scaler


def is_npy_file(data: str) -> bool:
    """A ``.npy`` file (not a dataset): the one kind :func:`prepare_npy_shard` maps."""
    return not is_dataset(data) and str(data).lower().endswith(".npy")


__all__ = ["Ranks", "is_npy_file", "prepare_npy_shard", "shard_prepared"]
