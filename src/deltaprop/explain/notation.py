"""A small expression tree for the seed's equations, written once, rendered three ways.

Every equation that ``explain`` shows is built from these nodes, so the
terminal (Unicode), Markdown (LaTeX) and HTML (MathML Core) say the same thing:

    >>> e = Row(sym("z", "1", 2), Op("="), Row(sym("W", "11", 1), sym("a", "1", 1)), Op("+"),
    ...         sym("b", "1", 1))
    >>> to_unicode(e)
    'z₁⁽²⁾ = W₁₁⁽¹⁾ a₁⁽¹⁾ + b₁⁽¹⁾'
    >>> to_latex(e)
    'z_{1}^{(2)} = W_{11}^{(1)} a_{1}^{(1)} + b_{1}^{(1)}'

Sub- and superscripts are short strings in which ``n_l`` stands for the seed's
n_l; everything else is taken character by character.

A :class:`Num` may say which quantity it is (``of="W[1][1,2]"``), so a test can
check every number an equation shows against the trainer's arrays.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from html import escape

__all__ = [
    "Frac",
    "Neg",
    "Num",
    "Op",
    "Paren",
    "Pow",
    "Row",
    "Sum",
    "Sym",
    "Text",
    "fmt_cell",
    "fmt_number",
    "nums",
    "subscripts",
    "sym",
    "to_latex",
    "to_mathml",
    "to_unicode",
]


@dataclass(frozen=True)
class Sym:
    """A symbol with optional subscript and superscript: W₁₂⁽¹⁾ is Sym("W", "12", "(1)")."""

    base: str
    sub: str = ""
    sup: str = ""


@dataclass(frozen=True)
class Num:
    """A number; ``of`` names the quantity it is, e.g. "a[2][1]" (layer 2, unit 1)."""

    value: float
    of: str | None = None


@dataclass(frozen=True)
class Op:
    """An operator or relation: "=", "+", "−", "·", ":=", "<"."""

    text: str


@dataclass(frozen=True)
class Text:
    """Words inside an equation."""

    text: str


@dataclass(frozen=True)
class Row:
    """Items written one after another."""

    items: tuple[Node, ...]

    def __init__(self, *items: Node) -> None:
        object.__setattr__(self, "items", tuple(items))


@dataclass(frozen=True)
class Paren:
    """An expression in brackets: "()", "[]" or "‖‖"."""

    inner: Node
    kind: str = "()"


@dataclass(frozen=True)
class Neg:
    """−inner (a unary minus)."""

    inner: Node


@dataclass(frozen=True)
class Frac:
    """num / den."""

    num: Node
    den: Node


@dataclass(frozen=True)
class Pow:
    """base raised to a short exponent such as "2"."""

    base: Node
    exponent: str


@dataclass(frozen=True)
class Sum:
    """Σ over ``index`` (from ``lower`` to ``upper`` where given) of ``body``."""

    index: str
    body: Node
    lower: str = ""
    upper: str = ""


Node = Sym | Num | Op | Text | Row | Paren | Neg | Frac | Pow | Sum

HALF = Frac(Num(1.0), Num(2.0))
"""½, as the seed writes it in front of the squared error."""

_PROSE_SUB = re.compile(r"_([ijklmn0-9]+)(?![A-Za-z])")


def subscripts(text: str) -> str:
    """Prose with the seed's index subscripts in Unicode: "W_ij⁽ˡ⁾" -> "Wᵢⱼ⁽ˡ⁾".

    Only runs of i, j, k, l, m, n and digits after "_" are converted, so names
    such as squared_error stay as they are.
    """
    return _PROSE_SUB.sub(lambda mt: "".join(_SUB[c] for c in mt.group(1)), text)


def sym(base: str, sub: str = "", layer: int | str | None = None) -> Sym:
    """Sym with the seed's layer superscript: sym("W", "12", 1) is W₁₂⁽¹⁾."""
    return Sym(base, sub, "" if layer is None else f"({layer})")


def nums(node: Node) -> list[Num]:
    """Every Num inside ``node``, in reading order."""
    if isinstance(node, Num):
        return [node]
    if isinstance(node, Row):
        return [n for item in node.items for n in nums(item)]
    if isinstance(node, Paren | Neg):
        return nums(node.inner)
    if isinstance(node, Frac):
        return nums(node.num) + nums(node.den)
    if isinstance(node, Pow):
        return nums(node.base)
    if isinstance(node, Sum):
        return nums(node.body)
    return []


# --- numbers --------------------------------------------------------------------------------


def fmt_number(value: float, digits: int = 6) -> str:
    """``value`` to ``digits`` significant digits, with a true minus sign (U+2212).

    >>> fmt_number(-0.000123456789, 4), fmt_number(0.75136507, 8), fmt_number(2.5e-11, 2)
    ('−0.0001235', '0.75136507', '2.5e−11')
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", "−")


def fmt_cell(value: float | int | str | None, digits: int = 6) -> str:
    """A table cell: numbers by :func:`fmt_number`, None as "–", text as it is."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt_number(value, digits)
    return value


def _split_number(text: str) -> tuple[str, str]:
    """("1.5", "−7") from "1.5e−7"; ("0.25", "") from "0.25"."""
    if "e" in text:
        mantissa, exponent = text.split("e")
        return mantissa, exponent
    return text, ""


# --- Unicode -----------------------------------------------------------------------------------

_SUB = dict(zip("0123456789+−=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))
_SUP = dict(zip("0123456789+−=()ijklmn", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁱʲᵏˡᵐⁿ", strict=True))
_TOKEN = re.compile(r"n_l|.")


def _script(text: str, table: dict[str, str], fallback: str) -> str:
    tokens = _TOKEN.findall(text.replace("-", "−"))
    out = []
    for tok in tokens:
        if tok == "n_l":
            out.append(table.get("n", "") + table.get("l", ""))
        else:
            out.append(table.get(tok, ""))
    if all(out):
        return "".join(out)
    return f"{fallback}({text.replace('n_l', 'nₗ')})"


def to_unicode(node: Node, digits: int = 6) -> str:
    """Plain Unicode text, as a terminal shows it."""
    u = lambda n: to_unicode(n, digits)  # noqa: E731
    if isinstance(node, Sym):
        out = node.base
        if node.sub:
            out += _script(node.sub, _SUB, "_")
        if node.sup:
            out += _script(node.sup, _SUP, "^")
        return out
    if isinstance(node, Num):
        return fmt_number(node.value, digits)
    if isinstance(node, Op):
        if node.text in (",", ";"):
            return node.text + " "
        return f" {node.text} "
    if isinstance(node, Text):
        return node.text
    if isinstance(node, Row):
        parts = []
        items = node.items
        for k, item in enumerate(items):
            text = u(item)
            if isinstance(item, Frac) and _bracket_fraction(items, k):
                text = f"({text})"
            if k > 0 and not isinstance(item, Op) and not isinstance(items[k - 1], Op):
                # Juxtaposition is a product, written with a space, except f(z) and ∂J.
                prev = items[k - 1]
                if not (isinstance(item, Paren) and isinstance(prev, Sym)) and prev != Sym("∂"):
                    parts.append(" ")
            parts.append(text)
        return _join_unicode(parts)
    if isinstance(node, Paren):
        left, right = _brackets(node.kind)
        return f"{left}{u(node.inner)}{right}"
    if isinstance(node, Neg):
        return "−" + u(node.inner)
    if isinstance(node, Frac):
        if node == HALF:
            return "½"
        num, den = u(node.num), u(node.den)
        if _compound(node.num):
            num = f"({num})"
        if _compound(node.den):
            den = f"({den})"
        return f"{num}/{den}"
    if isinstance(node, Pow):
        base = u(node.base)
        if _compound(node.base):
            base = f"({base})"
        return base + _script(node.exponent, _SUP, "^")
    if isinstance(node, Sum):
        return "Σ" + _script(node.index, _SUB, "_") + " " + u(node.body)
    raise TypeError(f"not an expression node: {node!r}")


def _is_derivative(node: Frac) -> bool:
    """∂J/∂a: written without brackets, as the seed writes it."""
    return isinstance(node.num, Row) and bool(node.num.items) and node.num.items[0] == Sym("∂")


def _bracket_fraction(items: tuple[Node, ...], k: int) -> bool:
    """True if the fraction items[k] needs brackets in linear text: (λ/2) Σ W², (1/m) · S."""
    frac = items[k]
    if not isinstance(frac, Frac) or frac == HALF or _is_derivative(frac):
        return False
    loose = ("=", ":=", "+", "−", ",", ";")
    neighbours = [items[i] for i in (k - 1, k + 1) if 0 <= i < len(items)]
    return any(not (isinstance(n, Op) and n.text in loose) for n in neighbours)


def _join_unicode(parts: list[str]) -> str:
    out = "".join(parts)
    return re.sub(r"  +", " ", out).strip()


def _brackets(kind: str) -> tuple[str, str]:
    return (kind[0], kind[-1]) if kind != "‖‖" else ("‖", "‖")


def _compound(node: Node) -> bool:
    """True if ``node`` needs brackets as the operand of / or a power in linear text."""
    if isinstance(node, Row):
        return any(isinstance(i, Op) and i.text in ("+", "−", "·", "=") for i in node.items)
    return isinstance(node, Frac | Sum)


# --- LaTeX -------------------------------------------------------------------------------------

_LATEX = {
    "δ": r"\delta ",
    "λ": r"\lambda ",
    "α": r"\alpha ",
    "σ": r"\sigma ",
    "ε": r"\varepsilon ",
    "∂": r"\partial ",
    "·": r"\cdot ",
    "×": r"\times ",
    "≈": r"\approx ",
    "→": r"\to ",
    "−": "-",
    "′": "'",
}


def _latex_text(text: str) -> str:
    return "".join(_LATEX.get(c, c) for c in text).strip()


def _latex_script(text: str) -> str:
    return _latex_text(text.replace("n_l", "n_{l}"))


def to_latex(node: Node, digits: int = 6) -> str:
    """LaTeX math (without the surrounding $ … $)."""
    t = lambda n: to_latex(n, digits)  # noqa: E731
    if isinstance(node, Sym):
        base = _latex_text(node.base)
        if len(node.base) > 1 and node.base.isalpha() and node.base.isascii():
            base = rf"\operatorname{{{node.base}}}"
        out = base
        if node.sub:
            out += "_{" + _latex_script(node.sub) + "}"
        if node.sup:
            out += "^{" + _latex_script(node.sup) + "}"
        return out
    if isinstance(node, Num):
        mantissa, exponent = _split_number(fmt_number(node.value, digits))
        mantissa = mantissa.replace("−", "-").replace("∞", r"\infty")
        if exponent:
            return rf"{mantissa} \times 10^{{{exponent.replace('−', '-')}}}"
        return mantissa
    if isinstance(node, Op):
        return _latex_text(node.text)
    if isinstance(node, Text):
        if not node.text.strip():
            return r"\quad"
        return r"\text{ " + node.text.replace("{", r"\{").replace("}", r"\}") + " }"
    if isinstance(node, Row):
        return " ".join(t(item) for item in node.items)
    if isinstance(node, Paren):
        if node.kind == "‖‖":
            return rf"\left\| {t(node.inner)} \right\|"
        left, right = _brackets(node.kind)
        return rf"\left{left} {t(node.inner)} \right{right}"
    if isinstance(node, Neg):
        return "-" + t(node.inner)
    if isinstance(node, Frac):
        return rf"\frac{{{t(node.num)}}}{{{t(node.den)}}}"
    if isinstance(node, Pow):
        return f"{{{t(node.base)}}}^{{{_latex_script(node.exponent)}}}"
    if isinstance(node, Sum):
        lower = node.index + ("=" + node.lower if node.lower else "")
        upper = "^{" + _latex_script(node.upper) + "}" if node.upper else ""
        return rf"\sum_{{{_latex_script(lower)}}}{upper} {t(node.body)}"
    raise TypeError(f"not an expression node: {node!r}")


# --- MathML Core -------------------------------------------------------------------------------

_OPERATORS = set("+−=·×<>≈≠→:()[]‖,∂′")


def _mathml_script(text: str) -> str:
    """A sub/superscript string as one MathML row of mi / mn / mo elements."""
    parts = []
    for tok in re.findall(r"n_l|\d+|.", text.replace("-", "−")):
        if tok == "n_l":
            parts.append("<msub><mi>n</mi><mi>l</mi></msub>")
        elif tok.isdigit():
            parts.append(f"<mn>{tok}</mn>")
        elif tok in _OPERATORS:
            parts.append(f"<mo>{escape(tok)}</mo>")
        else:
            parts.append(f"<mi>{escape(tok)}</mi>")
    return parts[0] if len(parts) == 1 else "<mrow>" + "".join(parts) + "</mrow>"


def _mathml_base(base: str) -> str:
    if base.endswith("′"):
        return f'<mrow>{_mathml_base(base[:-1])}<mo lspace="0" rspace="0">′</mo></mrow>'
    if base == "∂":
        return "<mo>∂</mo>"
    return f"<mi>{escape(base)}</mi>"


def to_mathml(node: Node, digits: int = 6) -> str:
    """MathML Core markup for ``node`` (the children of a <math> element)."""
    m = lambda n: to_mathml(n, digits)  # noqa: E731
    if isinstance(node, Sym):
        base = _mathml_base(node.base)
        if node.sub and node.sup:
            return f"<msubsup>{base}{_mathml_script(node.sub)}{_mathml_script(node.sup)}</msubsup>"
        if node.sub:
            return f"<msub>{base}{_mathml_script(node.sub)}</msub>"
        if node.sup:
            return f"<msup>{base}{_mathml_script(node.sup)}</msup>"
        return base
    if isinstance(node, Num):
        text = fmt_number(node.value, digits)
        negative = text.startswith("−")
        mantissa, exponent = _split_number(text.lstrip("−"))
        out = f"<mn>{mantissa}</mn>"
        if exponent:
            out = f"<mrow>{out}<mo>×</mo><msup><mn>10</mn>{_mathml_script(exponent)}</msup></mrow>"
        title = f' title="{escape(node.of)}"' if node.of else ""
        if negative:
            return f"<mrow{title}><mo>−</mo>{out}</mrow>"
        return f"<mrow{title}>{out}</mrow>" if title else out
    if isinstance(node, Op):
        return f"<mo>{escape(node.text)}</mo>"
    if isinstance(node, Text):
        return f"<mtext>\u00a0{escape(node.text)}\u00a0</mtext>"
    if isinstance(node, Row):
        return "<mrow>" + "".join(m(item) for item in node.items) + "</mrow>"
    if isinstance(node, Paren):
        left, right = _brackets(node.kind)
        return (
            f'<mrow><mo stretchy="false">{left}</mo>{m(node.inner)}'
            f'<mo stretchy="false">{right}</mo></mrow>'
        )
    if isinstance(node, Neg):
        return f"<mrow><mo>−</mo>{m(node.inner)}</mrow>"
    if isinstance(node, Frac):
        return f"<mfrac>{m(node.num)}{m(node.den)}</mfrac>"
    if isinstance(node, Pow):
        return f"<msup>{m(node.base)}{_mathml_script(node.exponent)}</msup>"
    if isinstance(node, Sum):
        lower = _mathml_script(node.index + ("=" + node.lower if node.lower else ""))
        if node.upper:
            big = f"<munderover><mo>∑</mo>{lower}{_mathml_script(node.upper)}</munderover>"
        else:
            big = f"<munder><mo>∑</mo>{lower}</munder>"
        return f"<mrow>{big}{m(node.body)}</mrow>"
    raise TypeError(f"not an expression node: {node!r}")
