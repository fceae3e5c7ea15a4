"""An epoch's sums of J's parts, batch by batch: floats on the host, 0-d arrays on a device.

The loop records an epoch's J as Σ_B n_B J_B / Σ_B n_B over its batches B (each
J_B at the θ its update started from). On the host each J_B is a float and is
checked for finiteness as it comes (the divergence guard). On a device,
``float(J_B)`` would wait for the device and copy to the host at every step;
there the parts stay 0-d arrays on the device, summed there in float64 (the same
arithmetic as the host's Python floats), and one copy at the epoch's end gives
the sums and each batch's J, so the guard still finds the first step whose J was
not finite.
"""

from __future__ import annotations

import math
from typing import Any

from ._arrays import Array, Namespace, to_numpy
from .objective import Terms


class EpochSums:
    """Σ_B n_B × (each part of J_B), and of ``Terms.extra``, over an epoch's batches.

    Args:
      n_parts: how many parts J has (the objective's ``part_names``).
      xp: the objective's namespace.
      on_device: the parts are 0-d arrays of ``xp`` (``evaluate_on_device``), kept there.
    """

    def __init__(self, n_parts: int, xp: Namespace, on_device: bool) -> None:
        self.sums: list[Any] = [0.0] * n_parts
        self.extra: dict[str, float] = {}
        self.xp, self.on_device = xp, on_device
        self._totals: list[Array] = []  # each batch's J, on the device

    def add(self, terms: Terms, n: int) -> bool:
        """Add a batch of n examples; False if its J is known here to be non-finite."""
        parts: Any = terms.parts
        if self.on_device:
            xp = self.xp
            parts = [xp.astype(part, xp.float64) for part in parts]
            self._totals.append(sum(parts))
        for k, part in enumerate(parts):
            self.sums[k] += part * n
        if terms.extra:
            for key, value in terms.extra.items():
                self.extra[key] = self.extra.get(key, 0.0) + value * n
        return self.on_device or math.isfinite(sum(terms.parts))

    def close(self) -> int | None:
        """Bring device sums to the host (one copy); the index of the first batch whose J
        was not finite, or None (always None on the host, where ``add`` said so)."""
        if not self._totals:
            return None
        host = to_numpy(self.xp.stack([*self.sums, *self._totals]))
        self.sums = [float(v) for v in host[: len(self.sums)]]
        self._totals = []
        bad = [i for i, total in enumerate(host[len(self.sums) :]) if not math.isfinite(total)]
        return bad[0] if bad else None

    def means(self, end: int) -> tuple[tuple[float, ...], dict[str, float]]:
        """The parts' and the extras' means over the epoch's first ``end`` examples."""
        means = tuple(total / end if end else math.nan for total in self.sums)
        return means, {key: value / end for key, value in self.extra.items()}
