"""The JSON renderer: every number of the explanation, at full precision, for notebooks and tests.

Numbers are Python floats (JSON round-trips them exactly); NaN and infinities,
which JSON cannot hold, become null. Each step keeps its equation in Unicode
and LaTeX, and lists every number of its substituted form with the key of the
quantity it is (see ``trace``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .notation import Node, nums, to_latex, to_unicode
from .records import Block, Check, Claim, Equation, NetworkFigure, Prose, Records, Step, Table

FORMAT = "deltaprop-explain"
VERSION = 1


def to_dict(expl: Records) -> dict[str, Any]:
    """The explanation as plain data."""
    n = expl.numbers
    new_W, new_b = n.net.layout.unpack(np, n.new_params)
    network = {
        "layer_sizes": list(n.net.layer_sizes),
        "x": _array(n.x),
        "y": _array(n.y),
        "W": [_array(w) for w in n.W],
        "b": [_array(v) for v in n.b],
        "z": [None if z is None else _array(z) for z in n.z],
        "a": [_array(a) for a in n.a],
        "fprime": [None if f is None else _array(f) for f in n.fp],
        "delta": [None if d is None else _array(d) for d in n.delta],
        "per_example_cost": _array(n.losses),
        "J_data": _float(n.data),
        "J_decay": _float(n.decay),
        "J": _float(n.J),
        "gradient": {
            "W": [_array(g) for g in n.weight_grads],
            "b": [_array(g) for g in n.bias_grads],
        },
        "after_step": {
            "W": [_array(w) for w in new_W],
            "b": [_array(v) for v in new_b],
            "J_data": _float(n.new_data),
            "J_decay": _float(n.new_decay),
            "J": _float(n.new_J),
        },
    }
    return {
        "format": FORMAT,
        "version": VERSION,
        "config": {k: _plain(v) for k, v in expl.config.items()},
        "ok": expl.ok,
        "network": network,
        "sections": [
            {"id": s.id, "title": s.title, "blocks": [_block(b) for b in s.blocks]}
            for s in expl.sections
        ],
    }


def _float(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _array(a: Any) -> Any:
    values = np.asarray(a, dtype=np.float64)
    return _plain(values.tolist())


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _float(float(value))
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _expr(node: Node) -> dict[str, Any]:
    return {"unicode": to_unicode(node, 17), "latex": to_latex(node, 17)}


def _check(c: Check | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "finite_difference": _float(c.numeric),
        "relative_difference": _float(c.relative_difference),
        "ok": c.ok,
        "perturbed": c.perturbed,
        "epsilon": c.epsilon,
    }


def _block(block: Block) -> dict[str, Any]:
    if isinstance(block, Prose):
        return {"type": "prose", "text": block.text}
    if isinstance(block, Equation):
        return {"type": "equation", **_expr(block.expr), "note": block.note}
    if isinstance(block, Step):
        return {
            "type": "step",
            "key": block.key,
            "equation": _expr(block.equation),
            "numbers": {
                **_expr(block.numbers),
                "values": [{"of": v.of, "value": _float(v.value)} for v in nums(block.numbers)],
            },
            "value": _float(block.value),
            "check": _check(block.check),
            "note": block.note,
        }
    if isinstance(block, Table):
        return {
            "type": "table",
            "caption": block.caption,
            "columns": list(block.columns),
            "rows": [[_plain(v) for v in row] for row in block.rows],
        }
    if isinstance(block, Claim):
        return {
            "type": "claim",
            "text": block.text,
            "holds": block.holds,
            "evidence": block.evidence,
        }
    if isinstance(block, NetworkFigure):
        return {
            "type": "network_figure",
            "sizes": list(block.sizes),
            "z": _plain(block.z),
            "a": _plain(block.a),
            "delta": _plain(block.delta),
            "weight_grads": _plain(block.weight_grads),
        }
    raise TypeError(f"unknown block {block!r}")
