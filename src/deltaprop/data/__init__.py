"""Datasets and data files: everything in deltaprop that reads data lives here.

- :func:`load_dataset` gives a built-in dataset (see :data:`DATASETS`) split
  into train/validation/test and preprocessed with training statistics;
- :func:`load_file` reads (X, y) from a .csv, .npy, .npz or IDX file;
- :mod:`deltaprop.data.generated` makes the toy sets (xor, spirals, moons,
  circles, sine) from an explicit seed.

Every problem with a file or a dataset raises :class:`DataError`, a ValueError
whose one-line message names the file and the line, column or option.
"""

from . import generated
from .datasets import (
    CLASSIFICATION,
    DATASETS,
    FASHION_MNIST_DIR,
    REGRESSION,
    Dataset,
    DatasetInfo,
    Standardizer,
    load_dataset,
    one_hot,
    split,
)
from .errors import DataError
from .generated import circles, moons, sine, spirals, xor
from .readers import load_file, read_csv, read_idx, read_idx_pair, read_npy, read_npz

__all__ = [
    "CLASSIFICATION",
    "DATASETS",
    "FASHION_MNIST_DIR",
    "REGRESSION",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Standardizer",
    "circles",
    "generated",
    "load_dataset",
    "load_file",
    "moons",
    "one_hot",
    "read_csv",
    "read_idx",
    "read_idx_pair",
    "read_npy",
    "read_npz",
    "sine",
    "spirals",
    "split",
    "xor",
]
