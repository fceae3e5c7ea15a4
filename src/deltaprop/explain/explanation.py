"""``Explanation``: the records of one explain run, and the four ways to render them.

The renderers read :class:`~.records.Records` and know nothing of this class, so
the imports point one way: explanation -> text, markdown, html, jsonout -> records.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .._validate import check_choice
from . import html, jsonout, markdown, text
from .records import Records

FORMATS = ("text", "markdown", "html", "json")
"""What :meth:`Explanation.render` can write."""


class Explanation(Records):
    """A worked example of backpropagation and the answers to the seed's questions.

    Attributes (see :class:`~.records.Records`, which also gives ``steps``,
    ``step(key)``, ``checked``, ``claims``, ``ok`` and ``section(id)``):
      config: the settings it was made with (layers, activations, cost, λ, α, seed,
        m, unit, threshold, the ε of each finite difference).
      sections: the worked example's sections, then the experiments'.
      numbers: the raw arrays behind the worked example (the network, x, y, the
        trace, the gradient, the finite differences, the step).
    """

    def to_text(self, width: int = 100, *, color: bool = False, digits: int = 6) -> str:
        """Plain Unicode text for a terminal ``width`` columns wide; ANSI colour if asked."""
        return text.render(self, width=width, color=color, digits=digits)

    def to_markdown(self, *, digits: int = 6) -> str:
        """Markdown with LaTeX math ($…$ and $$…$$)."""
        return markdown.render(self, digits=digits)

    def to_html(self, *, digits: int = 6) -> str:
        """One self-contained HTML page: MathML for the math, inline SVG for the network."""
        return html.render(self, digits=digits)

    def to_dict(self) -> dict[str, Any]:
        """Every number, as plain JSON-able data (non-finite numbers become None)."""
        return jsonout.to_dict(self)

    def to_json(self, *, indent: int | None = 1) -> str:
        """:meth:`to_dict` as a JSON document."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def render(self, fmt: str, **options: Any) -> str:
        """Render as "text", "markdown", "html" or "json"."""
        renderers: dict[str, Callable[..., str]] = {
            "text": self.to_text,
            "markdown": self.to_markdown,
            "html": self.to_html,
            "json": self.to_json,
        }
        return renderers[check_choice("format", fmt, FORMATS, "format")](**options)
