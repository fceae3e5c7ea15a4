"""The target: which task it makes, and how it becomes the network's Y and back.

:meth:`TargetEncoder.fit` infers the task from the target's values unless it is
given: text labels, or whole numbers with at most :data:`MAX_INTEGER_CLASSES`
distinct values, are classification; any other numbers are regression. The
reason is kept and printed ("regression: 127 distinct numeric values").
Classification targets become one-hot rows; regression targets are
standardised with the training rows' mean and standard deviation, and
:meth:`decode` gives predictions back in the target's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DataError
from .preprocessing import Standardizer, one_hot

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)
MAX_INTEGER_CLASSES = 10
"""Whole-number targets with at most this many distinct values are inferred to be classes."""


@dataclass(frozen=True, eq=False)
class TargetEncoder:
    """The task, the class names (classification) or the scaling (regression) of a target."""

    name: str | None
    task: str
    reason: str
    classes: tuple[str, ...] = ()
    scaler: Standardizer | None = None

    @property
    def n_outputs(self) -> int:
        """The output layer's size."""
        if self.task == CLASSIFICATION:
            return len(self.classes)
        return 1 if self.scaler is None else int(self.scaler.mean.shape[0])

    @classmethod
    def fit(
        cls,
        name: str | None,
        values: np.ndarray,
        train: np.ndarray,
        *,
        task: str | None = None,
        standardize: bool = True,
        where: str = "target",
    ) -> TargetEncoder:
        """The task of ``values`` (every row), the classes, and the scaling of rows ``train``."""
        values = np.asarray(values)
        numbers = _numbers(values)
        if task is not None and task not in TASKS:
            raise DataError(f"task: expected one of {', '.join(TASKS)}, got {task!r}")
        if task is None:
            task, reason = _infer(values, numbers)
        else:
            reason = "given"
        if task == CLASSIFICATION:
            if values.ndim != 1:
                raise DataError(f"{where}: classification needs one target column")
            classes = tuple(sorted(set(_labels(values)), key=_label_order))
            if len(classes) < 2:
                raise DataError(
                    f"{where}: the target has a single class ({classes[0]}); "
                    "classification needs at least two"
                )
            return cls(name, task, reason, classes)
        if numbers is None:
            first = next(v for v in values.ravel() if _number(v) is None)
            raise DataError(f"{where}: regression needs numbers, the target holds {str(first)!r}")
        Y = numbers.reshape(len(numbers), -1)
        scaler = Standardizer.fit(Y[train]) if standardize else None
        return cls(name, task, reason, (), scaler)

    def encode(self, values: np.ndarray, where: str = "target") -> np.ndarray:
        """Y for the network: one-hot rows, or the standardised target."""
        values = np.asarray(values)
        if self.task == CLASSIFICATION:
            index = {c: k for k, c in enumerate(self.classes)}
            labels = _labels(values)
            unknown = sorted({t for t in labels if t not in index})
            if unknown:
                raise DataError(
                    f"{where}: class {unknown[0]!r} was not among the model's classes "
                    f"({', '.join(self.classes)[:200]})"
                )
            return one_hot(np.array([index[t] for t in labels], dtype=np.int64), len(self.classes))
        numbers = _numbers(values)
        if numbers is None:
            raise DataError(f"{where}: the target must hold numbers for regression")
        Y = numbers.reshape(len(numbers), -1)
        return Y if self.scaler is None else self.scaler.transform(Y)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Regression outputs in the target's units (classification outputs as they are)."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.task == CLASSIFICATION or self.scaler is None:
            return outputs
        return self.scaler.inverse_transform(outputs)

    def describe(self) -> str:
        """ "classification: 3 classes (text labels)" or "regression (…), standardised"."""
        if self.task == CLASSIFICATION:
            return f"{self.task}: {len(self.classes)} classes ({self.reason})"
        scaled = ", standardised for training" if self.scaler is not None else ""
        return f"{self.task} ({self.reason}){scaled}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: what a model file stores."""
        return {
            "name": self.name,
            "task": self.task,
            "reason": self.reason,
            "classes": list(self.classes),
            "scaler": None if self.scaler is None else self.scaler.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str) -> TargetEncoder:
        """The encoder :meth:`to_dict` described; a DataError naming ``where`` if malformed."""
        try:
            name = data["name"]
            task = data["task"]
            classes = tuple(str(c) for c in data["classes"])
            scaler = None if data["scaler"] is None else Standardizer.from_dict(data["scaler"])
            if task not in TASKS or (task == CLASSIFICATION and len(classes) < 2):
                raise ValueError
            if name is not None and not isinstance(name, str):
                raise ValueError
            return cls(name, task, str(data["reason"]), classes, scaler)
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}: the stored target description is malformed") from None


def _infer(values: np.ndarray, numbers: np.ndarray | None) -> tuple[str, str]:
    if numbers is None:
        return CLASSIFICATION, "text labels"
    if numbers.ndim == 2 and numbers.shape[1] > 1:
        return REGRESSION, f"{numbers.shape[1]} numeric target columns"
    distinct = np.unique(numbers)
    whole = bool(np.all(distinct == np.round(distinct)))
    if whole and len(distinct) <= MAX_INTEGER_CLASSES:
        return CLASSIFICATION, f"{len(distinct)} distinct whole numbers"
    kind = "whole numbers" if whole else "numeric values"
    return REGRESSION, f"{len(distinct)} distinct {kind}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool | np.bool_):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _numbers(values: np.ndarray) -> np.ndarray | None:
    """float64 values, or None if any is not a finite number."""
    if values.dtype.kind in "iuf":
        numbers = values.astype(np.float64)
        return numbers if np.all(np.isfinite(numbers)) else None
    out = [_number(v) for v in values.ravel()]
    if any(v is None for v in out):
        return None
    return np.array(out, dtype=np.float64).reshape(values.shape)


def _labels(values: np.ndarray) -> list[str]:
    out = []
    for v in values:
        number = _number(v)
        out.append(str(int(number)) if number is not None and number.is_integer() else str(v))
    return out


def _label_order(label: str) -> tuple[int, float, str]:
    number = _number(label)
    return (0, number, "") if number is not None else (1, 0.0, label)
