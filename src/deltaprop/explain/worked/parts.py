"""Small builders the worked sections share: index texts, products, sums, checks.

Each returns a :mod:`~deltaprop.explain.notation` node or a record. The numbers
they are given come from ``trace``; ``check`` only compares two of them with
``gradcheck.relative_difference``.
"""

from __future__ import annotations

import numpy as np

from ... import gradcheck
from ..notation import Frac, Node, Num, Op, Paren, Row, Sum, Sym, subscripts, sym, to_unicode
from ..records import Check, Prose


def idx(*parts: int) -> str:
    """Subscript text for unit indices: "12" for (1, 2), "10,2" when one has two digits."""
    text = [str(p) for p in parts]
    return ("," if any(len(t) > 1 for t in text) else "").join(text)


def key(*parts: int) -> str:
    """The index part of a step key: "1,2" for (1, 2)."""
    return ",".join(str(p) for p in parts)


def factor(value: float, of: str) -> Node:
    """A number as a factor or term: in brackets when negative."""
    num = Num(float(value), of)
    return Paren(num) if value < 0 else num


def times(*factors: Node) -> Row:
    """f₁ · f₂ · …"""
    return _joined("·", factors)


def plus(*terms: Node) -> Row:
    """t₁ + t₂ + …"""
    return _joined("+", terms)


def _joined(op: str, nodes: tuple[Node, ...]) -> Row:
    items: list[Node] = []
    for node in nodes:
        if items:
            items.append(Op(op))
        items.append(node)
    return Row(*items)


def partial(of: Node) -> Frac:
    """∂J/∂(of)."""
    return Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), of))


def mean_of(body: Node) -> Row:
    """(1/m) Σ_k body."""
    return Row(Frac(Num(1.0), Sym("m")), Sum("k", body))


def J_of(x: Node, y: Node) -> Row:
    """J(W,b; x,y) for the given x and y."""
    return Row(Sym("J"), Paren(Row(Sym("W"), Op(","), Sym("b"), Op(";"), x, Op(","), y)))


def prose(text: str) -> Prose:
    """A paragraph, its index subscripts in Unicode (W_ij -> Wᵢⱼ)."""
    return Prose(subscripts(text))


def sup(l: int | str) -> str:
    """The layer superscript ⁽ˡ⁾ for layer l."""
    return to_unicode(Sym("", "", f"({l})"))


def sub(i: int | str) -> str:
    """The subscript for unit i: ₁, ₂, ᵢ."""
    return to_unicode(Sym("", str(i)))


def source(l: int, j: int) -> tuple[Sym, str]:
    """Unit j's activation in layer l, as a symbol and a key: x_j for the input layer."""
    if l == 1:
        return Sym("x", str(j)), f"x[{j}]"
    return sym("a", str(j), l), f"a[{l}][{j}]"


def check(g: float, g_hat: float, threshold: float, perturbed: str, eps: float) -> Check:
    """A derivative g beside its finite difference ĝ, judged by gradcheck's relative difference."""
    rel = gradcheck.relative_difference(np.array([g]), np.array([g_hat]))
    return Check(float(g_hat), rel, rel < threshold, perturbed, eps)
