"""Built-in datasets by name, with seeded stratified splits and training-set preprocessing.

>>> from deltaprop.data import load_dataset
>>> ds = load_dataset("moons", seed=0)
>>> ds.X_train.shape, ds.X_val.shape, ds.X_test.shape
((240, 2), (80, 2), (80, 2))

Nothing is downloaded, ever. The generated sets are made by
:mod:`deltaprop.data.generated`; digits, iris, wine, breast-cancer and diabetes
are the copies that scikit-learn ships inside its package; mnist1d is generated
locally by the ``mnist1d`` package; fashion-mnist is read from the files of
Debian's ``dataset-fashion-mnist`` package. Each entry of :data:`DATASETS` says
which preprocessing :func:`load_dataset` applies; statistics for it come from
the training split only.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_fraction
from . import generated
from .errors import DataError
from .generated import Seed, as_generator
from .preprocessing import Standardizer, split_indices
from .readers import read_idx_pair
from .targets import CLASSIFICATION, REGRESSION

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package puts the four IDX files."""

FASHION_MNIST_CLASSES = (
    *("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"),
    *("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
)


# --- the registry -----------------------------------------------------------------


@dataclass(frozen=True)
class DatasetInfo:
    """What a built-in dataset is: one entry of :data:`DATASETS`."""

    name: str
    description: str
    task: str
    n_features: int
    n_classes: int | None
    source: str
    preprocessing: str


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset split three ways, preprocessed with training statistics.

    X arrays are float64 (m, n_features). For classification y arrays are int64
    labels (m,) in 0 … len(classes) − 1 and ``classes`` names them; for
    regression y arrays are float64 (m, k), ``classes`` is empty and, when the
    targets were standardized, ``target_scaler.inverse_transform`` maps
    predictions back to the original units.
    """

    name: str
    description: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    feature_names: tuple[str, ...] | None
    preprocessing: str
    target_scaler: Standardizer | None = None

    @property
    def n_features(self) -> int:
        """Columns of X: the size of a network's input layer."""
        return int(self.X_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Classes (classification) or target columns (regression): the output layer's size."""
        return len(self.classes) if self.task == CLASSIFICATION else int(self.y_train.shape[1])


@dataclass
class _Raw:
    """A loader's result before splitting and preprocessing."""

    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...] = ()
    feature_names: tuple[str, ...] | None = None
    X_test: np.ndarray | None = None  # an official test split, kept as published
    y_test: np.ndarray | None = None
    divide_by: float | None = None  # pixels: X / divide_by
    standardize: bool = False  # features by training μ, σ
    standardize_target: bool = False


_Loader = Callable[[np.random.Generator, int | None, float | None], _Raw]
_REGISTRY: dict[str, tuple[DatasetInfo, _Loader]] = {}
_GENERATED: set[str] = set()
_OFFICIAL_TEST: set[str] = set()


def _register(
    name: str,
    description: str,
    task: str,
    n_features: int,
    n_classes: int | None,
    source: str,
    preprocessing: str,
    *,
    generated_here: bool = False,
    official_test: bool = False,
) -> Callable[[_Loader], _Loader]:
    def add(loader: _Loader) -> _Loader:
        info = DatasetInfo(name, description, task, n_features, n_classes, source, preprocessing)
        _REGISTRY[name] = (info, loader)
        if generated_here:
            _GENERATED.add(name)
        if official_test:
            _OFFICIAL_TEST.add(name)
        return loader

    return add


_XY = ("x1", "x2")
_BINARY = ("0", "1")


@_register(
    "xor",
    "the four XOR points, repeated with Gaussian jitter (default 200 points, noise 0.1)",
    CLASSIFICATION,
    2,
    2,
    "generated: deltaprop.data.generated.xor",
    "none",
    generated_here=True,
)
def _xor(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    n = 200 if n_samples is None else n_samples
    if n < 4 or n % 4:
        raise DataError(f"dataset 'xor': n_samples must be a positive multiple of 4, got {n}")
    X, y = generated.xor(n_repeats=n // 4, noise=0.1 if noise is None else noise, seed=rng)
    return _Raw(X, y, _BINARY, _XY)


def _two_classes(name: str, description: str, source: str) -> _Loader:
    """Register the generated two-class set ``name`` (400 points by default)."""
    make = getattr(generated, name)

    def load(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
        X, y = make(400 if n_samples is None else n_samples, seed=rng, **_noise(noise))
        return _Raw(X, y, _BINARY, _XY)

    return _register(name, description, CLASSIFICATION, 2, 2, source, "none", generated_here=True)(
        load
    )


for _name, _description, _source in (
    (
        "spirals",
        "two interleaved spirals, 1.5 turns each (default 400 points, noise 0.05)",
        "generated: deltaprop.data.generated.spirals (after Lang & Witbrock 1988)",
    ),
    (
        "moons",
        "two interleaving half circles (default 400 points, noise 0.1)",
        "generated: deltaprop.data.generated.moons",
    ),
    (
        "circles",
        "two concentric circles, radii 1 and 0.5 (default 400 points, noise 0.05)",
        "generated: deltaprop.data.generated.circles",
    ),
):
    _two_classes(_name, _description, _source)


@_register(
    "sine",
    "regression y = sin x on x ∈ [−π, π] (default 200 points, no noise)",
    REGRESSION,
    1,
    None,
    "generated: deltaprop.data.generated.sine",
    "none",
    generated_here=True,
)
def _sine(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    X, y = generated.sine(200 if n_samples is None else n_samples, seed=rng, **_noise(noise))
    return _Raw(X, y, (), ("x",))


def _noise(noise: float | None) -> dict[str, float]:
    return {} if noise is None else {"noise": noise}


def _sklearn(name: str, function: str, **kwargs: Any) -> Any:
    try:
        import sklearn.datasets
    except ImportError:
        raise DataError(
            f"dataset {name!r}: needs scikit-learn; install it with: pip install 'deltaprop[data]'"
        ) from None
    return getattr(sklearn.datasets, function)(**kwargs)


def _sklearn_classification(name: str, function: str, **raw: Any) -> _Raw:
    bunch = _sklearn(name, function)
    return _Raw(
        np.asarray(bunch.data, dtype=np.float64),
        np.asarray(bunch.target, dtype=np.int64),
        tuple(str(c) for c in bunch.target_names),
        tuple(str(f) for f in bunch.feature_names),
        **raw,
    )


_SKLEARN = "a copy bundled with scikit-learn (sklearn.datasets.{}), no download"


@_register(
    "digits",
    "8×8 images of handwritten digits 0–9, 1797 examples",
    CLASSIFICATION,
    64,
    10,
    "UCI Optical Recognition of Handwritten Digits (Alpaydin & Kaynak 1998); "
    + _SKLEARN.format("load_digits"),
    "pixels / 16 → [0, 1]",
)
def _digits(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    return _sklearn_classification("digits", "load_digits", divide_by=16.0)


@_register(
    "iris",
    "three species of iris from four flower measurements, 150 examples",
    CLASSIFICATION,
    4,
    3,
    "Fisher 1936, UCI Iris; " + _SKLEARN.format("load_iris"),
    "features standardized with training mean and standard deviation",
)
def _iris(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    return _sklearn_classification("iris", "load_iris", standardize=True)


@_register(
    "wine",
    "three cultivars of Italian wine from 13 chemical measurements, 178 examples",
    CLASSIFICATION,
    13,
    3,
    "UCI Wine Recognition (Forina et al.); " + _SKLEARN.format("load_wine"),
    "features standardized with training mean and standard deviation",
)
def _wine(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    return _sklearn_classification("wine", "load_wine", standardize=True)


@_register(
    "breast-cancer",
    "malignant (0) or benign (1) breast mass from 30 cell-nucleus features, 569 examples",
    CLASSIFICATION,
    30,
    2,
    "UCI Breast Cancer Wisconsin (Diagnostic), Street, Wolberg & Mangasarian 1993; "
    + _SKLEARN.format("load_breast_cancer"),
    "features standardized with training mean and standard deviation",
)
def _breast_cancer(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    return _sklearn_classification("breast-cancer", "load_breast_cancer", standardize=True)


@_register(
    "diabetes",
    "regression: disease progression after one year from 10 baseline variables, 442 patients",
    REGRESSION,
    10,
    None,
    "Efron, Hastie, Johnstone & Tibshirani 2004, Least Angle Regression; "
    + _SKLEARN.format("load_diabetes(scaled=False)"),
    "features and target standardized with training mean and standard deviation "
    "(Dataset.target_scaler undoes the target's)",
)
def _diabetes(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    bunch = _sklearn("diabetes", "load_diabetes", scaled=False)
    return _Raw(
        np.asarray(bunch.data, dtype=np.float64),
        np.asarray(bunch.target, dtype=np.float64).reshape(-1, 1),
        (),
        tuple(bunch.feature_names),
        standardize=True,
        standardize_target=True,
    )


@functools.lru_cache(maxsize=1)
def _mnist1d_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The published MNIST-1D, made by the mnist1d package (its own seed 42), read-only, cached.

    mnist1d seeds numpy's and Python's global generators; their states are saved
    and restored around the call, so the caller's global randomness is untouched
    (not thread-safe while it runs).
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DataError(
            "dataset 'mnist1d': needs the mnist1d package; install it with: "
            "pip install 'deltaprop[data]'"
        ) from None
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = (
        np.asarray(made["x"], dtype=np.float64),
        np.asarray(made["y"], dtype=np.int64),
        np.asarray(made["x_test"], dtype=np.float64),
        np.asarray(made["y_test"], dtype=np.int64),
    )
    shapes = tuple(a.shape for a in arrays)
    if shapes != ((4000, 40), (4000,), (1000, 40), (1000,)):
        raise DataError(
            f"dataset 'mnist1d': the mnist1d package made shapes {shapes}, expected "
            "4000 × 40 train and 1000 × 40 test"
        )
    for a in arrays:
        a.flags.writeable = False
    return arrays


@_register(
    "mnist1d",
    "1-D signals of the digits 0–9, 40 samples each; 4000 train + 1000 official test",
    CLASSIFICATION,
    40,
    10,
    "Greydanus 2020, Scaling Down Deep Learning, arXiv:2011.14439; generated locally by "
    "mnist1d.data.make_dataset(get_dataset_args()), never downloaded",
    "none beyond the generator's own (centred, unit standard deviation over the whole set)",
    official_test=True,
)
def _mnist1d(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    X, y, X_test, y_test = _mnist1d_arrays()
    return _Raw(X, y, tuple(str(d) for d in range(10)), None, X_test, y_test)


@_register(
    "fashion-mnist",
    "28×28 greyscale images of 10 kinds of clothing; 60000 train + 10000 official test",
    CLASSIFICATION,
    784,
    10,
    "Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747; the IDX files of Debian's "
    f"dataset-fashion-mnist package in {FASHION_MNIST_DIR}",
    "pixels / 255 → [0, 1]",
    official_test=True,
)
def _fashion_mnist(rng: np.random.Generator, n_samples: int | None, noise: float | None) -> _Raw:
    folder = FASHION_MNIST_DIR
    paths = {
        part: (folder / f"{part}-images-idx3-ubyte.gz", folder / f"{part}-labels-idx1-ubyte.gz")
        for part in ("train", "t10k")
    }
    for path in (p for pair in paths.values() for p in pair):
        if not path.is_file():
            raise DataError(
                f"dataset 'fashion-mnist': {path} not found; "
                "install it with: apt-get install dataset-fashion-mnist"
            )
    X, y = read_idx_pair(*paths["train"])
    X_test, y_test = read_idx_pair(*paths["t10k"])
    return _Raw(X, y, FASHION_MNIST_CLASSES, None, X_test, y_test, divide_by=255.0)


DATASETS: dict[str, DatasetInfo] = {name: info for name, (info, _) in _REGISTRY.items()}
"""Every built-in dataset by name."""


def load_dataset(
    name: str,
    *,
    seed: Seed = 0,
    val_size: float = 0.2,
    test_size: float | None = None,
    n_samples: int | None = None,
    noise: float | None = None,
) -> Dataset:
    """The built-in dataset ``name``, split into train/validation/test and preprocessed.

    (Over 60 lines because each option is checked here, at the edge, with a message
    naming the dataset, before anything is generated or read.)

    Args:
      name: a key of :data:`DATASETS`.
      seed: an int, a numpy Generator or None; it drives the generated sets and
        every split, so the same seed gives the same arrays.
      val_size: the validation fraction: of the whole set, or of the official
        training set where the dataset has an official test set (mnist1d,
        fashion-mnist).
      test_size: the test fraction of the whole set (default 0.2); not allowed
        where the dataset has an official test set, which is kept as published.
      n_samples, noise: size and noise of a generated set (xor, spirals, moons,
        circles, sine); not allowed for the others.

    Classification splits are stratified. Preprocessing (see each entry's
    ``preprocessing``) uses statistics of the training split only.
    """
    if name not in _REGISTRY:
        raise DataError(f"dataset: unknown name {name!r}; choose one of: {', '.join(DATASETS)}")
    info, loader = _REGISTRY[name]
    if name not in _GENERATED:
        for option, value in (("n_samples", n_samples), ("noise", noise)):
            if value is not None:
                raise DataError(
                    f"dataset {name!r}: {option} applies only to the generated sets "
                    f"({', '.join(sorted(_GENERATED))})"
                )
    if name in _OFFICIAL_TEST and test_size is not None:
        raise DataError(
            f"dataset {name!r}: test_size: this dataset keeps its official test set; "
            "leave test_size unset"
        )
    try:  # option and size errors become DataErrors naming the dataset
        val_size = check_fraction("val_size", val_size)
        test_size = check_fraction("test_size", 0.2 if test_size is None else test_size)
        rng = as_generator(seed)
        raw = loader(rng, n_samples, noise)
        stratify = info.task == CLASSIFICATION
        if raw.X_test is not None and raw.y_test is not None:
            train, val, _ = split_indices(raw.y, 0.0, val_size, rng, stratify)
            X_test, y_test = raw.X_test, raw.y_test
        else:
            train, val, test = split_indices(raw.y, test_size, val_size, rng, stratify)
            X_test, y_test = raw.X[test], raw.y[test]
    except DataError:
        raise
    except ValueError as exc:
        raise DataError(f"dataset {name!r}: {exc}") from None
    X_parts = [_features(raw, rows) for rows in (raw.X[train], raw.X[val], X_test)]
    y_parts = [raw.y[train], raw.y[val], np.array(y_test)]
    target_scaler = None
    if raw.standardize:
        scaler = Standardizer.fit(X_parts[0])
        X_parts = [scaler.transform(part) for part in X_parts]
    if raw.standardize_target:
        target_scaler = Standardizer.fit(y_parts[0])
        y_parts = [target_scaler.transform(part) for part in y_parts]
    return Dataset(
        name=name,
        description=info.description,
        task=info.task,
        X_train=X_parts[0],
        y_train=y_parts[0],
        X_val=X_parts[1],
        y_val=y_parts[1],
        X_test=X_parts[2],
        y_test=y_parts[2],
        classes=raw.classes,
        feature_names=raw.feature_names,
        preprocessing=info.preprocessing,
        target_scaler=target_scaler,
    )


def _features(raw: _Raw, rows: np.ndarray) -> np.ndarray:
    X = rows.astype(np.float64)  # always a fresh array: cached sources stay untouched
    if raw.divide_by is not None:
        X /= raw.divide_by
    return X
