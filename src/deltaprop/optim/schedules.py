"""Learning-rate schedules: α as a function of the epoch, counted from 0.

Each schedule is a frozen dataclass; calling it with the epoch gives α for
that epoch, and ``config()`` gives the JSON-able data to store in a model file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._validate import check_count, check_positive, check_real


def _check_epoch(epoch: Any) -> int:
    return check_count("epoch", epoch, low=0)


@dataclass(frozen=True)
class Constant:
    """α(epoch) = α₀

    Args:
      lr: α₀ > 0.

    >>> Constant(0.1)(7)
    0.1
    """

    lr: float

    name = "constant"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", check_positive("lr", self.lr))

    def __call__(self, epoch: int) -> float:
        """α₀, whatever the epoch."""
        _check_epoch(epoch)
        return self.lr

    def config(self) -> dict[str, Any]:
        """{"name": "constant", "lr": α₀}."""
        return {"name": self.name, "lr": self.lr}


@dataclass(frozen=True)
class StepDecay:
    """α(epoch) = α₀ · γ^⌊epoch / k⌋

    The rate is multiplied by γ = ``factor`` every k = ``every`` epochs.

    Args:
      lr: α₀ > 0, the rate of epochs 0 … k − 1.
      factor: γ > 0 (below 1 to decay).
      every: k ≥ 1 epochs between changes.

    >>> [StepDecay(1.0, factor=0.5, every=2)(e) for e in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    lr: float
    factor: float = 0.5
    every: int = 10

    name = "step"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", check_positive("lr", self.lr))
        object.__setattr__(self, "factor", check_positive("factor", self.factor))
        check_count("every", self.every, unit="epochs")
        object.__setattr__(self, "every", int(self.every))

    def __call__(self, epoch: int) -> float:
        """α₀ · γ^⌊epoch / k⌋."""
        return self.lr * self.factor ** (_check_epoch(epoch) // self.every)

    def config(self) -> dict[str, Any]:
        """{"name": "step", "lr": α₀, "factor": γ, "every": k}."""
        return {"name": self.name, "lr": self.lr, "factor": self.factor, "every": self.every}


@dataclass(frozen=True)
class InverseTime:
    """α(epoch) = α₀ / (1 + d · epoch)

    Args:
      lr: α₀ > 0.
      decay: d > 0.

    >>> [InverseTime(1.0, decay=0.5)(e) for e in range(3)]
    [1.0, 0.6666666666666666, 0.5]
    """

    lr: float
    decay: float

    name = "inverse_time"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", check_positive("lr", self.lr))
        object.__setattr__(self, "decay", check_positive("decay", self.decay))

    def __call__(self, epoch: int) -> float:
        """α₀ / (1 + d · epoch)."""
        return self.lr / (1.0 + self.decay * _check_epoch(epoch))

    def config(self) -> dict[str, Any]:
        """{"name": "inverse_time", "lr": α₀, "decay": d}."""
        return {"name": self.name, "lr": self.lr, "decay": self.decay}


@dataclass(frozen=True)
class Cosine:
    """α(epoch) = α_min + ½ (α₀ − α_min) (1 + cos(π · min(epoch, T) / T))

    Cosine annealing over a run of T = ``epochs`` epochs: α₀ at epoch 0, falling
    slowly, then fast, then slowly again towards α_min; epochs from T on keep α_min.

    Args:
      lr: α₀ > 0, the rate of epoch 0.
      epochs: T ≥ 1, the epochs it anneals over (usually the run's epoch budget).
      min_lr: α_min, 0 ≤ α_min ≤ α₀ (default 0).

    >>> [round(Cosine(1.0, epochs=4)(e), 4) for e in range(5)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    lr: float
    epochs: int
    min_lr: float = 0.0

    name = "cosine"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", check_positive("lr", self.lr))
        check_count("epochs", self.epochs, unit="epochs")
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "min_lr", check_real("min_lr", self.min_lr, low=0.0, high=self.lr))

    def __call__(self, epoch: int) -> float:
        """α_min + ½ (α₀ − α_min) (1 + cos(π · min(epoch, T) / T))."""
        t = min(_check_epoch(epoch), self.epochs) / self.epochs
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * t))

    def config(self) -> dict[str, Any]:
        """{"name": "cosine", "lr": α₀, "epochs": T, "min_lr": α_min}."""
        return {"name": self.name, "lr": self.lr, "epochs": self.epochs, "min_lr": self.min_lr}


Schedule = Constant | StepDecay | InverseTime | Cosine
"""Any of the schedules (all callables epoch -> α with a ``config()``)."""
