"""Section 2, the forward pass: every z_i⁽ˡ⁾ and a_i⁽ˡ⁾, then J with its two terms."""

from __future__ import annotations

import numpy as np

from ...activations import Activation
from ..notation import HALF, Frac, Neg, Node, Num, Op, Paren, Pow, Row, Sum, Sym, Text, sym
from ..records import Block, Equation, Section, Step
from ..trace import WorkedNumbers
from .parts import J_of, factor, idx, key, plus, prose, source, times


def fname(act: Activation) -> str:
    """The name f goes by in the numbers: σ for the sigmoid."""
    return "σ" if act.name == "sigmoid" else act.name


def forward_section(n: WorkedNumbers) -> Section:
    """Every z_i⁽ˡ⁾ and a_i⁽ˡ⁾, then J with its data term and weight decay."""
    blocks: list[Block] = [
        prose(
            "Each unit adds up its weighted inputs and its bias, then applies f. The input "
            "layer's activations are the example itself: a⁽¹⁾ = x."
        ),
        Equation(
            Row(
                sym("z", "i", "l+1"),
                Op("="),
                Sum("j", Row(sym("W", "ij", "l"), sym("a", "j", "l"))),
                Op("+"),
                sym("b", "i", "l"),
                Op(","),
                Text("  "),
                sym("a", "i", "l+1"),
                Op("="),
                Sym("f"),
                Paren(sym("z", "i", "l+1")),
            )
        ),
    ]
    for k in range(1, len(n.a)):
        for i in range(n.W[k - 1].shape[0]):
            blocks += _unit_steps(n, k, i)
    blocks.extend(_cost_blocks(n))
    return Section("forward", "Forward pass and the cost J(W,b)", tuple(blocks))


def _unit_steps(n: WorkedNumbers, k: int, i: int) -> list[Block]:
    """z_i⁽ˡ⁾ and a_i⁽ˡ⁾ of unit i (0-based) of layer l = k + 1, for example 1."""
    l = k + 1
    act = n.net.activations[k - 1]
    Wk, bk = n.W[k - 1], n.b[k - 1]
    terms: list[Node] = []
    values: list[Node] = []
    for j in range(Wk.shape[1]):
        src, src_key = source(k, j + 1)
        terms.append(Row(sym("W", idx(i + 1, j + 1), k), src))
        values.append(
            times(
                factor(Wk[i, j], f"W[{k}][{key(i + 1, j + 1)}]"), factor(n.a[k - 1][0, j], src_key)
            )
        )
    terms.append(sym("b", str(i + 1), k))
    values.append(factor(bk[i], f"b[{k}][{i + 1}]"))
    z_val = float(n.at("z", k)[0, i])
    if act.elementwise:
        numbers: Node = Row(Sym(fname(act)), Paren(Num(z_val, f"z[{l}][{i + 1}]")))
    else:
        args: list[Node] = []
        for c in range(Wk.shape[0]):
            if args:
                args.append(Op(","))
            args.append(Num(float(n.at("z", k)[0, c]), f"z[{l}][{c + 1}]"))
        numbers = Row(Sym(fname(act), str(i + 1)), Paren(Row(*args)))
    return [
        Step(
            f"z[{l}][{i + 1}]",
            Row(sym("z", str(i + 1), l), Op("="), plus(*terms)),
            plus(*values),
            z_val,
        ),
        Step(
            f"a[{l}][{i + 1}]",
            Row(sym("a", str(i + 1), l), Op("="), Sym("f"), Paren(sym("z", str(i + 1), l))),
            numbers,
            float(n.a[k][0, i]),
        ),
    ]


def _per_example_cost(n: WorkedNumbers) -> tuple[Node, Node]:
    """J(W,b; x,y) for example 1: the equation's right side, and it with numbers."""
    n_l = len(n.a)
    out = n.a[-1][0]
    s = len(out)
    cost = n.net.cost.name
    a = [sym("a", str(i + 1), "n_l") for i in range(s)]
    y = [Sym("y", str(i + 1)) for i in range(s)]
    av = [Num(float(out[i]), f"a[{n_l}][{i + 1}]") for i in range(s)]
    yv = [Num(float(n.y[0, i]), f"y[{i + 1}]") for i in range(s)]
    if cost == "squared_error":
        sym_terms: list[Node] = [Pow(Paren(Row(a[i], Op("−"), y[i])), "2") for i in range(s)]
        num_terms: list[Node] = [Pow(Paren(Row(av[i], Op("−"), yv[i])), "2") for i in range(s)]
        return (
            Row(HALF, Paren(plus(*sym_terms), "[]")),
            Row(HALF, Paren(plus(*num_terms), "[]")),
        )
    if cost == "cross_entropy":
        sym_terms = [Row(y[i], Sym("log"), a[i]) for i in range(s)]
        num_terms = [times(yv[i], Row(Sym("log"), Paren(av[i]))) for i in range(s)]
        return Neg(Paren(plus(*sym_terms), "[]")), Neg(Paren(plus(*num_terms), "[]"))
    if cost == "binary_cross_entropy":
        one = Num(1.0)
        sym_terms = [
            Row(
                y[i],
                Sym("log"),
                a[i],
                Op("+"),
                Paren(Row(one, Op("−"), y[i])),
                Sym("log"),
                Paren(Row(one, Op("−"), a[i])),
            )
            for i in range(s)
        ]
        num_terms = [
            Row(
                times(yv[i], Row(Sym("log"), Paren(av[i]))),
                Op("+"),
                times(
                    Paren(Row(one, Op("−"), yv[i])),
                    Row(Sym("log"), Paren(Row(one, Op("−"), av[i]))),
                ),
            )
            for i in range(s)
        ]
        return Neg(Paren(plus(*sym_terms), "[]")), Neg(Paren(plus(*num_terms), "[]"))
    return Sym("J", "", ""), Num(float(n.losses[0]), "loss[1]")


def _cost_blocks(n: WorkedNumbers) -> list[Block]:
    """The data term, the weight-decay term and their sum J(W,b)."""
    lam = n.net.weight_decay
    sumsq = float(sum(np.sum(w * w) for w in n.W))
    return [
        *_data_term_blocks(n),
        Step(
            "J_decay",
            Row(
                Text("weight decay"),
                Op("="),
                Frac(Sym("λ"), Num(2.0)),
                Sum("l", Sum("i", Sum("j", Pow(Paren(sym("W", "ji", "l")), "2")))),
            ),
            Row(Frac(Num(lam, "λ"), Num(2.0)), Op("·"), Num(sumsq, "sumsq")),
            n.decay,
            note="weights only; biases are not decayed",
        ),
        Step(
            "J",
            Row(
                Sym("J"),
                Paren(Row(Sym("W"), Op(","), Sym("b"))),
                Op("="),
                Text("data term"),
                Op("+"),
                Text("weight decay"),
            ),
            plus(Num(n.data, "J_data"), Num(n.decay, "J_decay")),
            n.J,
            note="what Network.cost_and_grad returns",
        ),
    ]


def _data_term_blocks(n: WorkedNumbers) -> list[Block]:
    """J(W,b; x,y) of example 1 and, for m > 1, the average over the examples."""
    rhs, rhs_numbers = _per_example_cost(n)
    if n.m == 1:
        return [
            prose(
                "The cost of the example is J(W,b; x,y). With one example the average "
                "over m is this single term."
            ),
            Step("J_data", Row(J_of(Sym("x"), Sym("y")), Op("="), rhs), rhs_numbers, n.data),
        ]
    parts: list[Node] = [Num(float(v), f"loss[{k + 1}]") for k, v in enumerate(n.losses)]
    inner: Node = plus(*parts) if n.m <= 6 else Num(float(np.sum(n.losses)), "sumloss")
    return [
        prose(
            f"The data term averages the per-example cost over the m = {n.m} examples; "
            "example 1's is worked out, the others come from the same formula."
        ),
        Step(
            "loss[1]",
            Row(J_of(Sym("x", "", "(1)"), Sym("y", "", "(1)")), Op("="), rhs),
            rhs_numbers,
            float(n.losses[0]),
        ),
        Step(
            "J_data",
            Row(
                Text("data term"),
                Op("="),
                Frac(Num(1.0), Sym("m")),
                Sum("k", J_of(Sym("x", "", "(k)"), Sym("y", "", "(k)")), "1", "m"),
            ),
            Row(Frac(Num(1.0), Num(float(n.m), "m")), Paren(inner)),
            n.data,
        ),
    ]
