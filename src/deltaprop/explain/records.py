"""The records an explanation is made of: plain, frozen data that every renderer reads.

A :class:`Section` is a titled list of blocks. A block is prose, a general
equation, a :class:`Step` (one equation of the seed in its notation, the same
equation with numbers, the result and, for a derivative, its finite-difference
check), a table, a claim an experiment tests on its own numbers, or the
network figure. :class:`Records` holds the sections of one run with its
settings and numbers: it is what the four renderers read. Nothing here computes
or prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .notation import Node, fmt_number, to_unicode
from .trace import WorkedNumbers

Cell = float | int | str | None


@dataclass(frozen=True)
class Check:
    """A derivative measured by perturbation, beside the one backpropagation gave.

    Attributes:
      numeric: the central difference (J(… + ε) − J(… − ε)) / 2ε.
      relative_difference: |g − ĝ| / |g + ĝ| (``gradcheck.relative_difference``).
      ok: relative_difference is below the explanation's threshold.
      perturbed: what was moved by ±ε, e.g. "z₁⁽³⁾" or "W₁₂⁽¹⁾".
      epsilon: ε.
    """

    numeric: float
    relative_difference: float
    ok: bool
    perturbed: str
    epsilon: float

    @property
    def mark(self) -> str:
        """✓ or ✗."""
        return "✓" if self.ok else "✗"


@dataclass(frozen=True)
class Step:
    """One equation of the seed, worked with numbers.

    Attributes:
      key: what the result is, in the seed's 1-based numbering: "z[2][1]" is
        z₁⁽²⁾, "dW[1][1,2]" is ∂J/∂W₁₂⁽¹⁾ (the keys are listed in
        ``deltaprop.explain.trace``).
      equation: the equation in the seed's notation, left side included.
      numbers: its right-hand side with every symbol replaced by its number.
      value: the result, as the trainer's functions computed it.
      check: the finite-difference check, for δ and the partial derivatives.
      note: a few words shown beside the step.
    """

    key: str
    equation: Node
    numbers: Node
    value: float
    check: Check | None = None
    note: str = ""

    def shows_numbers(self, digits: int = 6) -> bool:
        """Whether "= numbers" says more than the "= result" after it.

        Not when, written to ``digits`` significant digits (brackets aside), the
        numbers are the result again, as for a sum of one path or ∂J/∂b = δ; nor
        when they are empty. Every renderer asks this, so no line reads "= v = v".
        """
        shown = to_unicode(self.numbers, digits)
        if shown.startswith("(") and shown.endswith(")"):
            shown = shown[1:-1]
        return bool(shown) and shown != fmt_number(self.value, digits)


@dataclass(frozen=True)
class Prose:
    """A paragraph; Unicode math inline."""

    text: str


@dataclass(frozen=True)
class Equation:
    """A general equation shown on its own, without numbers."""

    expr: Node
    note: str = ""


@dataclass(frozen=True)
class Table:
    """Rows of numbers; floats keep full precision and are rounded only when rendered."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""


@dataclass(frozen=True)
class Claim:
    """A statement an experiment makes, and whether its own numbers bear it out."""

    text: str
    holds: bool
    evidence: str = ""

    @property
    def mark(self) -> str:
        """✓ or ✗."""
        return "✓" if self.holds else "✗"


@dataclass(frozen=True)
class NetworkFigure:
    """The numbers the network drawing puts on units and edges (example 1).

    ``z[k]``, ``a[k]``, ``delta[k]`` hold layer k+1's values (z and δ of the
    input layer are None); ``weight_grads[k][i][j]`` is ∂J/∂W_ij⁽ᵏ⁺¹⁾.
    """

    sizes: tuple[int, ...]
    z: tuple[tuple[float, ...] | None, ...]
    a: tuple[tuple[float, ...], ...]
    delta: tuple[tuple[float, ...] | None, ...]
    weight_grads: tuple[tuple[tuple[float, ...], ...], ...]
    activation: str
    output_activation: str


Block = Prose | Equation | Step | Table | Claim | NetworkFigure


@dataclass(frozen=True)
class Section:
    """A titled part of the explanation; ``id`` is a stable anchor such as "forward"."""

    id: str
    title: str
    blocks: tuple[Block, ...]

    @property
    def steps(self) -> list[Step]:
        """The section's steps, in order."""
        return [b for b in self.blocks if isinstance(b, Step)]

    @property
    def claims(self) -> list[Claim]:
        """The section's claims, in order."""
        return [b for b in self.blocks if isinstance(b, Claim)]


@dataclass(frozen=True)
class Records:
    """The records of one explain run: a worked example of backpropagation and the
    answers to the seed's questions (``Explanation`` adds the four ways to render them).

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
