"""Datasets and data files: everything in deltaprop that reads data lives here.

- :func:`load_dataset` gives a built-in dataset (see :data:`DATASETS`) split
  into train/validation/test and preprocessed with training statistics;
- :func:`read_table` reads a CSV or Parquet table by column name, and
  :class:`TableEncoder` fits what each column is (number, category, date,
  identifier) and its imputation and scaling on the training rows;
- :func:`prepare_file` does all of it for one file: read, split, fit, apply;
  :func:`rows_for_model` applies a saved model's preprocessing to new rows;
- :func:`load_file` reads an all-number (X, y) from a .csv, .npy, .npz or IDX file;
- :mod:`deltaprop.data.generated` makes the toy sets (xor, spirals, moons,
  circles, sine) from an explicit seed.

Every problem with a file or a dataset raises :class:`DataError`, a ValueError
whose one-line message names the file and the line, column or option.
"""

from . import generated
from .columns import MISSING_POLICIES, ColumnSpec, Encoded, TableEncoder
from .datasets import (
    CLASSIFICATION,
    DATASETS,
    FASHION_MNIST_DIR,
    REGRESSION,
    Dataset,
    DatasetInfo,
    load_dataset,
)
from .errors import DataError
from .generated import circles, moons, sine, spirals, xor
from .prepare import (
    Prepared,
    is_dataset,
    prepare_dataset,
    prepare_file,
    read_data,
    rows_for_model,
)
from .preprocessing import Standardizer, fit_standardizer, one_hot, split
from .readers import (
    check_npy_file,
    load_file,
    read_idx,
    read_idx_pair,
    read_npy,
    read_npz,
)
from .tables import (
    MISSING_MARKERS,
    Table,
    read_csv,
    read_table,
    resolve_target,
    table_from_array,
)
from .targets import TASKS, TargetEncoder

__all__ = [
    "CLASSIFICATION",
    "DATASETS",
    "FASHION_MNIST_DIR",
    "MISSING_MARKERS",
    "MISSING_POLICIES",
    "REGRESSION",
    "TASKS",
    "ColumnSpec",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Encoded",
    "Prepared",
    "Standardizer",
    "Table",
    "TableEncoder",
    "TargetEncoder",
    "check_npy_file",
    "circles",
    "fit_standardizer",
    "generated",
    "is_dataset",
    "load_dataset",
    "load_file",
    "moons",
    "one_hot",
    "prepare_dataset",
    "prepare_file",
    "read_csv",
    "read_data",
    "read_idx",
    "read_idx_pair",
    "read_npy",
    "read_npz",
    "read_table",
    "resolve_target",
    "rows_for_model",
    "sine",
    "spirals",
    "split",
    "table_from_array",
    "xor",
]
