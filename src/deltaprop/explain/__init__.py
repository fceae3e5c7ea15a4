"""``deltaprop explain``: every equation of the seed with real numbers, each derivative checked.

trace -> records -> renderers:

- ``trace``: the numbers, from the very functions training calls (``backprop``,
  ``Network.evaluate``, the gradient-descent optimizer, ``gradcheck``);
- ``worked`` (one module per group of sections) and ``experiments``: records
  (the seed's equation, the same with numbers, the result, its finite
  difference and ✓/✗; tables and claims), gathered in a ``records.Records``;
- ``text``, ``markdown``, ``html``, ``jsonout``: four renderers of those records;
  ``notation`` writes each equation once for all of them;
- ``explanation``: :class:`Explanation`, the records with the renderers as
  methods (the renderers never import it, so imports point one way).

>>> from deltaprop.explain import explain
>>> e = explain(experiments=False)
>>> print(e.to_text().splitlines()[0])
deltaprop explain: backpropagation, worked with numbers
"""

from .api import explain
from .explanation import Explanation
from .records import Check, Claim, Equation, NetworkFigure, Prose, Section, Step, Table

__all__ = [
    "Check",
    "Claim",
    "Equation",
    "Explanation",
    "NetworkFigure",
    "Prose",
    "Section",
    "Step",
    "Table",
    "explain",
]
