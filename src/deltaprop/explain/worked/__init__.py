"""The worked example as records: every equation of the seed, with its numbers.

``sections(numbers, unit=…, threshold=…)`` turns a
:class:`~deltaprop.explain.trace.WorkedNumbers` into the sections, one module
per group:

- ``example``: 1, the network, its parameters and the example(s);
- ``forward``: 2, every z and a, then J with its data term and weight decay;
- ``deltas``: 3 and 4, the error terms of the output and the hidden layers;
- ``gradients``: 5 and 6, every ∂J/∂W and ∂J/∂b, then one step of gradient descent;
- ``parts``: the small builders they share.

Each number in an equation is a :class:`~deltaprop.explain.notation.Num` whose
``of`` key names the quantity (see ``trace``), so a test can hold every shown
number against the trainer's own arrays.
"""

from __future__ import annotations

from ..records import NetworkFigure, Section
from ..trace import WorkedNumbers
from .deltas import hidden_delta_section, output_delta_section
from .example import network_section
from .forward import forward_section
from .gradients import gradient_section, update_section

__all__ = ["figure", "sections"]


def figure(n: WorkedNumbers) -> NetworkFigure:
    """The numbers the drawing puts on units and edges, for example 1."""
    return NetworkFigure(
        sizes=tuple(n.net.layer_sizes),
        z=tuple(None if z is None else tuple(float(v) for v in z[0]) for z in n.z),
        a=tuple(tuple(float(v) for v in a[0]) for a in n.a),
        delta=tuple(None if d is None else tuple(float(v) for v in d[0]) for d in n.delta),
        weight_grads=tuple(
            tuple(tuple(float(v) for v in row) for row in g) for g in n.weight_grads
        ),
        activation=n.net.activation_label,
        output_activation=n.net.output_activation.name,
    )


def sections(n: WorkedNumbers, *, unit: int, threshold: float) -> list[Section]:
    """The worked example, section by section."""
    out = [
        network_section(n, figure(n)),
        forward_section(n),
        output_delta_section(n, threshold),
    ]
    if len(n.a) > 2:
        out.append(hidden_delta_section(n, unit, threshold))
    out += [gradient_section(n, threshold), update_section(n)]
    return out
