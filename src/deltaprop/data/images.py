"""Images for the autoencoder commands: built-in image datasets and MNIST's IDX files.

DATA is ``digits`` (scikit-learn's 8×8 images), ``fashion-mnist`` (Debian's
dataset-fashion-mnist), a directory holding MNIST's four IDX files
(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte; ``.gz`` or not, ``-idx3`` or ``.idx3``), or one IDX
images file (no labels). ubyte pixels are divided by 255.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import DATASETS, load_dataset
from .errors import DataError
from .readers import read_idx, read_idx_pair

IMAGE_DATASETS = {"digits": (8, 8), "fashion-mnist": (28, 28)}
"""The built-in datasets of images, and their height × width."""


@dataclass(frozen=True)
class Images:
    """Images (n, h, w) scaled to [0, 1] where they were bytes, and their labels if known."""

    source: str
    train: np.ndarray
    train_labels: np.ndarray | None
    test: np.ndarray | None
    test_labels: np.ndarray | None


def load_images(data: str, seed: int) -> Images:
    """The images named by DATA (see the module docstring)."""
    if data in IMAGE_DATASETS:
        h, w = IMAGE_DATASETS[data]
        ds = load_dataset(data, seed=seed)
        train = np.concatenate([ds.X_train, ds.X_val]).reshape(-1, h, w)
        return Images(
            data,
            train,
            np.concatenate([ds.y_train, ds.y_val]),
            ds.X_test.reshape(-1, h, w),
            ds.y_test,
        )
    if data in DATASETS:
        raise ValueError(
            f"DATA: {data!r} is not an image dataset; use digits, fashion-mnist, "
            "or MNIST's IDX files"
        )
    path = Path(data)
    if path.is_dir():
        files = {part: _mnist_file(path, part) for part in _MNIST_PARTS}
        train, train_labels = read_idx_pair(files["train-images"], files["train-labels"])
        test, test_labels = read_idx_pair(files["t10k-images"], files["t10k-labels"])
        shape = read_idx(files["t10k-images"]).shape[1:]  # (h, w); the pair reader flattens
        return Images(
            data,
            _pixels(files["train-images"], train.reshape(-1, *shape)),
            train_labels,
            _pixels(files["t10k-images"], test.reshape(-1, *shape)),
            test_labels,
        )
    if path.is_file():
        images = read_idx(path)
        if images.ndim != 3:
            raise DataError(
                f"{path}: expected images (n, height, width), the file holds {images.shape}"
            )
        return Images(data, _pixels(path, images), None, None, None)
    raise DataError(
        f"{data}: no such file or directory, and not a built-in image dataset "
        f"({', '.join(IMAGE_DATASETS)})"
    )


_MNIST_PARTS = ("train-images", "train-labels", "t10k-images", "t10k-labels")


def _mnist_file(folder: Path, part: str) -> Path:
    kind = "idx3" if part.endswith("images") else "idx1"
    names = [f"{part}{sep}{kind}-ubyte{gz}" for sep in ("-", ".") for gz in ("", ".gz")]
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: no {names[0]} (nor {', '.join(names[1:])}) in this directory")


def _pixels(path: Path, images: np.ndarray) -> np.ndarray:
    if images.dtype == np.uint8:
        return images.astype(np.float64) / 255.0
    return images.astype(np.float64)
