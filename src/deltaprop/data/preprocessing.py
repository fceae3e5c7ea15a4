"""Preprocessing fitted on training rows, and seeded splits of the rows.

- :class:`Standardizer`: x̂ = (x − μ) / σ per column;
- :func:`one_hot`: class labels → indicator rows;
- :func:`split`: a seeded (stratified) partition into train, validation, test.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_count, check_fraction
from .errors import DataError
from .generated import Seed, as_generator


@dataclass(frozen=True, eq=False)
class Standardizer:
    """x̂ = (x − μ) / σ per column, with μ and σ from the rows given to :meth:`fit`.

    ``mean`` is μ and ``scale`` is σ (population standard deviation), both of
    shape (n,); a constant column gets σ = 1, so it maps to 0 rather than NaN.

    >>> s = Standardizer.fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.mean, s.scale
    (array([1., 5.]), array([1., 1.]))
    >>> s.transform(np.array([[4.0, 5.0]]))
    array([[3., 0.]])
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """μ and σ of the columns of X (m, n); fit on the training split only."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a 2-D array with at least one row, got shape {X.shape}")
        constant = np.ptp(X, axis=0) == 0
        return cls(X.mean(axis=0), np.where(constant, 1.0, X.std(axis=0)))

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(X − μ) / σ."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"X must have shape (m, {self.mean.shape[0]}) like the data fitted, got {X.shape}"
            )
        return (X - self.mean) / self.scale

    def to_dict(self) -> dict[str, list[float]]:
        """μ and σ as JSON lists."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: Any, n: int | None = None) -> Standardizer:
        """The standardiser :meth:`to_dict` gave; a ValueError unless μ and σ are finite
        1-D arrays of one length (``n`` when given) with σ > 0."""
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            scale = np.asarray(data["scale"], dtype=np.float64)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a standardiser needs 'mean' and 'scale' lists ({exc})") from None
        ok = mean.ndim == 1 and mean.shape == scale.shape and (n is None or mean.shape == (n,))
        if not (ok and np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
            raise ValueError("a standardiser's mean and scale must be finite lists of one length")
        if not np.all(scale > 0):
            raise ValueError("a standardiser's scale must be positive")
        return cls(mean, scale)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """X σ + μ: back to the original units (for a regression's predictions)."""
        return np.asarray(X, dtype=np.float64) * self.scale + self.mean


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Y (m, n_classes) float64 with Y[i, labels[i]] = 1 and 0 elsewhere.

    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(
            f"labels must be a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}"
        )
    n_classes = check_count("n_classes", n_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)][0]
        raise ValueError(f"labels must lie in 0 … {n_classes - 1}, found {bad}")
    Y = np.zeros((labels.shape[0], n_classes))
    Y[np.arange(labels.shape[0]), labels] = 1.0
    return Y


def _apportion(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over classes in proportion to ``counts`` (largest remainders)."""
    quota = counts * total / max(int(counts.sum()), 1)
    share = np.floor(quota).astype(np.int64)
    extra = total - int(share.sum())
    share[np.argsort(share - quota, kind="stable")[:extra]] += 1
    return share


def standardize_checked(
    standardizer: Standardizer, X: np.ndarray, where: Callable[[int], str], names: Sequence[str]
) -> np.ndarray:
    """(X − μ) / σ, or a DataError at the first value that overflows: ``where(row)`` names it."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = standardizer.transform(X)
    if not np.all(np.isfinite(out)):
        i, j = (int(k) for k in np.argwhere(~np.isfinite(out))[0])
        raise DataError(
            f"{where(i)}, feature {names[j]!r}: {X[i, j]:.3g} is too large to standardize with "
            f"the training rows' mean and scale; {_TOO_LARGE}"
        )
    return out


def split_indices(
    y: np.ndarray, test_size: float, val_size: float, rng: np.random.Generator, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val, test): round(test_size·m) test rows, round(val_size·m) val rows."""
    m = y.shape[0]
    n_test, n_val = round(test_size * m), round(val_size * m)
    if m - n_test - n_val < 1:
        raise ValueError(
            f"test_size={test_size} and val_size={val_size} leave no training rows of {m}"
        )
    if not stratify:
        order = rng.permutation(m)
        return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]
    _, inverse = np.unique(y, return_inverse=True)
    counts = np.bincount(inverse)
    test_per = _apportion(counts, n_test)
    val_per = _apportion(counts - test_per, n_val)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for c, (t, v) in enumerate(zip(test_per, val_per, strict=True)):
        rows = rng.permutation(np.flatnonzero(inverse == c))
        parts[0].append(rows[t + v :])
        parts[1].append(rows[t : t + v])
        parts[2].append(rows[:t])
    train, val, test = (rng.permutation(np.concatenate(p)) for p in parts)
    return train, val, test


def split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    test_size: float = 0.2,
    val_size: float = 0.2,
    seed: Seed = 0,
    stratify: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_val, y_val, X_test, y_test): a seeded random partition of the rows.

    round(test_size·m) rows go to test and round(val_size·m) to validation, the
    rest to training. Stratified, each class's share of every split follows its
    share of y (largest-remainder rounding). ``stratify`` None means: stratify
    when y is a 1-D array of integer labels.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
    test_size, val_size = (
        check_fraction("test_size", test_size),
        check_fraction("val_size", val_size),
    )
    is_labels = y.ndim == 1 and y.dtype.kind in "iu"
    if stratify is None:
        stratify = is_labels
    elif stratify and not is_labels:
        raise ValueError(
            f"stratify needs y to be 1-D integer labels, got shape {y.shape} dtype {y.dtype}"
        )
    train, val, test = split_indices(y, test_size, val_size, as_generator(seed), stratify)
    return X[train], y[train], X[val], y[val], X[test], y[test]


_TOO_LARGE = "rescale the column or pass --no-standardize"


def fit_standardizer(
    source: str, X: np.ndarray, names: tuple[str, ...] | None = None
) -> Standardizer:
    """μ and σ of the training rows; a DataError naming the column where they overflow.

    A constant column gets σ = 1 and so becomes 0 (see Standardizer). Values so
    large that their mean or variance overflows (beyond about 1e154) would make
    σ infinite and quietly turn the column into zeros: they are refused instead.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        standardizer = Standardizer.fit(X)
    check_standardizer(source, standardizer, X, names)
    return standardizer


def check_standardizer(
    source: str,
    standardizer: Standardizer,
    X: np.ndarray | None,
    names: tuple[str, ...] | None = None,
) -> None:
    """A DataError naming the first column whose μ or σ is not finite."""
    bad = ~(np.isfinite(standardizer.mean) & np.isfinite(standardizer.scale))
    if bad.any():
        j = int(np.argmax(bad))
        values = "" if X is None else f" up to {np.max(np.abs(X[:, j])):.3g}"
        column = f"feature column {j + 1}" if names is None else f"feature {names[j]!r}"
        raise DataError(
            f"{source}: {column}: values{values} are too large to standardize "
            f"(their mean or variance overflows); {_TOO_LARGE}"
        )
