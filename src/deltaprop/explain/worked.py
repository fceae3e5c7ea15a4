"""The worked example as records: every equation of the seed, with its numbers.

``sections(numbers, unit=…, threshold=…)`` turns a :class:`~.trace.WorkedNumbers`
into the sections forward pass, output δ, hidden δ, gradients and update. Each
number in an equation is a :class:`~.notation.Num` whose ``of`` key names the
quantity (see ``trace``), so a test can hold every shown number against the
trainer's own arrays.
"""

from __future__ import annotations

import numpy as np

from .. import gradcheck
from ..activations import Activation
from .notation import (
    HALF,
    Frac,
    Neg,
    Node,
    Num,
    Op,
    Paren,
    Pow,
    Row,
    Sum,
    Sym,
    Text,
    subscripts,
    sym,
    to_unicode,
)
from .records import Block, Cell, Check, Equation, NetworkFigure, Prose, Section, Step, Table
from .trace import EPSILON, WorkedNumbers

MAX_ROWS = 5
"""Examples listed in the example table; the JSON always holds all of them."""

_DESCRIPTIONS = {
    "sigmoid": "the sigmoid σ(z) = 1/(1 + e^(−z)), with f′(z) = σ(z)(1 − σ(z)) = a(1 − a)",
    "tanh": "tanh(z), with f′(z) = 1 − tanh²(z) = 1 − a²",
    "relu": "relu(z) = max(z, 0), with f′(z) = 1 for z > 0 and 0 otherwise",
    "leaky_relu": "leaky_relu(z) = z for z > 0, 0.01 z otherwise, with f′ = 1 or 0.01",
    "softplus": "softplus(z) = log(1 + e^z), with f′(z) = σ(z)",
    "identity": "the identity f(z) = z, with f′(z) = 1",
    "softmax": "softmax, a_i = e^(z_i) / Σ_k e^(z_k), which couples the units of the layer",
}


# --- small builders ------------------------------------------------------------------------------


def _idx(*parts: int) -> str:
    """Subscript text for unit indices: "12" for (1, 2), "10,2" when one has two digits."""
    text = [str(p) for p in parts]
    return ("," if any(len(t) > 1 for t in text) else "").join(text)


def _key(*parts: int) -> str:
    return ",".join(str(p) for p in parts)


def _n(value: float, of: str) -> Node:
    """A number as a factor or term: in brackets when negative."""
    num = Num(float(value), of)
    return Paren(num) if value < 0 else num


def _times(*factors: Node) -> Row:
    items: list[Node] = []
    for f in factors:
        if items:
            items.append(Op("·"))
        items.append(f)
    return Row(*items)


def _plus(*terms: Node) -> Row:
    items: list[Node] = []
    for t in terms:
        if items:
            items.append(Op("+"))
        items.append(t)
    return Row(*items)


def _J_of(x: Node, y: Node) -> Row:
    """J(W,b; x,y) for the given x and y."""
    return Row(Sym("J"), Paren(Row(Sym("W"), Op(","), Sym("b"), Op(";"), x, Op(","), y)))


def _prose(text: str) -> Prose:
    """A paragraph, its index subscripts in Unicode (W_ij -> Wᵢⱼ)."""
    return Prose(subscripts(text))


def _sup(l: int | str) -> str:
    """The layer superscript ⁽ˡ⁾ for layer l."""
    return to_unicode(Sym("", "", f"({l})"))


def _u(node: Node) -> str:
    return to_unicode(node)


def _fname(act: Activation) -> str:
    return "σ" if act.name == "sigmoid" else act.name


def _act_layer_sym(l: int, n_l: int) -> str:
    return "n_l" if l == n_l else str(l)


def _check(g: float, g_hat: float, threshold: float, perturbed: str, eps: float) -> Check:
    rel = gradcheck.relative_difference(np.array([g]), np.array([g_hat]))
    return Check(float(g_hat), rel, rel < threshold, perturbed, eps)


def _activation_sentence(n: WorkedNumbers) -> str:
    hidden, out = n.net.activation, n.net.output_activation
    text_out = _DESCRIPTIONS.get(out.name, f"the custom activation {out.name!r}")
    if n.net.n_layers == 2:
        return f"The output layer uses f = {text_out}."
    text_hidden = _DESCRIPTIONS.get(hidden.name, f"the custom activation {hidden.name!r}")
    if hidden == out:
        return f"Every layer uses f = {text_hidden}."
    return f"The hidden layers use f = {text_hidden}; the output layer uses {text_out}."


# --- 1. the network ------------------------------------------------------------------------------


def network_section(n: WorkedNumbers, figure: NetworkFigure) -> Section:
    """The architecture, the parameters and the example(s), with the figure."""
    sizes = n.net.layer_sizes
    n_l = len(sizes)
    lam = n.net.weight_decay
    blocks: list[Block] = [
        _prose(
            f"A network with n_l = {n_l} layers of {', '.join(map(str, sizes))} units "
            f"(layer 1 is the input x, layer {n_l} the output h(x) = a{_sup(n_l)}), cost "
            f"{n.net.cost.name}, weight decay λ = {lam:g}, learning rate α = {n.learning_rate:g} "
            f"and m = {n.m} example{'s' if n.m > 1 else ''}. " + _activation_sentence(n)
        ),
        _prose(
            "Notation of the seed: W_ij⁽ˡ⁾ is the weight on the connection from unit j of layer l "
            "to unit i of layer l+1 (first index: the unit it feeds; second index: the unit it "
            "comes from), b_i⁽ˡ⁾ the bias of unit i of layer l+1, z_i⁽ˡ⁾ the weighted input of "
            "unit i of layer l, a_i⁽ˡ⁾ = f(z_i⁽ˡ⁾) its activation, and δ_i⁽ˡ⁾ its error term."
        ),
        figure,
    ]
    for k, (Wk, bk) in enumerate(zip(n.W, n.b, strict=True)):
        l = k + 1
        cols = tuple(f"j = {j + 1}" for j in range(Wk.shape[1]))
        rows: tuple[tuple[Cell, ...], ...] = tuple(
            (f"i = {i + 1}", *(float(v) for v in Wk[i]), float(bk[i])) for i in range(Wk.shape[0])
        )
        blocks.append(
            Table(
                ("", *cols, "b" + _sub_i() + _sup(l)),
                rows,
                f"W{_sup(l)} and b{_sup(l)}: row i is unit i of layer {l + 1}, column j is unit j "
                f"of layer {l}",
            )
        )
    shown = min(n.m, MAX_ROWS)
    columns = tuple(f"x{_sub(j + 1)}" for j in range(sizes[0])) + tuple(
        f"y{_sub(i + 1)}" for i in range(sizes[-1])
    )
    examples: tuple[tuple[Cell, ...], ...] = tuple(
        (f"example {r + 1}", *(float(v) for v in n.x[r]), *(float(v) for v in n.y[r]))
        for r in range(shown)
    )
    caption = "the example (x, y)" if n.m == 1 else f"the examples (x⁽ᵏ⁾, y⁽ᵏ⁾), k = 1 … {n.m}"
    if shown < n.m:
        caption += f"; the first {shown} of {n.m} are listed (the JSON output holds all)"
    blocks.append(Table(("", *columns), examples, caption))
    if n.m > 1:
        blocks.append(
            _prose(
                "The forward pass and the error terms below are worked for example 1; J and the "
                "gradients average over all m examples."
            )
        )
    return Section("network", "The network and its numbers", tuple(blocks))


def _sub(i: int) -> str:
    return to_unicode(Sym("", str(i)))


def _sub_i() -> str:
    return to_unicode(Sym("", "i"))


# --- 2. forward pass -----------------------------------------------------------------------------


def forward_section(n: WorkedNumbers) -> Section:
    """Every z_i⁽ˡ⁾ and a_i⁽ˡ⁾, then J with its data term and weight decay."""
    n_l = len(n.a)
    blocks: list[Block] = [
        _prose(
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
    for k in range(1, n_l):
        l = k + 1
        act = n.net.activations[k - 1]
        Wk, bk = n.W[k - 1], n.b[k - 1]
        for i in range(Wk.shape[0]):
            terms: list[Node] = []
            values: list[Node] = []
            for j in range(Wk.shape[1]):
                src = Sym("x", str(j + 1)) if k == 1 else sym("a", str(j + 1), k)
                src_key = f"x[{j + 1}]" if k == 1 else f"a[{k}][{j + 1}]"
                terms.append(Row(sym("W", _idx(i + 1, j + 1), k), src))
                values.append(
                    _times(
                        _n(Wk[i, j], f"W[{k}][{_key(i + 1, j + 1)}]"),
                        _n(n.a[k - 1][0, j], src_key),
                    )
                )
            terms.append(sym("b", str(i + 1), k))
            values.append(_n(bk[i], f"b[{k}][{i + 1}]"))
            z_val = float(n.at("z", k)[0, i])
            blocks.append(
                Step(
                    f"z[{l}][{i + 1}]",
                    Row(sym("z", str(i + 1), l), Op("="), _plus(*terms)),
                    _plus(*values),
                    z_val,
                )
            )
            if act.elementwise:
                numbers: Node = Row(Sym(_fname(act)), Paren(Num(z_val, f"z[{l}][{i + 1}]")))
            else:
                args: list[Node] = []
                for c in range(Wk.shape[0]):
                    if args:
                        args.append(Op(","))
                    args.append(Num(float(n.at("z", k)[0, c]), f"z[{l}][{c + 1}]"))
                numbers = Row(Sym(_fname(act), str(i + 1)), Paren(Row(*args)))
            blocks.append(
                Step(
                    f"a[{l}][{i + 1}]",
                    Row(sym("a", str(i + 1), l), Op("="), Sym("f"), Paren(sym("z", str(i + 1), l))),
                    numbers,
                    float(n.a[k][0, i]),
                )
            )
    blocks.extend(_cost_blocks(n))
    return Section("forward", "Forward pass and the cost J(W,b)", tuple(blocks))


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
    half = HALF
    if cost == "squared_error":
        sym_terms: list[Node] = [Pow(Paren(Row(a[i], Op("−"), y[i])), "2") for i in range(s)]
        num_terms: list[Node] = [Pow(Paren(Row(av[i], Op("−"), yv[i])), "2") for i in range(s)]
        return (
            Row(half, Paren(_plus(*sym_terms), "[]")),
            Row(half, Paren(_plus(*num_terms), "[]")),
        )
    if cost == "cross_entropy":
        sym_terms = [Row(y[i], Sym("log"), a[i]) for i in range(s)]
        num_terms = [_times(yv[i], Row(Sym("log"), Paren(av[i]))) for i in range(s)]
        return Neg(Paren(_plus(*sym_terms), "[]")), Neg(Paren(_plus(*num_terms), "[]"))
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
                _times(yv[i], Row(Sym("log"), Paren(av[i]))),
                Op("+"),
                _times(
                    Paren(Row(one, Op("−"), yv[i])),
                    Row(Sym("log"), Paren(Row(one, Op("−"), av[i]))),
                ),
            )
            for i in range(s)
        ]
        return Neg(Paren(_plus(*sym_terms), "[]")), Neg(Paren(_plus(*num_terms), "[]"))
    return Sym("J", "", ""), Num(float(n.losses[0]), "loss[1]")


def _cost_blocks(n: WorkedNumbers) -> list[Block]:
    lam = n.net.weight_decay
    rhs, rhs_numbers = _per_example_cost(n)
    blocks: list[Block] = []
    J1 = _J_of(Sym("x"), Sym("y"))
    if n.m == 1:
        blocks.append(
            _prose(
                "The cost of the example is the seed's J(W,b; x,y). With one example the average "
                "over m is this single term."
            )
        )
        blocks.append(Step("J_data", Row(J1, Op("="), rhs), rhs_numbers, n.data))
    else:
        blocks.append(
            _prose(
                f"The data term averages the per-example cost over the m = {n.m} examples; "
                "example 1's is worked out, the others come from the same formula."
            )
        )
        blocks.append(
            Step(
                "loss[1]",
                Row(
                    _J_of(Sym("x", "", "(1)"), Sym("y", "", "(1)")),
                    Op("="),
                    rhs,
                ),
                rhs_numbers,
                float(n.losses[0]),
            )
        )
        parts: list[Node] = [Num(float(v), f"loss[{k + 1}]") for k, v in enumerate(n.losses)]
        inner: Node = _plus(*parts) if n.m <= 6 else Num(float(np.sum(n.losses)), "sumloss")
        blocks.append(
            Step(
                "J_data",
                Row(
                    Text("data term"),
                    Op("="),
                    Frac(Num(1.0), Sym("m")),
                    Sum("k", _J_of(Sym("x", "", "(k)"), Sym("y", "", "(k)")), "1", "m"),
                ),
                Row(Frac(Num(1.0), Num(float(n.m), "m")), Paren(inner)),
                n.data,
            )
        )
    sumsq = float(sum(np.sum(w * w) for w in n.W))
    blocks.append(
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
        )
    )
    blocks.append(
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
            _plus(Num(n.data, "J_data"), Num(n.decay, "J_decay")),
            n.J,
            note="what Network.cost_and_grad returns",
        )
    )
    return blocks


# --- 3. output δ ---------------------------------------------------------------------------------


def output_delta_section(n: WorkedNumbers, threshold: float) -> Section:
    """δ_i⁽ⁿˡ⁾ for every output unit, with the chain rule written out."""
    n_l = len(n.a)
    k = n_l - 1
    cost, act = n.net.cost.name, n.net.output_activation
    measured = n.at("delta_numeric", k)
    eps = EPSILON
    ex = " of example 1" if n.m > 1 else ""
    blocks: list[Block] = [
        _prose(
            "δ_i⁽ⁿˡ⁾ is how fast the cost changes when the weighted input z_i⁽ⁿˡ⁾ of output unit i "
            "moves: δ_i⁽ⁿˡ⁾ = ∂J(W,b; x,y)/∂z_i⁽ⁿˡ⁾. z_i reaches J only through a_i = f(z_i), so "
            "the chain rule gives ∂J/∂z_i = ∂J/∂a_i · ∂a_i/∂z_i."
        )
    ]
    squared = cost == "squared_error" and act.elementwise
    if squared:
        blocks.append(
            _prose(
                "With J = ½ Σ_k (y_k − a_k)², only the k = i term depends on a_i, and "
                "∂/∂a_i ½(y_i − a_i)² = ½ · 2(y_i − a_i) · (−1) = −(y_i − a_i): the ½ cancels the "
                "2 that differentiating the square brings down. ∂a_i/∂z_i = f′(z_i) because "
                "a_i = f(z_i)."
            )
        )
    elif cost in ("cross_entropy", "binary_cross_entropy"):
        blocks.append(
            _prose(
                f"For {cost} with its {act.name} output, ∂J/∂a and ∂a/∂z cancel to the simple "
                "δ_i = a_i − y_i (costs.py derives it)."
            )
        )
    else:
        blocks.append(
            _prose(
                f"For this pairing ({cost}, {act.name} output) δ⁽ⁿˡ⁾ comes from the cost's own "
                "output_delta; only its value is shown."
            )
        )
    blocks.append(
        _prose(
            "Beside each δ, the same derivative measured: move z_i⁽ⁿˡ⁾ of the example alone by "
            "±ε, finish the forward pass from there, and take ĝ(ε) = (J(z + ε) − J(z − ε)) / 2ε "
            f"(deltaprop.gradcheck.check_deltas). This is done at ε = {eps:g} and at ε/2, and "
            "(4ĝ(ε/2) − ĝ(ε))/3 cancels the ε² error the two share (Richardson extrapolation), "
            "so that even small entries are measured to within about 1e−13."
        )
    )
    s = n.a[-1].shape[1]
    for i in range(s):
        I = str(i + 1)
        a_s, z_s, y_s = sym("a", I, "n_l"), sym("z", I, "n_l"), Sym("y", I)
        a_v = Num(float(n.a[-1][0, i]), f"a[{n_l}][{I}]")
        y_v = Num(float(n.y[0, i]), f"y[{I}]")
        value = float(n.at("delta", k)[0, i])
        lhs = sym("δ", I, "n_l")
        if squared:
            equation: Node = Row(
                lhs,
                Op("="),
                Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), a_s)),
                Op("·"),
                Frac(Row(Sym("∂"), a_s), Row(Sym("∂"), z_s)),
                Op("="),
                Neg(Paren(Row(y_s, Op("−"), a_s))),
                Sym("f′"),
                Paren(z_s),
            )
            fp = Num(float(n.at("fp", k)[0, i]), f"fp[{n_l}][{I}]")
            numbers: Node = _times(Neg(Paren(Row(y_v, Op("−"), a_v))), fp)
        elif cost in ("cross_entropy", "binary_cross_entropy"):
            equation = Row(lhs, Op("="), a_s, Op("−"), y_s)
            numbers = Row(a_v, Op("−"), y_v)
        else:
            equation = Row(lhs, Op("="), Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), z_s)))
            numbers = Num(value, f"δ[{n_l}][{I}]")
        blocks.append(
            Step(
                f"δ[{n_l}][{I}]",
                equation,
                numbers,
                value,
                _check(value, float(measured[0, i]), threshold, to_unicode(z_s) + ex, eps),
            )
        )
    return Section("output-delta", "Error terms of the output layer", tuple(blocks))


# --- 4. hidden δ ---------------------------------------------------------------------------------


def hidden_delta_section(n: WorkedNumbers, unit: int, threshold: float) -> Section:
    """δ_i⁽ˡ⁾ of the hidden layers, one unit path by path, then every unit."""
    n_l = len(n.a)
    eps = EPSILON
    ex = " of example 1" if n.m > 1 else ""
    blocks: list[Block] = [
        _prose(
            "Where does the sum come from? Unit i of layer l sends its activation a_i⁽ˡ⁾ to "
            "every unit j of layer l+1, through the weight W_ji⁽ˡ⁾, so its weighted input z_i⁽ˡ⁾ "
            "reaches J along one path per unit j: z_i⁽ˡ⁾ → z_j⁽ˡ⁺¹⁾ → … → J. The chain rule adds "
            "up the paths: δ_i⁽ˡ⁾ = ∂J/∂z_i⁽ˡ⁾ = Σ_j ∂J/∂z_j⁽ˡ⁺¹⁾ · ∂z_j⁽ˡ⁺¹⁾/∂z_i⁽ˡ⁾. The first "
            "factor is δ_j⁽ˡ⁺¹⁾ by definition. For the second, z_j⁽ˡ⁺¹⁾ = Σ_k W_jk⁽ˡ⁾ f(z_k⁽ˡ⁾) + "
            "b_j⁽ˡ⁾ contains z_i⁽ˡ⁾ only in the k = i term, so "
            "∂z_j⁽ˡ⁺¹⁾/∂z_i⁽ˡ⁾ = W_ji⁽ˡ⁾ f′(z_i⁽ˡ⁾)."
        ),
        _prose(
            "Why W_ji and not W_ij? The first index of a weight names the unit it feeds, the "
            "second the unit it comes from. Going forward, unit i of layer l is the sender, so "
            "every weight leaving it has i in the second place: W_ji⁽ˡ⁾, for j = 1 … sₗ₊₁. "
            "These are the same weights as in the forward pass, looked up from their sending "
            "end; nothing is flipped. (Collected for every i at once, these sums are the "
            "matrix product W⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾, which is why backpropagation multiplies by the "
            "transpose.) The answer you read writes ∂z_j⁽ˡ⁺¹⁾/∂z_j⁽ˡ⁾ in one place; it means "
            "∂z_j⁽ˡ⁺¹⁾/∂z_i⁽ˡ⁾."
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
    for k in range(n_l - 2, 0, -1):
        l = k + 1
        Wk = n.W[k]  # W⁽ˡ⁾, shape (s_{l+1}, s_l)
        s_next, s_l = Wk.shape
        chosen = min(unit, s_l) - 1
        measured = n.at("delta_numeric", k)
        I = str(chosen + 1)
        blocks.append(
            _prose(
                f"Layer {l}, unit i = {I}, worked path by path: unit {I} of layer {l} feeds "
                f"{'both' if s_next == 2 else 'all ' + str(s_next) if s_next > 2 else 'the'} "
                f"unit{'s' if s_next > 1 else ''} of layer {l + 1}. For the path to unit j, the "
                f"weight is {_u(sym('W', 'j' + I, l))}: row j of W{_sup(l)} (the unit j it feeds, "
                f"in layer {l + 1}), column {I} (the unit {I} it leaves, in layer {l})."
            )
        )
        for j in range(s_next):
            J = str(j + 1)
            blocks.append(
                Step(
                    f"path[{l}][{_key(j + 1, chosen + 1)}]",
                    Row(
                        Text(f"path to unit {J} of layer {l + 1}:"),
                        sym("W", _idx(j + 1, chosen + 1), l),
                        sym("δ", J, l + 1),
                    ),
                    _times(
                        _n(Wk[j, chosen], f"W[{l}][{_key(j + 1, chosen + 1)}]"),
                        _n(n.at("delta", k + 1)[0, j], f"δ[{l + 1}][{J}]"),
                    ),
                    float(Wk[j, chosen] * n.at("delta", k + 1)[0, j]),
                )
            )
        back_i = float(n.at("back", k)[0, chosen])
        blocks.append(
            Step(
                f"back[{l}][{I}]",
                Row(
                    Sum("j", Row(sym("W", "j" + I, l), sym("δ", "j", l + 1))),
                    Op("="),
                    _plus(
                        *(
                            Row(sym("W", _idx(j + 1, chosen + 1), l), sym("δ", str(j + 1), l + 1))
                            for j in range(s_next)
                        )
                    ),
                ),
                _plus(
                    *(
                        _n(
                            float(Wk[j, chosen] * n.at("delta", k + 1)[0, j]),
                            f"path[{l}][{_key(j + 1, chosen + 1)}]",
                        )
                        for j in range(s_next)
                    )
                ),
                back_i,
                note="the paths, added up",
            )
        )
        blocks.append(
            _prose(
                f"Multiplying by f′({_u(sym('z', I, l))}) takes the error from unit {I}'s output "
                f"{_u(sym('a', I, l))} back to its input {_u(sym('z', I, l))}. The same recipe "
                f"gives every unit of layer {l}:"
            )
        )
        for i in range(s_l):
            I2 = str(i + 1)
            value = float(n.at("delta", k)[0, i])
            blocks.append(
                Step(
                    f"δ[{l}][{I2}]",
                    Row(
                        sym("δ", I2, l),
                        Op("="),
                        Paren(
                            _plus(
                                *(
                                    Row(
                                        sym("W", _idx(j + 1, i + 1), l), sym("δ", str(j + 1), l + 1)
                                    )
                                    for j in range(s_next)
                                )
                            )
                        ),
                        Sym("f′"),
                        Paren(sym("z", I2, l)),
                    ),
                    _times(
                        Paren(Num(float(n.at("back", k)[0, i]), f"back[{l}][{I2}]")),
                        Num(float(n.at("fp", k)[0, i]), f"fp[{l}][{I2}]"),
                    ),
                    value,
                    _check(
                        value,
                        float(measured[0, i]),
                        threshold,
                        to_unicode(sym("z", I2, l)) + ex,
                        eps,
                    ),
                )
            )
    return Section("hidden-delta", "Error terms of the hidden layers", tuple(blocks))


# --- 5. gradients --------------------------------------------------------------------------------


def gradient_section(n: WorkedNumbers, threshold: float) -> Section:
    """∂J/∂W_ij⁽ˡ⁾ and ∂J/∂b_i⁽ˡ⁾ entry by entry, each against a central difference."""
    lam = n.net.weight_decay
    eps = EPSILON
    m = n.m
    decay_term = lam > 0
    general_W: list[Node] = [
        Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("W", "ij", "l"))),
        Op("="),
    ]
    if m == 1:
        general_W.append(Row(sym("a", "j", "l"), sym("δ", "i", "l+1")))
    else:
        general_W.append(
            Row(Frac(Num(1.0), Sym("m")), Sum("k", Row(sym("a", "j", "l"), sym("δ", "i", "l+1"))))
        )
    general_W += [Op("+"), Sym("λ"), sym("W", "ij", "l")]
    blocks: list[Block] = [
        _prose(
            "W_ij⁽ˡ⁾ appears in exactly one weighted input, "
            "z_i⁽ˡ⁺¹⁾ = Σ_j W_ij⁽ˡ⁾ a_j⁽ˡ⁾ + b_i⁽ˡ⁾, where it multiplies a_j⁽ˡ⁾. So "
            "∂z_k⁽ˡ⁺¹⁾/∂W_ij⁽ˡ⁾ = a_j⁽ˡ⁾ δ_ki, and the chain rule leaves one term: "
            "∂J/∂W_ij⁽ˡ⁾ = Σ_k δ_k⁽ˡ⁺¹⁾ a_j⁽ˡ⁾ δ_ki = a_j⁽ˡ⁾ δ_i⁽ˡ⁺¹⁾. Careful: "
            "this δ_ki, with two lower indices and no layer, is the Kronecker delta (1 when k = i, "
            "0 otherwise), not an error term. Likewise ∂z_i⁽ˡ⁺¹⁾/∂b_i⁽ˡ⁾ = 1, so "
            "∂J/∂b_i⁽ˡ⁾ = δ_i⁽ˡ⁺¹⁾."
        ),
        _prose(
            "The weight-decay term (λ/2) Σ W² adds ∂/∂W_ij (λ/2) W_ij² = λ W_ij to each weight's "
            "derivative and nothing to the biases'."
            + (" Here λ = 0, so that term is 0." if not decay_term else "")
            + (
                f" With m = {m} examples, the data term is an average, so its derivative is the "
                "average of the per-example ones."
                if m > 1
                else ""
            )
        ),
        Equation(Row(*general_W)),
        Equation(
            Row(
                Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("b", "i", "l"))),
                Op("="),
                sym("δ", "i", "l+1")
                if m == 1
                else Row(Frac(Num(1.0), Sym("m")), Sum("k", sym("δ", "i", "l+1"))),
            )
        ),
        _prose(
            "Beside each derivative, the same derivative measured: move that one parameter "
            "alone by ±ε, re-run the forward pass, and take (J(θ + ε) − J(θ − ε)) / 2ε "
            f"(deltaprop.gradcheck.check_gradient), at ε = {eps:g} and ε/2, combined as for δ."
        ),
    ]
    for k, Wk in enumerate(n.W):
        l = k + 1
        for i in range(Wk.shape[0]):
            for j in range(Wk.shape[1]):
                ij = _idx(i + 1, j + 1)
                src = Sym("x", str(j + 1)) if l == 1 else sym("a", str(j + 1), l)
                src_key = f"x[{j + 1}]" if l == 1 else f"a[{l}][{j + 1}]"
                lhs = Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("W", ij, l)))
                rhs_items: list[Node] = []
                num_items: list[Node] = []
                if m == 1:
                    rhs_items.append(Row(src, sym("δ", str(i + 1), l + 1)))
                    num_items.append(
                        _times(
                            _n(n.a[k][0, j], src_key),
                            _n(n.at("delta", k + 1)[0, i], f"δ[{l + 1}][{i + 1}]"),
                        )
                    )
                else:
                    total = float(np.sum(n.a[k][:, j] * n.at("delta", k + 1)[:, i]))
                    rhs_items.append(
                        Row(
                            Frac(Num(1.0), Sym("m")),
                            Sum("k", Row(src, sym("δ", str(i + 1), l + 1))),
                        )
                    )
                    num_items.append(
                        _times(
                            Frac(Num(1.0), Num(float(m), "m")),
                            _n(total, f"Σaδ[{l}][{_key(i + 1, j + 1)}]"),
                        )
                    )
                if decay_term:
                    rhs_items += [Op("+"), Sym("λ"), sym("W", ij, l)]
                    num_items += [
                        Op("+"),
                        _times(Num(lam, "λ"), _n(Wk[i, j], f"W[{l}][{_key(i + 1, j + 1)}]")),
                    ]
                value = float(n.weight_grads[k][i, j])
                blocks.append(
                    Step(
                        f"dW[{l}][{_key(i + 1, j + 1)}]",
                        Row(lhs, Op("="), *rhs_items),
                        Row(*num_items),
                        value,
                        _check(
                            value,
                            n.numeric_grad(f"W{l}", (i, j)),
                            threshold,
                            to_unicode(sym("W", ij, l)),
                            eps,
                        ),
                    )
                )
        for i in range(Wk.shape[0]):
            lhs = Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("b", str(i + 1), l)))
            if m == 1:
                rhs: Node = sym("δ", str(i + 1), l + 1)
                numbers: Node = Num(float(n.at("delta", k + 1)[0, i]), f"δ[{l + 1}][{i + 1}]")
            else:
                rhs = Row(Frac(Num(1.0), Sym("m")), Sum("k", sym("δ", str(i + 1), l + 1)))
                total = float(np.sum(n.at("delta", k + 1)[:, i]))
                numbers = _times(Frac(Num(1.0), Num(float(m), "m")), _n(total, f"Σδ[{l}][{i + 1}]"))
            value = float(n.bias_grads[k][i])
            blocks.append(
                Step(
                    f"db[{l}][{i + 1}]",
                    Row(lhs, Op("="), rhs),
                    numbers,
                    value,
                    _check(
                        value,
                        n.numeric_grad(f"b{l}", (i,)),
                        threshold,
                        to_unicode(sym("b", str(i + 1), l)),
                        eps,
                    ),
                )
            )
    return Section("gradients", "Partial derivatives of J", tuple(blocks))


# --- 6. the update -------------------------------------------------------------------------------


def update_section(n: WorkedNumbers) -> Section:
    """One step W := W − α ∂J/∂W, b := b − α ∂J/∂b, and the new, lower J."""
    alpha = n.learning_rate
    new_W, new_b = n.net.layout.unpack(np, n.new_params)
    blocks: list[Block] = [
        _prose(
            f"One step of gradient descent with α = {alpha:g}, on every weight and bias at once "
            "(the trainer's optimizer, deltaprop.optim.GradientDescent, does this update):"
        ),
        Equation(
            Row(
                sym("W", "ij", "l"),
                Op(":="),
                sym("W", "ij", "l"),
                Op("−"),
                Sym("α"),
                Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("W", "ij", "l"))),
                Op(","),
                Text("  "),
                sym("b", "i", "l"),
                Op(":="),
                sym("b", "i", "l"),
                Op("−"),
                Sym("α"),
                Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("b", "i", "l"))),
            )
        ),
    ]
    for k, Wk in enumerate(n.W):
        l = k + 1
        for i in range(Wk.shape[0]):
            for j in range(Wk.shape[1]):
                ij, key = _idx(i + 1, j + 1), _key(i + 1, j + 1)
                blocks.append(
                    Step(
                        f"W_new[{l}][{key}]",
                        Row(
                            sym("W", ij, l),
                            Op(":="),
                            sym("W", ij, l),
                            Op("−"),
                            Sym("α"),
                            Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("W", ij, l))),
                        ),
                        Row(
                            Num(float(Wk[i, j]), f"W[{l}][{key}]"),
                            Op("−"),
                            _times(Num(alpha, "α"), _n(n.weight_grads[k][i, j], f"dW[{l}][{key}]")),
                        ),
                        float(new_W[k][i, j]),
                    )
                )
        for i in range(Wk.shape[0]):
            I = str(i + 1)
            blocks.append(
                Step(
                    f"b_new[{l}][{I}]",
                    Row(
                        sym("b", I, l),
                        Op(":="),
                        sym("b", I, l),
                        Op("−"),
                        Sym("α"),
                        Frac(Row(Sym("∂"), Sym("J")), Row(Sym("∂"), sym("b", I, l))),
                    ),
                    Row(
                        Num(float(n.b[k][i]), f"b[{l}][{I}]"),
                        Op("−"),
                        _times(Num(alpha, "α"), _n(n.bias_grads[k][i], f"db[{l}][{I}]")),
                    ),
                    float(new_b[k][i]),
                )
            )
    lower = n.new_J < n.J
    blocks.append(
        Step(
            "J_new",
            Row(Sym("J"), Paren(Row(Sym("W"), Op(","), Sym("b"))), Text("after the step")),
            _plus(Num(n.new_data, "J_new_data"), Num(n.new_decay, "J_new_decay")),
            n.new_J,
            note=(
                f"lower than the {to_unicode(Num(n.J, 'J'))} before the step"
                if lower
                else f"NOT lower than before ({to_unicode(Num(n.J))}): α = {alpha:g} is too large"
            ),
        )
    )
    return Section("update", "One step of gradient descent", tuple(blocks))


# --- all of it -----------------------------------------------------------------------------------


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
        activation=n.net.activation.name,
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
