"""Sections 3 and 4, the error terms: δ_i⁽ⁿˡ⁾ of the output layer, then δ_i⁽ˡ⁾ of the hidden ones.

Every δ stands beside its finite difference from ``gradcheck.check_deltas``.
"""

from __future__ import annotations

from ..notation import Frac, Neg, Node, Num, Op, Paren, Row, Sum, Sym, Text, sym, to_unicode
from ..records import Block, Equation, Section, Step
from ..trace import EPSILON, WorkedNumbers
from .parts import check, factor, idx, key, partial, plus, prose, sup, times

_MEASURED = (
    "Beside each δ, the same derivative measured: move z_i⁽ⁿˡ⁾ of the example alone by "
    "±ε, finish the forward pass from there, and take ĝ(ε) = (J(z + ε) − J(z − ε)) / 2ε "
    f"(deltaprop.gradcheck.check_deltas). This is done at ε = {EPSILON:g} and at ε/2, and "
    "(4ĝ(ε/2) − ĝ(ε))/3 cancels the ε² error the two share (Richardson extrapolation), "
    "so that even small entries are measured to within about 1e−13."
)


def _u(node: Node) -> str:
    return to_unicode(node)


def _of_example(n: WorkedNumbers) -> str:
    return " of example 1" if n.m > 1 else ""


# --- 3. output δ ---------------------------------------------------------------------------------


def output_delta_section(n: WorkedNumbers, threshold: float) -> Section:
    """δ_i⁽ⁿˡ⁾ for every output unit, with the chain rule written out."""
    blocks: list[Block] = [
        prose(
            "δ_i⁽ⁿˡ⁾ is how fast the cost changes when the weighted input z_i⁽ⁿˡ⁾ of output unit i "
            "moves: δ_i⁽ⁿˡ⁾ = ∂J(W,b; x,y)/∂z_i⁽ⁿˡ⁾. z_i reaches J only through a_i = f(z_i), so "
            "the chain rule gives ∂J/∂z_i = ∂J/∂a_i · ∂a_i/∂z_i."
        ),
        prose(_output_delta_reason(n)),
        prose(_MEASURED),
    ]
    for i in range(n.a[-1].shape[1]):
        blocks.append(_output_delta_step(n, i, threshold))
    return Section("output-delta", "Error terms of the output layer", tuple(blocks))


def _squared(n: WorkedNumbers) -> bool:
    """The seed's pairing: squared error on an elementwise output activation."""
    return n.net.cost.name == "squared_error" and n.net.output_activation.elementwise


def _cancels(n: WorkedNumbers) -> bool:
    """A cost whose ∂J/∂a and ∂a/∂z cancel to a − y with its output activation."""
    return n.net.cost.name in ("cross_entropy", "binary_cross_entropy")


def _output_delta_reason(n: WorkedNumbers) -> str:
    cost, act = n.net.cost.name, n.net.output_activation
    if _squared(n):
        return (
            "With J = ½ Σ_k (y_k − a_k)², only the k = i term depends on a_i, and "
            "∂/∂a_i ½(y_i − a_i)² = ½ · 2(y_i − a_i) · (−1) = −(y_i − a_i): the ½ cancels the "
            "2 that differentiating the square brings down. ∂a_i/∂z_i = f′(z_i) because "
            "a_i = f(z_i)."
        )
    if _cancels(n):
        return (
            f"For {cost} with its {act.name} output, ∂J/∂a and ∂a/∂z cancel to the simple "
            "δ_i = a_i − y_i (deltaprop/costs.py derives it)."
        )
    return (
        f"For this pairing ({cost}, {act.name} output) δ⁽ⁿˡ⁾ comes from the cost's own "
        "output_delta; only its value is shown."
    )


def _output_delta_step(n: WorkedNumbers, i: int, threshold: float) -> Step:
    """δ_i⁽ⁿˡ⁾ of output unit i (0-based)."""
    n_l = len(n.a)
    k = n_l - 1
    I = str(i + 1)
    a_s, z_s, y_s = sym("a", I, "n_l"), sym("z", I, "n_l"), Sym("y", I)
    a_v = Num(float(n.a[-1][0, i]), f"a[{n_l}][{I}]")
    y_v = Num(float(n.y[0, i]), f"y[{I}]")
    value = float(n.at("delta", k)[0, i])
    lhs = sym("δ", I, "n_l")
    if _squared(n):
        equation: Node = Row(
            lhs,
            Op("="),
            partial(a_s),
            Op("·"),
            Frac(Row(Sym("∂"), a_s), Row(Sym("∂"), z_s)),
            Op("="),
            Neg(Paren(Row(y_s, Op("−"), a_s))),
            Sym("f′"),
            Paren(z_s),
        )
        fp = Num(float(n.at("fp", k)[0, i]), f"fp[{n_l}][{I}]")
        numbers: Node = times(Neg(Paren(Row(y_v, Op("−"), a_v))), fp)
    elif _cancels(n):
        equation = Row(lhs, Op("="), a_s, Op("−"), y_s)
        numbers = Row(a_v, Op("−"), y_v)
    else:
        equation = Row(lhs, Op("="), partial(z_s))
        numbers = Num(value, f"δ[{n_l}][{I}]")
    measured = float(n.at("delta_numeric", k)[0, i])
    return Step(
        f"δ[{n_l}][{I}]",
        equation,
        numbers,
        value,
        check(value, measured, threshold, to_unicode(z_s) + _of_example(n), EPSILON),
    )


# --- 4. hidden δ ---------------------------------------------------------------------------------


def hidden_delta_section(n: WorkedNumbers, unit: int, threshold: float) -> Section:
    """δ_i⁽ˡ⁾ of the hidden layers, one unit path by path, then every unit."""
    blocks: list[Block] = [
        prose(
            "Where does the sum come from? Unit i of layer l sends its activation a_i⁽ˡ⁾ to "
            "every unit j of layer l+1, through the weight W_ji⁽ˡ⁾, so its weighted input z_i⁽ˡ⁾ "
            "reaches J along one path per unit j: z_i⁽ˡ⁾ → z_j⁽ˡ⁺¹⁾ → … → J. The chain rule adds "
            "up the paths: δ_i⁽ˡ⁾ = ∂J/∂z_i⁽ˡ⁾ = Σ_j ∂J/∂z_j⁽ˡ⁺¹⁾ · ∂z_j⁽ˡ⁺¹⁾/∂z_i⁽ˡ⁾. The first "
            "factor is δ_j⁽ˡ⁺¹⁾ by definition. For the second, z_j⁽ˡ⁺¹⁾ = Σ_k W_jk⁽ˡ⁾ f(z_k⁽ˡ⁾) + "
            "b_j⁽ˡ⁾ contains z_i⁽ˡ⁾ only in the k = i term, so "
            "∂z_j⁽ˡ⁺¹⁾/∂z_i⁽ˡ⁾ = W_ji⁽ˡ⁾ f′(z_i⁽ˡ⁾)."
        ),
        prose(
            "Why W_ji and not W_ij? The first index of a weight names the unit it feeds, the "
            "second the unit it comes from. Going forward, unit i of layer l is the sender, so "
            "every weight leaving it has i in the second place: W_ji⁽ˡ⁾, for j = 1 … sₗ₊₁. "
            "These are the same weights as in the forward pass, looked up from their sending "
            "end; nothing is flipped. (Collected for every i at once, these sums are the "
            "matrix product W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾, which is why backpropagation multiplies by the "
            "transpose.) Mind the indices of the second factor: it is ∂z_j⁽ˡ⁺¹⁾/∂z_i⁽ˡ⁾, the "
            "receiving unit j over the sending unit i; written ∂z_j⁽ˡ⁺¹⁾/∂z_j⁽ˡ⁾ it would lose "
            "the i that puts W_ji in the sum."
        ),
        Equation(
            Row(
                sym("δ", "i", "l"),
                Op("="),
                Paren(Sum("j", Row(sym("W", "ji", "l"), sym("δ", "j", "l+1")))),
                Sym("f′"),
                Paren(sym("z", "i", "l")),
            )
        ),
    ]
    for k in range(len(n.a) - 2, 0, -1):
        blocks += _paths(n, k, min(unit, n.W[k].shape[1]) - 1)
        for i in range(n.W[k].shape[1]):
            blocks.append(_hidden_delta_step(n, k, i, threshold))
    return Section("hidden-delta", "Error terms of the hidden layers", tuple(blocks))


def _path_product(n: WorkedNumbers, k: int, j: int, i: int) -> float:
    """W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾ for l = k + 1 (0-based j and i)."""
    return float(n.W[k][j, i] * n.at("delta", k + 1)[0, j])


def _paths(n: WorkedNumbers, k: int, chosen: int) -> list[Block]:
    """Unit ``chosen`` (0-based) of layer l = k + 1: one step per path back, then their sum."""
    l = k + 1
    Wk = n.W[k]  # W⁽ˡ⁾, shape (s_{l+1}, s_l)
    s_next = Wk.shape[0]
    I = str(chosen + 1)
    feeds = "both" if s_next == 2 else "all " + str(s_next) if s_next > 2 else "the"
    blocks: list[Block] = [
        prose(
            f"Layer {l}, unit i = {I}, worked path by path: unit {I} of layer {l} feeds "
            f"{feeds} unit{'s' if s_next > 1 else ''} of layer {l + 1}. For the path to unit j, "
            f"the weight is {_u(sym('W', 'j' + I, l))}: row j of W{sup(l)} (the unit j it feeds, "
            f"in layer {l + 1}), column {I} (the unit {I} it leaves, in layer {l})."
        )
    ]
    for j in range(s_next):
        J = str(j + 1)
        blocks.append(
            Step(
                f"path[{l}][{key(j + 1, chosen + 1)}]",
                Row(
                    Text(f"path to unit {J} of layer {l + 1}:"),
                    sym("W", idx(j + 1, chosen + 1), l),
                    sym("δ", J, l + 1),
                ),
                times(
                    factor(Wk[j, chosen], f"W[{l}][{key(j + 1, chosen + 1)}]"),
                    factor(n.at("delta", k + 1)[0, j], f"δ[{l + 1}][{J}]"),
                ),
                _path_product(n, k, j, chosen),
            )
        )
    blocks.append(
        Step(
            f"back[{l}][{I}]",
            Row(
                Sum("j", Row(sym("W", "j" + I, l), sym("δ", "j", l + 1))),
                Op("="),
                _backward_sum(l, s_next, chosen),
            ),
            plus(
                *(
                    factor(_path_product(n, k, j, chosen), f"path[{l}][{key(j + 1, chosen + 1)}]")
                    for j in range(s_next)
                )
            ),
            float(n.at("back", k)[0, chosen]),
            note="the paths, added up",
        )
    )
    blocks.append(
        prose(
            f"Multiplying by f′({_u(sym('z', I, l))}) takes the error from unit {I}'s output "
            f"{_u(sym('a', I, l))} back to its input {_u(sym('z', I, l))}. The same recipe "
            f"gives every unit of layer {l}:"
        )
    )
    return blocks


def _backward_sum(l: int, s_next: int, i: int) -> Row:
    """W_1i⁽ˡ⁾ δ_1⁽ˡ⁺¹⁾ + W_2i⁽ˡ⁾ δ_2⁽ˡ⁺¹⁾ + … for unit i (0-based)."""
    return plus(
        *(Row(sym("W", idx(j + 1, i + 1), l), sym("δ", str(j + 1), l + 1)) for j in range(s_next))
    )


def _hidden_delta_step(n: WorkedNumbers, k: int, i: int, threshold: float) -> Step:
    """δ_i⁽ˡ⁾ = (Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾) f′(z_i⁽ˡ⁾) of unit i (0-based) of layer l = k + 1."""
    l = k + 1
    I = str(i + 1)
    value = float(n.at("delta", k)[0, i])
    measured = float(n.at("delta_numeric", k)[0, i])
    return Step(
        f"δ[{l}][{I}]",
        Row(
            sym("δ", I, l),
            Op("="),
            Paren(_backward_sum(l, n.W[k].shape[0], i)),
            Sym("f′"),
            Paren(sym("z", I, l)),
        ),
        times(
            Paren(Num(float(n.at("back", k)[0, i]), f"back[{l}][{I}]")),
            Num(float(n.at("fp", k)[0, i]), f"fp[{l}][{I}]"),
        ),
        value,
        check(value, measured, threshold, to_unicode(sym("z", I, l)) + _of_example(n), EPSILON),
    )
