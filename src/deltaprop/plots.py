"""Figures of a training run, drawn headless with matplotlib (an optional dependency)."""

from __future__ import annotations

import io
import math
from typing import Any


def loss_curve_png(history: Any, title: str = "") -> bytes:
    """PNG bytes: J per epoch for training and validation, and accuracy where there is one."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ValueError(
            "the loss-curve plot needs matplotlib: pip install 'deltaprop[data]'"
        ) from exc
    epochs = [e + 1 for e in history.epoch]
    has_acc = any(not math.isnan(v) for v in history.train_accuracy + history.val_accuracy)
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 6, 4))
    ax_loss = axes[0] if has_acc else axes
    ax_loss.plot(epochs, history.train_loss, label="training J")
    if any(not math.isnan(v) for v in history.val_loss):
        ax_loss.plot(epochs, history.val_loss, label="validation J")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("J(W,b)")
    ax_loss.set_yscale("log")
    ax_loss.legend()
    ax_loss.grid(True, alpha=0.3)
    if has_acc:
        ax_acc = axes[1]
        ax_acc.plot(epochs, [100 * v for v in history.train_accuracy], label="training")
        if any(not math.isnan(v) for v in history.val_accuracy):
            ax_acc.plot(epochs, [100 * v for v in history.val_accuracy], label="validation")
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("accuracy (%)")
        ax_acc.legend()
        ax_acc.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
