"""The benchmarks' data: digits, Fashion-MNIST (else seeded synthetic images), tabular."""

from __future__ import annotations

import functools

import numpy as np

from deltaprop.data import DataError, load_dataset


@functools.lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 × 8 digits: X (1797, 64) as pixels / 16 (float64), labels (1797,)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data / 16.0, data.target.astype(np.int64)


@functools.lru_cache(maxsize=1)
def fashion() -> tuple[np.ndarray, np.ndarray, str]:
    """60000 × 784 training images (pixels / 255, float64) and labels, and where they came from.

    Fashion-MNIST's official training set through ``deltaprop.data.load_dataset``
    (its training and validation parts together) when Debian's dataset-fashion-mnist
    is installed; otherwise seeded synthetic images of the same shape whose labels a
    fixed random linear map decides, so that there is something to learn.
    """
    try:
        d = load_dataset("fashion-mnist", seed=0)
    except DataError:
        rng = np.random.default_rng(0)
        X = rng.random((60000, 784))
        scores = X @ rng.normal(size=(784, 10))
        # Centred, so that every class wins for some images (uncentred, a few classes
        # would take every image and the benchmarks' subsets would miss classes).
        labels = np.argmax(scores - scores.mean(axis=0), axis=1)
        return X, labels.astype(np.int64), "synthetic (Fashion-MNIST not installed)"
    X = np.concatenate([d.X_train, d.X_val])
    labels = np.concatenate([d.y_train, d.y_val]).astype(np.int64)
    return X, labels, "Fashion-MNIST"


def as_dtype(X: np.ndarray, dtype: str, rows: int | None = None) -> np.ndarray:
    """The first ``rows`` rows of X as a C-contiguous array of ``dtype``."""
    return np.ascontiguousarray(X[:rows], dtype=np.dtype(dtype))


@functools.lru_cache(maxsize=2)
def tabular(rows: int = 20000, features: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Seeded tabular data for P6: X (rows, features) float64 and binary labels (rows,).

    Standard-normal features, of which the first ten decide the class through a fixed
    smooth nonlinear score (a quadratic form plus a sine of a linear one, centred at its
    median so the classes are balanced); the other forty are noise, as in much real
    tabular data. A 50-100-100-2 network learns it well within a few epochs.
    """
    rng = np.random.default_rng(6)
    X = rng.standard_normal((rows, features))
    informative = X[:, :10]
    A = rng.standard_normal((10, 10)) / 10.0
    w = rng.standard_normal(10)
    score = np.einsum("ij,jk,ik->i", informative, A, informative) + np.sin(informative @ w)
    labels = (score > np.median(score)).astype(np.int64)
    return X, labels
