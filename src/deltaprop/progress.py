"""Progress reports for training: the one place where training output is written.

On a terminal, a live bar redrawn after every epoch; elsewhere (a log file, a
pipe, CI), a plain line every N epochs and after the last one.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from .history import EpochEnd


class ProgressReporter:
    """A training callback that writes progress to ``stream`` (stderr by default)."""

    def __init__(self, every: int = 10, stream: TextIO | None = None, width: int = 24) -> None:
        self.every = every
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._drawn = False
        self._t0 = time.perf_counter()

    def __call__(self, info: EpochEnd) -> None:
        h = info.history
        done = info.epoch + 1
        total = max(info.epochs, done)
        text = f"loss {h.train_loss[-1]:.6g}"
        if not math.isnan(h.train_accuracy[-1]):
            text += f"  acc {h.train_accuracy[-1]:.4f}"
        if not math.isnan(h.val_loss[-1]):
            text += f"  val_loss {h.val_loss[-1]:.6g}"
        if not math.isnan(h.val_accuracy[-1]):
            text += f"  val_acc {h.val_accuracy[-1]:.4f}"
        elapsed = time.perf_counter() - self._t0
        if self.live:
            filled = int(self.width * done / total)
            bar = "█" * filled + "·" * (self.width - filled)
            self.stream.write(f"\r{done:>{len(str(total))}}/{total} {bar} {text}  {elapsed:.1f}s ")
            self._drawn = True
        elif done % self.every == 0 or done == info.epochs or done == 1:
            self.stream.write(f"epoch {done}/{total}  {text}  ({elapsed:.1f}s)\n")
        self.stream.flush()

    def close(self) -> None:
        """End the live line, if one was drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
