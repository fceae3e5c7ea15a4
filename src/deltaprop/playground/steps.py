"""The step-through: ``deltaprop explain``'s records for the network on screen, as JSON.

``walk(net, x, y, …)`` calls :func:`deltaprop.explain.explain` on the session's own
network and one training example, so every equation, every number in it and every
finite-difference check is the one ``explain`` builds (and its tests tie to
``backprop``). This module only lays the records out for the page: each step gets
what it is (``symbol``, ``layer``, ``unit``, ``from``), so the page can highlight the
unit or edge it belongs to and a test can find its number by data attributes.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..explain import explain
from ..explain.notation import to_unicode
from ..explain.records import Claim, Prose, Section, Step, Table
from ..network import Network

WALKED = ("forward", "output-delta", "hidden-delta", "gradients")
"""The sections stepped through: forward unit by unit, δ by δ backwards, then ∂J/∂W, ∂J/∂b."""

_KEY = re.compile(r"^(?P<name>[^\[]+)(?:\[(?P<l>\d+)\])?(?:\[(?P<i>\d+)(?:,(?P<j>\d+))?\])?$")
_SYMBOLS = {"δ": "delta", "z": "z", "a": "a", "fp": "fp", "back": "back", "loss": "loss"}


def finite(x: float) -> float | None:
    """x, or None where it is not finite (JSON has no NaN)."""
    return float(x) if math.isfinite(x) else None


def target(key: str) -> dict[str, Any]:
    """What a step's key names, in the page's data attributes.

    >>> target("δ[3][2]")
    {'symbol': 'delta', 'layer': 3, 'unit': 2}
    >>> target("dW[1][2,3]")
    {'symbol': 'dW', 'layer': 1, 'unit': 2, 'from': 3}
    >>> target("path[2][1,3]")
    {'symbol': 'path', 'layer': 2, 'unit': 1, 'from': 3}
    """
    found = _KEY.match(key)
    if found is None or found["l"] is None:
        return {"symbol": key}
    name, l, i, j = found["name"], int(found["l"]), found["i"], found["j"]
    out: dict[str, Any] = {"symbol": _SYMBOLS.get(name, name), "layer": l}
    if i is not None:
        out["unit"] = int(i)
    if j is not None:
        out["from"] = int(j)
    return out


def step_json(section: str, step: Step) -> dict[str, Any]:
    """One step: its equation, the same with numbers, the value and the ✓/✗ check."""
    check = step.check
    return {
        "key": step.key,
        "section": section,
        **target(step.key),
        "equation": to_unicode(step.equation),
        "numbers": to_unicode(step.numbers) if step.shows_numbers() else "",
        "value": finite(step.value),
        "note": step.note,
        "check": None
        if check is None
        else {
            "numeric": finite(check.numeric),
            "relative_difference": finite(check.relative_difference),
            "ok": check.ok,
            "mark": check.mark,
            "perturbed": check.perturbed,
            "epsilon": check.epsilon,
        },
    }


def section_json(section: Section) -> dict[str, Any]:
    """A section's prose, tables, claims and steps, for an experiment's panel."""
    blocks: list[dict[str, Any]] = []
    for block in section.blocks:
        if isinstance(block, Prose):
            blocks.append({"kind": "prose", "text": block.text})
        elif isinstance(block, Table):
            rows = [[finite(c) if isinstance(c, float) else c for c in row] for row in block.rows]
            blocks.append(
                {
                    "kind": "table",
                    "columns": list(block.columns),
                    "rows": rows,
                    "caption": block.caption,
                }
            )
        elif isinstance(block, Claim):
            blocks.append(
                {
                    "kind": "claim",
                    "text": block.text,
                    "holds": block.holds,
                    "mark": block.mark,
                    "evidence": block.evidence,
                }
            )
        elif isinstance(block, Step):
            blocks.append({"kind": "step", **step_json(section.id, block)})
    return {"id": section.id, "title": section.title, "blocks": blocks}


def walk(
    net: Network, x: np.ndarray, y: np.ndarray, *, example: int, learning_rate: float
) -> dict[str, Any]:
    """The step-through of example ``example`` (1-based) of the training set: every record.

    ``net`` is the session's network (it is not changed), ``x``, ``y`` that one
    example's input (s_1,) and target (s_{n_l},). The numbers per unit and edge
    (``z``, ``a``, ``delta``, ``dW``, ``db``) are the same trace's, for the diagram.
    """
    e = explain(net, x[None, :], y[None, :], learning_rate=learning_rate, experiments=False)
    n = e.numbers
    steps = [step_json(s.id, st) for s in e.sections if s.id in WALKED for st in s.steps]
    return {
        "example": example,
        "x": [float(v) for v in n.x[0]],
        "y": [float(v) for v in n.y[0]],
        "J": finite(n.J),
        "steps": steps,
        "z": [None if z is None else [finite(v) for v in z[0]] for z in n.z],
        "a": [[finite(v) for v in a[0]] for a in n.a],
        "delta": [None if d is None else [finite(v) for v in d[0]] for d in n.delta],
        "dW": [[[finite(v) for v in row] for row in g] for g in n.weight_grads],
        "db": [[finite(v) for v in g] for g in n.bias_grads],
        "ok": e.ok,
    }
