"""A fitted estimator in a deltaprop model file, and back; nothing is pickled.

The file is an ordinary deltaprop model file (see :mod:`deltaprop.io`): θ as
its one tensor, the network's architecture, and under ``extra["sklearn"]``::

    {"format": "deltaprop-sklearn", "format_version": 1, "estimator": "MLPClassifier",
     "params": {...get_params()...}, "fitted": {"n_features_in_": 4, "classes_": {...}, ...}}

Parameters are stored as JSON, with a tuple as {"tuple": [...]}, a dtype as
{"dtype": "float32"} and a dict (``class_weight``) as {"mapping": [[key, value], ...]},
so that its keys keep their type; a RandomState instance as ``random_state`` is stored as
None. Reading checks every field against the network before building the
estimator, and reports any fault as :class:`~deltaprop.ModelFileError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from .._arrays import dtype_name
from .._validate import check_count
from ..io import ModelFileError, load_metadata, load_model

BaseMLP = Any
"""A scikit-learn estimator of ``_base`` (which calls this module to save and load itself)."""

FORMAT = "deltaprop-sklearn"
FORMAT_VERSION = 1
KEY = "sklearn"

_CURVES = ("loss_curve_", "validation_scores_", "val_loss_curve_")
_NUMBERS = ("loss_", "best_loss_", "best_validation_score_", "best_val_loss_")
_COUNTS = ("n_iter_", "t_")
_Y_TYPES = ("binary", "multiclass", "multilabel-indicator")
_LABEL_KINDS = "biufUO"


def estimator_metadata(est: BaseMLP) -> dict[str, Any]:
    """The JSON-able record of a fitted estimator, for ``extra`` of its model file."""
    params = {k: _encode(k, v) for k, v in est.get_params(deep=False).items()}
    fitted: dict[str, Any] = {
        "n_features_in_": est.n_features_in_,
        "feature_names_in_": None
        if not hasattr(est, "feature_names_in_")
        else [str(n) for n in est.feature_names_in_],
        "n_outputs_": est.n_outputs_,
        "n_layers_": est.n_layers_,
        "out_activation_": est.out_activation_,
        "no_improvement_count": est._no_improvement_count,
    }
    for name in (*_CURVES, *_NUMBERS, *_COUNTS):
        value = getattr(est, name, None)
        fitted[name] = None if value is None else (list(value) if name in _CURVES else value)
    if hasattr(est, "classes_"):
        classes = np.asarray(est.classes_)
        fitted["classes_"] = {"values": classes.tolist(), "dtype": classes.dtype.str}
        fitted["y_type"] = est._label_binarizer.y_type_
    return {
        KEY: {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "estimator": type(est).__name__,
            "params": params,
            "fitted": fitted,
        }
    }


def read_estimator(path: str | os.PathLike[str], classes: Mapping[str, type[BaseMLP]]) -> BaseMLP:
    """The estimator in the model file ``path``, which must be one of ``classes`` (by name)."""
    name = os.fspath(path)
    record = load_metadata(name)["extra"].get(KEY)
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ModelFileError(
            f"{name}: not a saved scikit-learn estimator (no {KEY!r} record in its metadata); "
            "a plain deltaprop model is read by deltaprop.load"
        )
    if record.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{name}: estimator record version {record.get('format_version')!r}; "
            f"this deltaprop reads version {FORMAT_VERSION}"
        )
    kind = record.get("estimator")
    if not isinstance(kind, str) or kind not in classes:
        raise ModelFileError(f"{name}: holds a {kind!r}, expected {' or '.join(classes)}")
    try:
        return _build(classes[kind], record, name)
    except (ValueError, TypeError, KeyError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{name}: the stored estimator is inconsistent: {exc}") from None


ADDED_PARAMS = ("dropout", "early_stopping_metric", "class_weight", "device")
"""Estimator parameters newer than the first model files: a file without one gets its default."""


def _build(cls: type[BaseMLP], record: dict[str, Any], name: str) -> BaseMLP:
    """The estimator from a file's record; long because it checks every field before use."""
    params, fitted = record["params"], record["fitted"]
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise ValueError("'params' and 'fitted' must be JSON objects")
    expected = set(cls._get_param_names())
    # Files written before a parameter existed lack it: it takes its default.
    missing = {name for name in ADDED_PARAMS if name in expected and name not in params}
    if set(params) | missing != expected:
        raise ValueError(
            f"parameters {sorted(set(params) ^ expected)} do not match {cls.__name__}'s"
        )
    est = cls(**{k: _decode(k, v) for k, v in params.items()})
    cfg = est._settings()  # the stored parameters must be valid ones
    net = load_model(name)
    sizes = net.layer_sizes
    n_features = _int(fitted, "n_features_in_")
    if sizes != (n_features, *cfg.hidden_layer_sizes, sizes[-1]):
        raise ValueError(
            f"the network's layer sizes {list(sizes)} do not match n_features_in_="
            f"{n_features} and hidden_layer_sizes={list(cfg.hidden_layer_sizes)}"
        )
    if net.activation_name != cfg.activation:
        raise ValueError(
            f"the network's activation {net.activation_name!r} is not activation={est.activation!r}"
        )
    if _int(fitted, "n_outputs_") != sizes[-1] or _int(fitted, "n_layers_") != len(sizes):
        raise ValueError("n_outputs_ and n_layers_ do not match the network")
    names = fitted["feature_names_in_"]
    if names is not None:
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise ValueError("feature_names_in_ must be a list of strings")
        if len(names) != n_features:
            raise ValueError(f"{len(names)} feature_names_in_ for {n_features} features")
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est.n_features_in_ = n_features
    est.n_outputs_ = sizes[-1]
    est.n_layers_ = len(sizes)
    if not isinstance(fitted["out_activation_"], str):
        raise ValueError("out_activation_ must be a string")
    est.out_activation_ = fitted["out_activation_"]
    for key in _CURVES:
        value = fitted[key]
        if value is not None and not (
            isinstance(value, list) and all(_is_number(v) for v in value)
        ):
            raise ValueError(f"{key} must be a list of numbers or null")
        setattr(est, key, None if value is None else [float(v) for v in value])
    for key in _NUMBERS:
        value = fitted.get(key)  # best_val_loss_ is newer than the format
        if value is not None and not _is_number(value):
            raise ValueError(f"{key} must be a number or null")
        setattr(est, key, None if value is None else float(value))
    for key in _COUNTS:
        setattr(est, key, _int(fitted, key))
    est._no_improvement_count = _int(fitted, "no_improvement_count")
    if "classes_" in fitted:
        _restore_classes(est, fitted, sizes[-1])
    elif not cls._regression:
        raise ValueError("a classifier's record needs classes_")
    est.network_ = net
    est._solver = None
    est._best_theta = np.array(net.params, copy=True)
    return est


def _restore_classes(est: BaseMLP, fitted: dict[str, Any], n_outputs: int) -> None:
    stored, y_type = fitted["classes_"], fitted.get("y_type")
    if not (isinstance(stored, dict) and isinstance(stored.get("values"), list)):
        raise ValueError("classes_ must be stored as {'values': [...], 'dtype': ...}")
    dtype = np.dtype(str(stored.get("dtype")))
    if dtype.kind not in _LABEL_KINDS:
        raise ValueError(f"classes_ has unsupported dtype {dtype}")
    classes = np.array(stored["values"], dtype=dtype)
    if classes.ndim != 1 or classes.size == 0:
        raise ValueError("classes_ must be a non-empty list of labels")
    if y_type not in _Y_TYPES:
        raise ValueError(f"y_type must be one of {', '.join(_Y_TYPES)}, got {y_type!r}")
    binarizer = LabelBinarizer()
    if y_type == "multilabel-indicator":
        binarizer.fit(np.vstack([np.zeros(classes.size, int), np.ones(classes.size, int)]))
    else:
        binarizer.fit(classes)
    if binarizer.y_type_ != y_type or not np.array_equal(binarizer.classes_, classes):
        raise ValueError(f"classes_ {classes.tolist()} do not make {y_type!r} targets")
    outputs = 1 if y_type == "binary" else classes.size
    if outputs != n_outputs:
        raise ValueError(
            f"{classes.size} classes ({y_type}) need {outputs} outputs, the network has {n_outputs}"
        )
    est.classes_ = classes
    est._label_binarizer = binarizer


def _encode(name: str, value: Any) -> Any:
    if isinstance(value, np.random.RandomState | np.random.Generator):
        return None
    if name == "dtype" and value is not None:
        return {"dtype": dtype_name(value)}
    if isinstance(value, tuple):
        return {"tuple": [_encode(name, v) for v in value]}
    if isinstance(value, Mapping):
        return {"mapping": [[_encode(name, k), _encode(name, v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _decode(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"tuple"} and isinstance(value["tuple"], list):
            return tuple(_decode(name, v) for v in value["tuple"])
        if set(value) == {"dtype"} and value["dtype"] in ("float32", "float64"):
            return np.dtype(value["dtype"]).type
        pairs = value.get("mapping")
        if set(value) == {"mapping"} and isinstance(pairs, list):
            if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
                raise ValueError(
                    f"parameter {name}: a mapping must be stored as [key, value] pairs"
                )
            return {_decode(name, k): _decode(name, v) for k, v in pairs}
        raise ValueError(f"parameter {name}: unrecognised stored value {value!r}")
    if isinstance(value, list):
        return [_decode(name, v) for v in value]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(fitted: dict[str, Any], key: str) -> int:
    return check_count(key, fitted[key], low=0)
