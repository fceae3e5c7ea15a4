"""``Explanation``: the records of one explain run, and the four ways to render them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .records import Claim, Section, Step
from .trace import WorkedNumbers


@dataclass(frozen=True)
class Explanation:
    """A worked example of backpropagation and the answers to the seed's questions.

    Attributes:
      config: the settings it was made with (layers, activations, cost, λ, α, seed,
        m, unit, threshold, the ε of each finite difference).
      sections: the worked example's sections, then the experiments'.
      numbers: the raw arrays behind the worked example (the network, x, y, the
        trace, the gradient, the finite differences, the step).
    """

    config: dict[str, Any]
    sections: tuple[Section, ...]
    numbers: WorkedNumbers = field(repr=False, compare=False)

    # --- reading the records -------------------------------------------------------------------

    @property
    def steps(self) -> list[Step]:
        """Every step of every section, in order."""
        return [s for section in self.sections for s in section.steps]

    def step(self, key: str) -> Step:
        """The step whose key is ``key`` (such as "z[2][1]" or "dW[1][1,2]")."""
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(f"no step {key!r}")

    @property
    def checked(self) -> list[Step]:
        """The steps with a finite-difference check: every δ and every ∂J/∂W, ∂J/∂b."""
        return [s for s in self.steps if s.check is not None]

    @property
    def claims(self) -> list[Claim]:
        """Every claim of the experiments."""
        return [c for section in self.sections for c in section.claims]

    @property
    def ok(self) -> bool:
        """True when every check is ✓ and every claim holds."""
        return all(s.check.ok for s in self.checked if s.check is not None) and all(
            c.holds for c in self.claims
        )

    def section(self, id: str) -> Section:
        """The section with this id ("forward", "output-delta", "why-half", …)."""
        for s in self.sections:
            if s.id == id:
                return s
        raise KeyError(f"no section {id!r}")

    # --- renderers -----------------------------------------------------------------------------

    def to_text(self, width: int = 100, *, color: bool = False, digits: int = 6) -> str:
        """Plain Unicode text for a terminal ``width`` columns wide; ANSI colour if asked."""
        from .text import render

        return render(self, width=width, color=color, digits=digits)

    def to_markdown(self, *, digits: int = 6) -> str:
        """Markdown with LaTeX math ($…$ and $$…$$)."""
        from .markdown import render

        return render(self, digits=digits)

    def to_html(self, *, digits: int = 6) -> str:
        """One self-contained HTML page: MathML for the math, inline SVG for the network."""
        from .html import render

        return render(self, digits=digits)

    def to_dict(self) -> dict[str, Any]:
        """Every number, as plain JSON-able data (non-finite numbers become None)."""
        from .jsonout import to_dict

        return to_dict(self)

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
        if fmt not in renderers:
            raise ValueError(
                f"format: unknown format {fmt!r}; choose one of: {', '.join(renderers)}"
            )
        return renderers[fmt](**options)
