"""The seed's questions, answered by short seeded runs whose numbers are shown.

Three of them (why ½, why the average, why weight decay) build networks of
their own, fixed whatever network the worked example uses, and say so in their
first paragraph; the fourth checks δ on the worked example's network and on a
deeper one.

Each ``why_*`` function builds its own small problem from ``seed``, runs it
with the trainer's functions (``Network.cost_and_grad``, ``deltaprop.train``,
``deltaprop.gradcheck``) and returns a :class:`~deltaprop.explain.records.Section` whose tables
hold the numbers and whose claims say what those numbers show. A claim is
computed from the numbers, never assumed: if a run does not bear it out, the
claim is marked ✗.

One module per question (``half``, ``average``, ``decay``, ``delta``); what they
share is in ``common``.
"""

from __future__ import annotations

import numpy as np

from ...network import Network
from ..records import Section
from .average import why_average
from .common import describe
from .decay import noisy_curve, why_weight_decay
from .delta import why_delta
from .half import SquaredErrorWithoutHalf, why_half

__all__ = [
    "SquaredErrorWithoutHalf",
    "all_experiments",
    "describe",
    "noisy_curve",
    "why_average",
    "why_delta",
    "why_half",
    "why_weight_decay",
]


def all_experiments(
    seed: int, worked: Network, x: np.ndarray, y: np.ndarray, threshold: float
) -> list[Section]:
    """The four questions, in the seed's order; ``worked`` is the worked example's network."""
    return [
        why_half(seed, worked),
        why_average(seed, worked),
        why_weight_decay(seed, worked),
        why_delta(seed, worked, x, y, threshold),
    ]
