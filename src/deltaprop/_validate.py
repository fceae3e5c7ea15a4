"""Checks of scalar arguments at the library's edge, in one place.

Every check takes the name of the argument as the user typed it (``learning_rate``
in Python, ``--learning-rate`` on the command line) and raises ``ValueError``
saying what was expected and what came:

>>> check_count("epochs", 0)
Traceback (most recent call last):
  ...
ValueError: epochs must be a whole number ≥ 1, got 0
>>> check_positive("--learning-rate", 0.0)
Traceback (most recent call last):
  ...
ValueError: --learning-rate must be a positive finite number, got 0.0

Array checks (shapes, dtypes, finiteness) live in ``_arrays``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any


def check_count(name: str, value: Any, low: int = 1, unit: str = "") -> int:
    """A whole number ≥ ``low`` (bools refused), or a ValueError naming ``name``.

    ``unit`` names what is counted in the message ("a whole number of epochs ≥ 1").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        what = f"a whole number of {unit}" if unit else "a whole number"
        raise ValueError(f"{name} must be {what} ≥ {low}, got {value!r}")
    return int(value)


def check_optional_count(name: str, value: Any, low: int = 1) -> int | None:
    """None, or a whole number ≥ ``low``."""
    return None if value is None else check_count(name, value, low)


def check_real(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf) -> float:
    """A finite real scalar within [low, high], or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        bounds = f"at least {low}" if high == math.inf else f"between {low} and {high}"
        raise ValueError(f"{name} must be a finite number {bounds}, got {value!r}")
    return number


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0, such as a learning rate or ε, or a ValueError."""
    number = _real(name, value)
    if not number > 0.0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return number


def check_fraction(name: str, value: Any) -> float:
    """A number in [0, 1), such as a momentum or a decay rate β, or a ValueError."""
    number = _real(name, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")
    return number


def check_choice(name: str, value: Any, choices: Iterable[str], what: str = "value") -> str:
    """One of ``choices``, or a ValueError listing them."""
    options = list(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: unknown {what} {value!r}; choose one of: {', '.join(options)}")
    return value


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number
