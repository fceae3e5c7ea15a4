"""Section 1, the network and its numbers: architecture, notation, W, b and the examples."""

from __future__ import annotations

from ...activations import Activation
from ..records import Block, Cell, NetworkFigure, Section, Table
from ..trace import WorkedNumbers
from .parts import prose, sub, sup

MAX_ROWS = 5
"""Examples listed in the example table; the JSON always holds all of them."""

DESCRIPTIONS = {
    "sigmoid": "the sigmoid σ(z) = 1/(1 + e^(−z)), with f′(z) = σ(z)(1 − σ(z)) = a(1 − a)",
    "tanh": "tanh(z), with f′(z) = 1 − tanh²(z) = 1 − a²",
    "relu": "relu(z) = max(z, 0), with f′(z) = 1 for z > 0 and 0 otherwise",
    "leaky_relu": "leaky_relu(z) = z for z > 0, 0.01 z otherwise, with f′ = 1 or 0.01",
    "softplus": "softplus(z) = log(1 + e^z), with f′(z) = σ(z)",
    "identity": "the identity f(z) = z, with f′(z) = 1",
    "softmax": "softmax, a_i = e^(z_i) / Σ_k e^(z_k), which couples the units of the layer",
}
"""Each built-in activation f with its f′, in words."""


def activation_sentence(n: WorkedNumbers) -> str:
    """Which f each layer uses, with its f′."""
    hidden, out = n.net.activation, n.net.output_activation
    text_out = DESCRIPTIONS.get(out.name, f"the custom activation {out.name!r}")
    if n.net.n_layers == 2:
        return f"The output layer uses f = {text_out}."
    if not isinstance(hidden, Activation):  # one per hidden layer
        per_layer = "; ".join(
            f"layer {l} uses f = " + DESCRIPTIONS.get(act.name, f"the custom {act.name!r}")
            for l, act in enumerate(hidden, start=2)
        )
        return f"Hidden {per_layer}; the output layer uses {text_out}."
    text_hidden = DESCRIPTIONS.get(hidden.name, f"the custom activation {hidden.name!r}")
    if hidden == out:
        return f"Every layer uses f = {text_hidden}."
    return f"The hidden layers use f = {text_hidden}; the output layer uses {text_out}."


def network_section(n: WorkedNumbers, figure: NetworkFigure) -> Section:
    """The architecture, the parameters and the example(s), with the figure."""
    sizes = n.net.layer_sizes
    n_l = len(sizes)
    lam = n.net.weight_decay
    blocks: list[Block] = [
        prose(
            f"A network with n_l = {n_l} layers of {', '.join(map(str, sizes))} units "
            f"(layer 1 is the input x, layer {n_l} the output h(x) = a{sup(n_l)}), cost "
            f"{n.net.cost.name}, weight decay λ = {lam:g}, learning rate α = {n.learning_rate:g} "
            f"and m = {n.m} example{'s' if n.m > 1 else ''}. " + activation_sentence(n)
        ),
        prose(
            "The notation is UFLDL's: W_ij⁽ˡ⁾ is the weight on the connection from unit j of "
            "layer l to unit i of layer l+1 (first index: the unit it feeds; second index: the "
            "unit it comes from), b_i⁽ˡ⁾ the bias of unit i of layer l+1, z_i⁽ˡ⁾ the weighted "
            "input of unit i of layer l, a_i⁽ˡ⁾ = f(z_i⁽ˡ⁾) its activation, and δ_i⁽ˡ⁾ its error "
            "term."
        ),
        figure,
        *_parameter_tables(n),
        _example_table(n),
    ]
    if n.m > 1:
        blocks.append(
            prose(
                "The forward pass and the error terms below are worked for example 1; J and the "
                "gradients average over all m examples."
            )
        )
    return Section("network", "The network and its numbers", tuple(blocks))


def _parameter_tables(n: WorkedNumbers) -> list[Table]:
    """W⁽ˡ⁾ beside b⁽ˡ⁾, one table per layer."""
    tables = []
    for k, (Wk, bk) in enumerate(zip(n.W, n.b, strict=True)):
        l = k + 1
        cols = tuple(f"j = {j + 1}" for j in range(Wk.shape[1]))
        rows: tuple[tuple[Cell, ...], ...] = tuple(
            (f"i = {i + 1}", *(float(v) for v in Wk[i]), float(bk[i])) for i in range(Wk.shape[0])
        )
        tables.append(
            Table(
                ("", *cols, "b" + sub("i") + sup(l)),
                rows,
                f"W{sup(l)} and b{sup(l)}: row i is unit i of layer {l + 1}, column j is unit j "
                f"of layer {l}",
            )
        )
    return tables


def _example_table(n: WorkedNumbers) -> Table:
    """x and y of the first examples."""
    sizes = n.net.layer_sizes
    shown = min(n.m, MAX_ROWS)
    columns = tuple(f"x{sub(j + 1)}" for j in range(sizes[0])) + tuple(
        f"y{sub(i + 1)}" for i in range(sizes[-1])
    )
    examples: tuple[tuple[Cell, ...], ...] = tuple(
        (f"example {r + 1}", *(float(v) for v in n.x[r]), *(float(v) for v in n.y[r]))
        for r in range(shown)
    )
    caption = "the example (x, y)" if n.m == 1 else f"the examples (x⁽ᵏ⁾, y⁽ᵏ⁾), k = 1 … {n.m}"
    if shown < n.m:
        caption += f"; the first {shown} of {n.m} are listed (the JSON output holds all)"
    return Table(("", *columns), examples, caption)
