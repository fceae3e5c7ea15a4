"""The numpy engine's pieces that need no compiling: gathered mini-batches, the argmax count.

:class:`Gather` copies each mini-batch's rows into arrays made once;
:class:`ArgmaxCount` keeps an epoch's predicted classes and compares them with
the labels once, at the epoch's end. The loop uses them on the numpy engine's
per-step path; a whole epoch in one compiled call gathers its rows itself and
hands its outputs to :meth:`ArgmaxCount.add_epoch`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._sparse import is_sparse, take_rows


class Gather:
    """Mini-batches copied into arrays made once, by ``np.take(…, out=)``.

    Args:
      x, y, w: the training inputs, targets and example weights (or None); a
        scipy.sparse CSR x gives each batch its rows as a new CSR matrix.
      rows: the largest batch.
    """

    def __init__(self, x: Any, y: np.ndarray, w: np.ndarray | None, rows: int) -> None:
        self.src = (x, y, w)
        self.sparse = is_sparse(x)
        self.x = np.empty((0 if self.sparse else rows, *x.shape[1:]), x.dtype)
        self.y = np.empty((rows, *y.shape[1:]), y.dtype)
        self.w = None if w is None else np.empty(rows, w.dtype)

    def take(self, idx: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """The rows ``idx`` (at most ``rows`` of them), in this object's arrays."""
        n = idx.shape[0]
        x, y, w = self.src
        # mode="clip": the indices are valid, and "raise" would copy through a buffer.
        sparse = self.sparse
        xs = take_rows(x, idx) if sparse else x.take(idx, axis=0, out=self.x[:n], mode="clip")
        ys = y.take(idx, axis=0, out=self.y[:n], mode="clip")
        ws = None
        if w is not None and self.w is not None:
            ws = w.take(idx, axis=0, out=self.w[:n], mode="clip")
        return xs, ys, ws


class ArgmaxCount:
    """An epoch's count of softmax outputs classified right, compared once at the end.

    Each step keeps its examples' predicted classes at their places in the epoch's
    order; the epoch compares them with the labels in that order, rather than
    taking two argmaxes every step.
    """

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels
        self.preds = np.empty(labels.shape[0], np.intp)
        self.end = 0  # the batches so far cover positions 0 … end of the order ...
        self.gaps: list[tuple[int, int]] = []  # ... but for these skipped (first, n) spans

    def add(self, output: np.ndarray, y: np.ndarray, first: int, n: int) -> None:
        """A batch's outputs, the examples first … first + n of the epoch's order."""
        output.argmax(axis=1, out=self.preds[first : first + n])
        if first != self.end:  # a skipped batch before this one
            self.gaps.append((self.end, first - self.end))
        self.end = first + n

    def add_epoch(
        self, outputs: np.ndarray, ran: np.ndarray, bs: int, y: Any = None, order: Any = None
    ) -> None:
        """A whole epoch's outputs at once: batch j (rows j·bs …) counts where ``ran[j]`` ≠ 0.

        (``y`` and ``order`` are not needed here: the labels came with the count.)
        """
        done = np.flatnonzero(ran != 0)  # NaN (a non-finite J trained on) counts too
        if not done.shape[0]:
            return
        self.end = min(outputs.shape[0], (int(done[-1]) + 1) * bs)
        for j in np.flatnonzero(ran[: int(done[-1])] == 0):  # skipped: gaps, as ``add`` has them
            self.gaps.append((int(j) * bs, bs))
        outputs[: self.end].argmax(axis=1, out=self.preds[: self.end])

    def result(self, order: np.ndarray | None) -> float:
        """The fraction right among the epoch's examples that were run."""
        if not self.end:
            return math.nan
        where: Any = slice(0, self.end)
        if self.gaps:
            keep = np.ones(self.end, bool)
            for first, n in self.gaps:
                keep[first : first + n] = False
            where = np.flatnonzero(keep)
        truth = self.labels[where] if order is None else np.take(self.labels, order[where])
        return float(np.count_nonzero(self.preds[where] == truth)) / truth.shape[0]
