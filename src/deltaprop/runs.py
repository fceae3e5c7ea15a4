"""A training run of the command line: data, network, training, scores, what the model file keeps.

Each function is one step of ``deltaprop train``, ``evaluate``, ``predict`` or
``info``, written as a library call that returns data; ``cli`` prints.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import metrics as scoring
from ._arrays import to_numpy
from ._devices import host_to
from .app import DEFAULTS, REFERENCES
from .data import (
    CLASSIFICATION,
    DataError,
    Prepared,
    TargetEncoder,
    is_dataset,
    prepare_dataset,
    prepare_file,
    rows_for_model,
)
from .data.shards import Ranks, is_npy_file, prepare_npy_shard, shard_prepared
from .network import Network
from .optim import Cosine


def prepare(data: str, settings: Mapping[str, Any], dp: Ranks | None = None) -> Prepared:
    """DATA (a built-in dataset or a file) split and preprocessed; under MPI, this rank's rows."""
    test_size = settings["test_size"]
    common: dict[str, Any] = {
        "target": settings["target"],
        "task": settings["task"],
        "val_size": settings["val_size"],
        "test_size": 0.2 if test_size is None else test_size,
        "seed": settings["seed"],
        "standardize": settings["standardize"],
    }
    if dp is not None and is_npy_file(data):
        return prepare_npy_shard(data, dp, **common)
    if is_dataset(data):
        for key in ("target", "task", "delimiter", "encoding", "labels"):
            if settings[key] is not None:
                raise ValueError(f"--{key}: applies to data files, not to the built-in {data!r}")
        full = prepare_dataset(
            data, seed=settings["seed"], val_size=settings["val_size"], test_size=test_size
        )
    else:
        keys = ("missing", "drop", "categorical", "numeric", "delimiter", "encoding")
        options = {key: settings[key] for key in keys}
        full = prepare_file(data, **common, **options, labels_path=settings["labels"])
    return full if dp is None else shard_prepared(full, dp)


def build_network(prepared: Prepared, settings: Mapping[str, Any]) -> Network:
    """The network for the data: input and output sizes from the data, the rest from settings."""
    sizes = settings["layers"]
    if sizes is None:
        sizes = [prepared.n_features, *settings["hidden"], prepared.n_outputs]
    else:
        if sizes[0] != prepared.n_features:
            raise ValueError(
                f"--layers starts with {sizes[0]} inputs, but {prepared.source} has "
                f"{prepared.n_features} features"
            )
        if sizes[-1] != prepared.n_outputs:
            what = "classes" if prepared.task == CLASSIFICATION else "target columns"
            raise ValueError(
                f"--layers ends with {sizes[-1]} outputs, but {prepared.source} has "
                f"{prepared.n_outputs} {what}"
            )
    classification = prepared.task == CLASSIFICATION
    cost = settings["cost"] or ("cross_entropy" if classification else "squared_error")
    output = settings["output"]
    if output is None and cost == "squared_error":
        output = "softmax" if classification else "identity"
    try:
        return Network(
            sizes,
            activation=settings["activation"],
            output_activation=output,
            cost=cost,
            weight_decay=settings["weight_decay"],
            init=settings["init"],
            dtype=settings["dtype"],
            seed=settings["seed"],
            xp=settings.get("backend"),
            device=settings.get("device"),
        )
    except ValueError as exc:  # said in the Python names: say it in the flags' names
        raise ValueError(_as_flags(str(exc))) from None


def _as_flags(message: str) -> str:
    """Network's argument names in ``message`` as the command's flags."""
    message = re.sub(r"\boutput_activation=?'?(\w+)'?", r"--output \1", message)
    message = re.sub(r"\boutput_activation\b", "--output", message)
    return re.sub(r"^cost\b", "--cost", message)


def run_training(
    net: Network, prepared: Prepared, settings: Mapping[str, Any], **options: Any
) -> Any:
    """``deltaprop.train`` on the prepared data with the run's settings; returns the History.

    ``options`` go to ``train`` as they are (checkpoint, resume, progress, comm, …).
    """
    from .training import train

    rate: Any = settings["learning_rate"]
    if settings.get("schedule") == "cosine":
        rate = Cosine(rate, epochs=settings["epochs"])
    has_val = len(prepared.X_val) > 0
    weights = None
    if settings.get("class_weight") == "balanced":
        weights = balanced_weights(prepared, options.get("comm"))
    X_val, Y_val = host_to(net, prepared.X_val), host_to(net, prepared.Y_val)
    return train(
        net,
        host_to(net, prepared.X_train),
        host_to(net, prepared.Y_train),
        optimizer=settings["optimizer"],
        learning_rate=rate,
        momentum=settings["momentum"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"] or None,
        validation=(X_val, Y_val) if has_val else None,
        early_stopping=(settings["early_stopping"] or None) if has_val else None,
        seed=settings["seed"],
        checkpoint_every=settings["checkpoint_every"],
        dropout=settings["dropout"],
        sample_weight=host_to(net, weights),
        **options,
    )


def balanced_weights(prepared: Prepared, comm: Any = None) -> np.ndarray:
    """wᵢ = n / (k · n_c) for an example of class c: scikit-learn's "balanced" class weights.

    n is the number of training examples, k the number of classes present, n_c
    those of class c (counted over every MPI rank's rows when ``comm`` is given).
    """
    if prepared.task != CLASSIFICATION:
        raise ValueError(
            f"--class-weight balanced: applies to classification; {prepared.source} is a "
            f"{prepared.task} task"
        )
    labels = np.argmax(np.asarray(prepared.Y_train), axis=1)
    counts = np.bincount(labels, minlength=prepared.n_outputs).astype(np.float64)
    if comm is not None:
        counts = np.asarray(comm.allreduce(counts))
    present = counts > 0
    per_class = np.where(present, counts.sum() / (present.sum() * np.maximum(counts, 1)), 0.0)
    return per_class[labels]


def baseline(prepared: Prepared, dp: Ranks | None = None) -> dict[str, Any]:
    """The trivial predictor of the training rows: the majority class, or the mean target.

    Under MPI each rank holds a share of the training rows: the counts are summed.
    """
    m, sums = float(len(prepared.Y_train)), prepared.Y_train.sum(axis=0)
    if dp is not None:
        totals = np.asarray(dp.sum([m, *sums]))
        m, sums = float(totals[0]), totals[1:]
    if prepared.task == CLASSIFICATION:
        return {"class": int(np.argmax(sums))}
    mean = np.asarray(sums, dtype=np.float64) / max(m, 1.0)  # the decoding is affine
    return {"mean": prepared.target.decode(mean.reshape(1, -1))[0].tolist()}


def scores(
    net: Network, target: TargetEncoder, X: np.ndarray, Y: np.ndarray, base: Mapping[str, Any]
) -> dict[str, Any]:
    """J, and accuracy / macro-F1 / confusion or RMSE / MAE / R², each beside the baseline's."""
    if len(X) == 0:
        return {}
    data, decay = net.cost_terms(host_to(net, X), host_to(net, Y))
    out = np.asarray(to_numpy(net.predict(host_to(net, X))), dtype=np.float64)
    result: dict[str, Any] = {"loss": data + decay, "data_term": data}
    if target.task == CLASSIFICATION:
        result.update(
            scoring.classification_scores(
                np.argmax(Y, axis=1),
                np.argmax(out, axis=1),
                Y.shape[1],
                baseline=int(base.get("class", 0)),
            )
        )
    else:
        mean = np.asarray(base.get("mean", target.decode(Y).mean(axis=0)), dtype=np.float64)
        result.update(
            scoring.regression_scores(target.decode(Y), target.decode(out), baseline=mean)
        )
    return result


def reference_lines(dataset: str, accuracy: float | None) -> list[str]:
    """The run's test accuracy beside the published figures for the dataset."""
    if dataset not in REFERENCES or accuracy is None:
        return []
    source, figures = REFERENCES[dataset]
    lines = [f"  deltaprop (this run)                      {100 * accuracy:6.2f} %"]
    for what, value in figures:
        lines.append(f"  {what:<42}{value:6.2f} %")
    return [*lines, f"  (published references: {source})"]


def model_metadata(
    prepared: Prepared,
    settings: Mapping[str, Any],
    history: Any,
    test: Mapping[str, Any],
    base: Mapping[str, Any],
) -> dict[str, Any]:
    """What evaluate, predict and info need besides the weights; plain JSON, never pickle."""
    return {
        "data": prepared.source,
        "task": prepared.task,
        "classes": prepared.classes,
        "target": prepared.target.name,
        "preprocessing": prepared.preprocessing(),
        "baseline": dict(base),
        "settings": dict(settings),
        "history": None if history is None else history.to_dict(),
        "test": dict(test),
    }


def stored_target(extra: Mapping[str, Any], net: Network, model_path: str) -> TargetEncoder:
    """The target encoding a model file keeps (older files: from its task and classes)."""
    pre = extra.get("preprocessing")
    if isinstance(pre, dict) and pre.get("target") is not None:
        target = TargetEncoder.from_dict(pre["target"], f"{model_path}: metadata")
    else:
        task = extra.get("task", "regression")
        classes = tuple(str(c) for c in extra.get("classes") or [])
        target = TargetEncoder(extra.get("target"), task, "stored", classes)
    if target.task == CLASSIFICATION and target.n_outputs != net.layer_sizes[-1]:
        raise DataError(
            f"{model_path}: the metadata names {target.n_outputs} classes, the output layer has "
            f"{net.layer_sizes[-1]} units"
        )
    return target


def data_for_model(
    data: str,
    net: Network,
    extra: Mapping[str, Any],
    model_path: str,
    *,
    with_targets: bool = True,
) -> tuple[np.ndarray, np.ndarray | None, str, list[str]]:
    """(X, Y or None, description, notes) to evaluate or predict with a saved model.

    A built-in dataset gives its test split, re-made with the model's own seed
    and split sizes; a file gives all its rows, with the model's preprocessing
    applied by column name.
    """
    settings = extra.get("settings") or {}
    target = stored_target(extra, net, model_path)
    n_in = net.layer_sizes[0]
    if is_dataset(data):
        s = dict(DEFAULTS)
        s.update({k: v for k, v in settings.items() if k in DEFAULTS})
        s.update({k: None for k in ("target", "task", "delimiter", "encoding", "labels")})
        prepared = prepare(data, s)
        if prepared.task != target.task:
            raise ValueError(
                f"{data} is a {prepared.task} dataset; {model_path} does {target.task}"
            )
        _check_features(data, prepared.n_features, n_in)
        return prepared.X_test, prepared.Y_test, f"{data} test split", []
    pre = extra.get("preprocessing")
    if not isinstance(pre, dict) or pre.get("columns") is None:
        trained = extra.get("data")
        origin = f"the built-in dataset {trained!r}" if is_dataset(str(trained)) else "no file"
        raise DataError(
            f"{model_path}: was trained on {origin} and keeps no column names to match "
            f"{data}'s columns by; use it on a built-in dataset, or train on a file"
        )
    X, Y, notes = rows_for_model(
        data,
        pre,
        with_targets=with_targets,
        delimiter=settings.get("delimiter"),
        encoding=settings.get("encoding"),
        labels_path=settings.get("labels") if with_targets else None,
    )
    _check_features(data, X.shape[1], n_in)
    return X, Y, data, notes


def _check_features(data: str, n_features: int, n_in: int) -> None:
    if n_features != n_in:
        raise ValueError(f"{data} gives {n_features} features, the model's input layer has {n_in}")


def predictions_csv(net: Network, X: np.ndarray, target: TargetEncoder) -> str:
    """Predictions as CSV text: the class and its probabilities, or values in the target's units."""
    out = np.asarray(to_numpy(net.predict(host_to(net, X))), dtype=np.float64)
    if target.task == CLASSIFICATION:
        names = list(target.classes) or [str(i) for i in range(out.shape[1])]
        header = ["prediction", *[f"p_{c}" for c in names]]
        rows = [[names[int(np.argmax(row))], *[f"{p:.6g}" for p in row]] for row in out]
    else:
        out = target.decode(out)
        header = [f"y{i}" for i in range(out.shape[1])] if out.shape[1] > 1 else ["prediction"]
        rows = [[f"{v:.8g}" for v in row] for row in out]
    return "\n".join(",".join(_csv_cell(c) for c in r) for r in [header, *rows]) + "\n"


def _csv_cell(text: str) -> str:
    return f'"{text.replace(chr(34), chr(34) * 2)}"' if any(c in text for c in ',"\n') else text


def history_json(history: Any) -> str:
    """The history as JSON (NaN written as null)."""
    data = history.to_dict()
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = [None if isinstance(v, float) and math.isnan(v) else v for v in value]
    return json.dumps(data, indent=1) + "\n"
