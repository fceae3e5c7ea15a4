"""Is δ really ∂J/∂z? Every δ of the recursion against a perturbation of z."""

from __future__ import annotations

import numpy as np

from ... import gradcheck
from ...network import Network
from ..notation import fmt_number
from ..records import Claim, Section, Table
from .common import describe, f4, prose


def why_delta(
    seed: int, worked: Network, x: np.ndarray, y: np.ndarray, threshold: float
) -> Section:
    """δ against perturbation for every unit: the worked example and a deeper network."""
    rng = np.random.default_rng(seed + 404)
    deep = Network([4, 5, 5, 3], seed=seed)
    X, Y = rng.uniform(size=(5, 4)), rng.uniform(size=(5, 3))
    deep_checks = gradcheck.check_deltas(deep, X, Y)
    worked_checks = gradcheck.check_deltas(worked, x, y)
    rows = []
    for label, checks in (("worked example", worked_checks), ("4-5-5-3, 5 examples", deep_checks)):
        for c in checks:
            rows.append((label, c.layer, int(c.delta.size), c.relative_error))
    worst = max(r[3] for r in rows)
    return Section(
        "why-delta",
        "Is δ really ∂J/∂z?",
        (
            prose(
                "δ_i⁽ˡ⁾ is defined as ∂J(W,b; x,y)/∂z_i⁽ˡ⁾, and the recursion is supposed to "
                "compute exactly that. To test it, move one z_i⁽ˡ⁾ of one example by ±ε alone, "
                "finish the forward pass from that layer, and divide the change in that example's "
                "cost by 2ε (deltaprop.gradcheck.check_deltas). Every unit of every layer, in the "
                f"worked example's own network ({describe(worked)}) and in a deeper one "
                f"({describe(deep)}, {len(X)} random examples):"
            ),
            Table(
                ("network", "layer l", "units × examples", "relative difference ‖δ − δ̂‖/‖δ + δ̂‖"),
                tuple(rows),
                "",
            ),
            Claim(
                f"δ from the recursion equals ∂J/∂z measured by perturbation (relative difference "
                f"below {fmt_number(threshold, 2)}) for every unit.",
                worst < threshold,
                f"largest relative difference {f4(worst)}",
            ),
        ),
    )
