"""The run configuration of ``deltaprop train``: defaults, presets, a TOML file, the flags.

Settings come from DEFAULTS, then the dataset's PRESETS entry, then a TOML
file, then the command line; :func:`resolve_settings` checks every value once,
and each error names where the value came from: the flag the user typed
(``--learning-rate``) or the file and its key. Data preparation lives in
:mod:`deltaprop.data`, the network, scores and reports in :mod:`deltaprop.runs`.
Errors are ``ValueError`` subclasses with one-line messages; ``cli`` turns them
into exit status 2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._validate import check_choice, check_count, check_fraction, check_positive, check_real
from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from .costs import COSTS
from .data import MISSING_POLICIES, TASKS
from .dropout import check_dropout
from .network import INITS
from .optim import OPTIMIZERS

# --- configuration ---------------------------------------------------------------------------

DEFAULTS: dict[str, Any] = {
    "layers": None,  # full sizes, input first; None: from the data and "hidden"
    "hidden": [100],
    "activation": "tanh",  # or one per hidden layer: "relu,tanh"
    "output": None,  # by task: softmax (classification) or identity (regression)
    "cost": None,  # by task: cross_entropy or squared_error
    "weight_decay": 1e-4,
    "init": None,
    "dtype": "float64",
    "backend": "numpy",  # the array library: numpy, torch or cupy
    "device": None,  # where it computes: cpu or cuda (cuda:1, ...); None: the library's default
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "schedule": "constant",  # or "cosine": α annealed from learning_rate to 0 over the epochs
    "momentum": 0.9,
    "epochs": 100,
    "batch_size": 64,
    "val_size": 0.2,
    "test_size": None,  # 0.2 where the dataset has no official test split
    "early_stopping": 10,
    "class_weight": None,  # "balanced": examples weighted n / (n_classes · n_class)
    "seed": 0,
    "target": None,
    "labels": None,
    "standardize": True,
    "checkpoint_every": 0,
    "dropout": None,  # a rate for every hidden layer, or one per hidden layer: "0.2,0.1"
    "task": None,  # inferred from the target unless given
    "missing": "impute",
    "drop": [],
    "categorical": [],
    "numeric": [],
    "delimiter": None,
    "encoding": None,
}
"""Every setting of ``deltaprop train`` and its default."""

SCHEDULES = ("constant", "cosine")
"""``--schedule``: α kept at ``learning_rate``, or cosine-annealed to 0 over ``epochs``."""

PRESETS: dict[str, dict[str, Any]] = {
    # 40-256-256-10 tanh, dropout 0.3, Adam with α cosine-annealed from 3e-3 to 0 over 120
    # epochs: 73.0, 73.3, 71.9 % test accuracy for seeds 0–2 (mean 72.7; constant α = 1e-3
    # with dropout 0.2: 71.6 mean; 68.7 % without dropout, 60 epochs). No early stopping, so
    # no validation split: its 400 examples train too (+1.3 points).
    "mnist1d": {
        "hidden": [256, 256],
        "weight_decay": 1e-3,
        "dropout": 0.3,
        "learning_rate": 3e-3,
        "schedule": "cosine",
        "epochs": 120,
        "val_size": 0.0,
        "early_stopping": None,
    },
    # 64-100-10 tanh: 96.9, 98.1, 97.8 % on the test splits of seeds 0, 1, 2 (all training
    # rows train: no early stopping, so no validation split).
    "digits": {
        "hidden": [100],
        "optimizer": "momentum",
        "learning_rate": 0.05,
        "batch_size": 32,
        "epochs": 80,
        "val_size": 0.0,
        "early_stopping": None,
    },
    # 784-512-256-10 relu, dropout 0.3, Adam with α cosine-annealed from 1e-3 to 0 over 40
    # epochs, float32: 90.06, 90.06, 89.97 % test accuracy for seeds 0–2 (mean 90.03; about
    # 7 min a seed on one thread). The former 784-256-128-10 with a constant α and early
    # stopping gave 88.52 mean. No early stopping, so all 60000 training images train.
    "fashion-mnist": {
        "hidden": [512, 256],
        "activation": "relu",
        "weight_decay": 3e-4,
        "dropout": 0.3,
        "schedule": "cosine",
        "dtype": "float32",
        "batch_size": 128,
        "epochs": 40,
        "val_size": 0.0,
        "early_stopping": None,
    },
    "xor": {"hidden": [4], "learning_rate": 0.05, "epochs": 300, "early_stopping": None},
    "spirals": {"hidden": [32, 32], "learning_rate": 0.01, "epochs": 500, "early_stopping": 50},
    "moons": {"hidden": [16], "learning_rate": 0.01, "epochs": 200},
    "circles": {"hidden": [16], "learning_rate": 0.01, "epochs": 200},
    "sine": {
        "hidden": [20],
        "optimizer": "lbfgs",
        "epochs": 500,
        "early_stopping": None,
        "weight_decay": 0.0,
    },
}
"""Per-dataset defaults that make the built-in datasets train well out of the box."""

REFERENCES: dict[str, tuple[str, list[tuple[str, float]]]] = {
    "mnist1d": (
        'Greydanus 2020, "Scaling down deep learning"',
        [("logistic regression", 32.0), ("MLP", 68.0)],
    ),
    "fashion-mnist": (
        "Fashion-MNIST benchmarks",
        [
            ("MLP 256-128-100 (Fashion-MNIST README)", 88.33),
            ("scikit-learn MLPClassifier(100)", 88.4),
        ],
    ),
    "digits": ("scikit-learn's bundled UCI digits", [("target of deltaprop's tests", 97.0)]),
}
"""Published test accuracies (%) printed beside a run's own."""

_TYPES: dict[str, tuple[type, ...]] = {
    "layers": (str, list),
    "hidden": (str, list),
    "activation": (str, list),
    "output": (str,),
    "cost": (str,),
    "weight_decay": (float, int),
    "init": (str,),
    "dtype": (str,),
    "backend": (str,),
    "device": (str,),
    "optimizer": (str,),
    "learning_rate": (float, int),
    "schedule": (str,),
    "momentum": (float, int),
    "epochs": (int,),
    "batch_size": (int,),
    "val_size": (float, int),
    "test_size": (float, int),
    "early_stopping": (int,),
    "class_weight": (str,),
    "seed": (int,),
    "target": (str, int),
    "labels": (str,),
    "standardize": (bool,),
    "checkpoint_every": (int,),
    "dropout": (float, int, str, list),
    "task": (str,),
    "missing": (str,),
    "drop": (list,),
    "categorical": (list,),
    "numeric": (list,),
    "delimiter": (str,),
    "encoding": (str,),
}


_SIZES = re.compile(r"^\s*\d+(\s*[-,]\s*\d+)*\s*$")


def parse_sizes(option: str, value: Any, *, allow_none: bool = False) -> list[int]:
    """'64-25-64' or [64, 25, 64] -> [64, 25, 64]; anything else is an error naming ``option``.

    Every size is a whole number ≥ 1, joined by '-' (or ','); '', '--', '-3' and
    '10--3' are refused rather than read as some other network. With
    ``allow_none``, 'none' or an empty list means no layers (for --hidden).
    """
    if isinstance(value, str) and allow_none and value.strip().lower() == "none":
        return []
    if isinstance(value, list) and (value or allow_none):
        parts = value
    elif isinstance(value, str) and _SIZES.match(value):
        parts = re.split(r"[-,]", value)
    else:
        extra = "; 'none' for no hidden layer" if allow_none else ""
        raise ValueError(
            f"{option}: expected unit counts joined by '-', such as 64-25-64{extra}; got {value!r}"
        )
    sizes = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, int | str):
            raise ValueError(f"{option}: expected whole numbers, got {value!r}")
        size = int(part)
        if size < 1:
            raise ValueError(f"{option}: every layer needs at least 1 unit, got {value!r}")
        sizes.append(size)
    return sizes


def read_config(path: str) -> dict[str, Any]:
    """Settings from a TOML file: the keys of DEFAULTS, with '-' or '_'."""
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    settings: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in DEFAULTS:
            raise ValueError(
                f"{path}: unknown setting {key!r}; known settings: {', '.join(DEFAULTS)}"
            )
        kinds = _TYPES[name]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = " or ".join(k.__name__ for k in kinds)
            raise ValueError(f"{path}: {key} must be {expected}, got {value!r}")
        settings[name] = value
    return settings


def per_layer(option: str, value: Any, n_hidden: int) -> str | list[str]:
    """--activation: one name, or one per hidden layer ("relu,tanh" or a list), each checked."""
    names = value.split(",") if isinstance(value, str) and "," in value else value
    if isinstance(names, str):
        return check_choice(option, names.strip(), HIDDEN_ACTIVATIONS, "activation")
    if not isinstance(names, list) or len(names) != n_hidden:
        count = len(names) if isinstance(names, list) else 0
        raise ValueError(
            f"{option}: {count} activation(s) for {n_hidden} hidden layer(s); give one name "
            f"for all of them or one per hidden layer, such as relu,tanh; got {value!r}"
        )
    return [check_choice(option, str(n).strip(), HIDDEN_ACTIVATIONS, "activation") for n in names]


def resolve_settings(
    data: str, config_file: str | None, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """DEFAULTS, then the dataset's PRESETS entry, then the TOML file, then the command line.

    Every value is checked here, before any data is read; an error names the
    flag (``--learning-rate``) or the file and key where the value came from.
    """
    settings = dict(DEFAULTS)
    settings.update(PRESETS.get(data, {}))
    origin = {key: "--" + key.replace("_", "-") for key in DEFAULTS}
    if config_file is not None:
        from_file = read_config(config_file)
        settings.update(from_file)
        origin.update({key: f"{config_file}: {key}" for key in from_file})
    given = {k: v for k, v in overrides.items() if v is not None}
    settings.update(given)
    origin.update({key: "--" + key.replace("_", "-") for key in given})
    _check_settings(settings, origin)
    return settings


def _check_settings(settings: dict[str, Any], origin: Mapping[str, str]) -> None:
    """Each setting checked under the name the user gave it; sizes parsed to lists."""
    settings["hidden"] = parse_sizes(origin["hidden"], settings["hidden"], allow_none=True)
    if settings["layers"] is not None:
        settings["layers"] = parse_sizes(origin["layers"], settings["layers"])
        if len(settings["layers"]) < 2:
            raise ValueError(f"{origin['layers']}: needs at least an input and an output layer")
    for key, low in (("epochs", 1), ("batch_size", 0), ("checkpoint_every", 0), ("seed", 0)):
        settings[key] = check_count(origin[key], settings[key], low)
    if settings["early_stopping"] is not None:
        settings["early_stopping"] = check_count(
            origin["early_stopping"], settings["early_stopping"], 0
        )
    settings["learning_rate"] = check_positive(origin["learning_rate"], settings["learning_rate"])
    settings["momentum"] = check_fraction(origin["momentum"], settings["momentum"])
    settings["weight_decay"] = check_real(origin["weight_decay"], settings["weight_decay"], low=0.0)
    settings["val_size"] = check_fraction(origin["val_size"], settings["val_size"])
    if settings["test_size"] is not None:
        settings["test_size"] = check_fraction(origin["test_size"], settings["test_size"])
    n_hidden = len(settings["hidden"] if settings["layers"] is None else settings["layers"][2:])
    settings["activation"] = per_layer(origin["activation"], settings["activation"], n_hidden)
    rates = settings["dropout"]
    if isinstance(rates, str):
        rates = [r.strip() for r in rates.split(",")] if "," in rates else rates.strip()
        try:
            rates = [float(r) for r in rates] if isinstance(rates, list) else float(rates)
        except ValueError:
            raise ValueError(
                f"{origin['dropout']}: expected a rate such as 0.2, or one per hidden layer "
                f"such as 0.2,0.1; got {settings['dropout']!r}"
            ) from None
    settings["dropout"] = check_dropout(rates, n_hidden, origin["dropout"])
    if settings["dropout"] is not None and settings["optimizer"] == "lbfgs":
        raise ValueError(
            f"{origin['dropout']}: L-BFGS needs the same J at every evaluation, and dropout "
            f"draws new masks each step; use a step-based {origin['optimizer']} (such as adam)"
        )
    for key, choices in (
        ("output", ACTIVATIONS),
        ("cost", COSTS),
        ("init", INITS),
        ("optimizer", OPTIMIZERS),
        ("dtype", ("float32", "float64")),
        ("backend", BACKENDS),
        ("task", TASKS),
        ("missing", MISSING_POLICIES),
        ("class_weight", ("balanced",)),
        ("schedule", SCHEDULES),
    ):
        if settings[key] is not None:
            check_choice(origin[key], settings[key], choices, key.replace("_", " "))
    check_device(settings, origin)
    if settings["test_size"] is not None and settings["test_size"] + settings["val_size"] >= 1:
        raise ValueError(
            f"{origin['test_size']} {settings['test_size']:g} and {origin['val_size']} "
            f"{settings['val_size']:g} leave no rows for training; their sum must be below 1"
        )
    for key in ("drop", "categorical", "numeric"):
        if not all(isinstance(name, str) and name for name in settings[key]):
            raise ValueError(f"{origin[key]}: expected column names, got {settings[key]!r}")
    delimiter = settings["delimiter"]
    if delimiter is not None:
        delimiter = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(
            delimiter, delimiter
        )
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ValueError(
                f"{origin['delimiter']}: expected one character (or tab, comma, semicolon), "
                f"got {settings['delimiter']!r}"
            )
        settings["delimiter"] = delimiter
    if settings["encoding"] is not None:
        import codecs

        try:
            codecs.lookup(settings["encoding"])
        except LookupError:
            raise ValueError(
                f"{origin['encoding']}: unknown encoding {settings['encoding']!r} "
                "(try utf-8, latin-1, cp1252)"
            ) from None


BACKENDS = ("numpy", "torch", "cupy")
"""The array libraries ``--backend`` names (``Network``'s ``xp``)."""


def check_device(settings: Mapping[str, Any], origin: Mapping[str, str]) -> None:
    """``--backend`` and ``--device`` checked together, before any data is read.

    The library must import and the device exist: a missing torch or CuPy, a
    CPU-only torch or no CUDA card is one line naming what is missing.
    """
    from ._arrays import resolve_namespace
    from ._devices import resolve_device

    backend, device = settings["backend"], settings["device"]
    if device is not None and not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ValueError(f"{origin['device']}: expected cpu or cuda (or cuda:N), got {device!r}")
    if backend == "numpy" and device not in (None, "cpu"):
        raise ValueError(
            f"{origin['device']} {device}: numpy computes on the CPU; add --backend torch "
            "(or --backend cupy) to train on a GPU"
        )
    if backend == "cupy" and device == "cpu":
        raise ValueError(f"{origin['device']} cpu: CuPy computes on CUDA devices only")
    try:
        xp = resolve_namespace(backend)
    except ValueError:
        hint = "pip install torch" if backend == "torch" else "pip install cupy-cuda12x"
        raise ValueError(
            f"{origin['backend']} {backend}: {backend} is not installed ({hint})"
        ) from None
    try:
        resolve_device(xp, device)
    except (ValueError, ImportError) as exc:
        raise ValueError(
            f"{origin['device']} {device}: {str(exc).removeprefix('device: ')}"
        ) from None
