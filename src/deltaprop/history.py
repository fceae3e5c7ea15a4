"""What a training run reports: its history, the callbacks' view of it, and how it can end.

Nothing here computes: the training loop (``deltaprop.loop``) fills a
:class:`History` epoch by epoch, hands each callback an :class:`EpochEnd`, and
ends with one of the exceptions below when it cannot go on. ``progress`` and the
autoencoders read these without importing the loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ._arrays import Array
from .network import Network

Callback = Callable[["EpochEnd"], Any]
"""Called after every epoch; returning True stops training (after this epoch)."""


@dataclass
class History:
    """What happened in each epoch (for L-BFGS: each iteration).

    Every list has one entry per epoch. ``train_loss`` is J over the training
    examples, with its two parts ``train_data`` ((1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)) and
    ``train_decay`` ((λ/2) Σ W²); with mini-batches it is the mean over the
    epoch's batches of J at the parameters each batch's update started from.
    Validation figures are measured after the epoch's last update and are NaN
    when there is no validation set; accuracies are NaN for costs that are not
    classification costs.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_data: list[float] = field(default_factory=list)
    train_decay: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    stop_reason: str = ""

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The inverse of :meth:`to_dict`; unknown keys are a ValueError."""
        names = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"history: unknown fields {sorted(unknown)}")
        return cls(**data)

    def to_csv(self) -> str:
        """One row per epoch, a header naming the columns."""
        cols = [
            "epoch",
            "train_loss",
            "train_data",
            "train_decay",
            "train_accuracy",
            "val_loss",
            "val_accuracy",
            "learning_rate",
            "wall_time",
            "steps",
        ]
        rows = [",".join(cols)]
        for i in range(len(self)):
            rows.append(",".join(repr(getattr(self, c)[i]) for c in cols))
        return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class EpochEnd:
    """What a callback sees after each epoch."""

    epoch: int  # 0-based
    epochs: int  # the run's epoch budget
    net: Network
    history: History
    gradient: Array | None = None  # L-BFGS: ∇J at the iterate the epoch ended with


class TrainingDiverged(RuntimeError):
    """J or its gradient became NaN or infinite; θ was put back to its last finite state."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: θ is back at the last completed epoch, checkpointed if asked."""

    def __init__(self, message: str, history: History, checkpoint: str | None) -> None:
        super().__init__(message)
        self.history = history
        self.checkpoint = checkpoint
