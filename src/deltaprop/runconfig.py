"""What a training run is told: its configuration and how each epoch orders the examples.

``deltaprop.train`` checks its arguments and builds a :class:`LoopConfig`; the
scikit-learn estimators build theirs with their own rules. The loop
(``deltaprop.loop``) reads nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .optim import Schedule
from .optim.base import Optimizer

Order = Callable[[np.random.Generator, int], "np.ndarray | None"]
"""(rng, m) ↦ the order of the m examples for this epoch (None: as they are)."""


def shuffled(rng: np.random.Generator, m: int) -> np.ndarray:
    """A fresh permutation of the m examples from ``rng``: deltaprop's epoch order."""
    return rng.permutation(m)


@dataclass(frozen=True)
class LoopConfig:
    """What the loop needs to know of a run (``deltaprop.train`` checks and builds it).

    ``opt`` is None for L-BFGS. ``batch_size`` None is the full batch. ``max_steps``
    counts updates (L-BFGS: evaluations of J). ``describe`` is stored in checkpoints.
    ``dropout`` holds one rate per hidden layer (``deltaprop.dropout``), or None.
    """

    optimizer: str
    schedule: Schedule | None  # None for L-BFGS
    opt: Optimizer | None
    epochs: int
    max_steps: int | None = None
    batch_size: int | None = None
    early_stopping: int | None = None
    checkpoint_every: int = 1
    tol: float | None = None
    describe: Mapping[str, Any] | None = None
    skip_empty: bool = False  # scikit-learn skips a batch whose weights sum to 0
    dropout: tuple[float, ...] | None = None
    # False: a non-finite J or θ does not end the run (scikit-learn trains on; its
    # estimators check θ afterwards); True raises TrainingDiverged (step-based runs).
    diverge: bool = True
