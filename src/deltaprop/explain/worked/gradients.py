"""Sections 5 and 6: every ∂J/∂W_ij⁽ˡ⁾ and ∂J/∂b_i⁽ˡ⁾ beside its finite difference, then one
step of gradient descent and the new J."""

from __future__ import annotations

import numpy as np

from ..notation import Frac, Node, Num, Op, Paren, Row, Sym, Text, sym, to_unicode
from ..records import Block, Equation, Section, Step
from ..trace import EPSILON, WorkedNumbers
from .parts import check, factor, idx, key, mean_of, partial, plus, prose, source, times

# --- 5. gradients --------------------------------------------------------------------------------


def gradient_section(n: WorkedNumbers, threshold: float) -> Section:
    """∂J/∂W_ij⁽ˡ⁾ and ∂J/∂b_i⁽ˡ⁾ entry by entry, each against a central difference."""
    blocks: list[Block] = _gradient_intro(n)
    for k, Wk in enumerate(n.W):
        for i in range(Wk.shape[0]):
            for j in range(Wk.shape[1]):
                blocks.append(_weight_gradient_step(n, k, i, j, threshold))
        for i in range(Wk.shape[0]):
            blocks.append(_bias_gradient_step(n, k, i, threshold))
    return Section("gradients", "Partial derivatives of J", tuple(blocks))


def _gradient_intro(n: WorkedNumbers) -> list[Block]:
    """Where ∂J/∂W = a δ + λW and ∂J/∂b = δ come from, and how they are measured."""
    m, decay_term = n.m, n.net.weight_decay > 0
    per_example = Row(sym("a", "j", "l"), sym("δ", "i", "l+1"))
    general_W: list[Node] = [
        partial(sym("W", "ij", "l")),
        Op("="),
        per_example if m == 1 else mean_of(per_example),
        Op("+"),
        Sym("λ"),
        sym("W", "ij", "l"),
    ]
    delta = sym("δ", "i", "l+1")
    return [
        prose(
            "W_ij⁽ˡ⁾ appears in exactly one weighted input, "
            "z_i⁽ˡ⁺¹⁾ = Σ_j W_ij⁽ˡ⁾ a_j⁽ˡ⁾ + b_i⁽ˡ⁾, where it multiplies a_j⁽ˡ⁾. So "
            "∂z_k⁽ˡ⁺¹⁾/∂W_ij⁽ˡ⁾ = a_j⁽ˡ⁾ δ_ki, and the chain rule leaves one term: "
            "∂J/∂W_ij⁽ˡ⁾ = Σ_k δ_k⁽ˡ⁺¹⁾ a_j⁽ˡ⁾ δ_ki = a_j⁽ˡ⁾ δ_i⁽ˡ⁺¹⁾. Careful: "
            "this δ_ki, with two lower indices and no layer, is the Kronecker delta (1 when k = i, "
            "0 otherwise), not an error term. Likewise ∂z_i⁽ˡ⁺¹⁾/∂b_i⁽ˡ⁾ = 1, so "
            "∂J/∂b_i⁽ˡ⁾ = δ_i⁽ˡ⁺¹⁾."
        ),
        prose(
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
        Equation(Row(partial(sym("b", "i", "l")), Op("="), delta if m == 1 else mean_of(delta))),
        prose(
            "Beside each derivative, the same derivative measured: move that one parameter "
            "alone by ±ε, re-run the forward pass, and take (J(θ + ε) − J(θ − ε)) / 2ε "
            f"(deltaprop.gradcheck.check_gradient), at ε = {EPSILON:g} and ε/2, combined as for δ."
        ),
    ]


def _weight_gradient_step(n: WorkedNumbers, k: int, i: int, j: int, threshold: float) -> Step:
    """∂J/∂W_ij⁽ˡ⁾ for l = k + 1 (0-based i, j): a_j δ_i (averaged over m), plus λ W_ij."""
    l = k + 1
    ij, where = idx(i + 1, j + 1), key(i + 1, j + 1)
    src, src_key = source(l, j + 1)
    per_example = Row(src, sym("δ", str(i + 1), l + 1))
    rhs_items: list[Node]
    num_items: list[Node]
    if n.m == 1:
        rhs_items = [per_example]
        num_items = [
            times(
                factor(n.a[k][0, j], src_key),
                factor(n.at("delta", k + 1)[0, i], f"δ[{l + 1}][{i + 1}]"),
            )
        ]
    else:
        total = float(np.sum(n.a[k][:, j] * n.at("delta", k + 1)[:, i]))
        rhs_items = [mean_of(per_example)]
        num_items = [
            times(Frac(Num(1.0), Num(float(n.m), "m")), factor(total, f"Σaδ[{l}][{where}]"))
        ]
    if n.net.weight_decay > 0:
        rhs_items += [Op("+"), Sym("λ"), sym("W", ij, l)]
        num_items += [
            Op("+"),
            times(Num(n.net.weight_decay, "λ"), factor(n.W[k][i, j], f"W[{l}][{where}]")),
        ]
    value = float(n.weight_grads[k][i, j])
    return Step(
        f"dW[{l}][{where}]",
        Row(partial(sym("W", ij, l)), Op("="), *rhs_items),
        Row(*num_items),
        value,
        check(
            value,
            n.numeric_grad(f"W{l}", (i, j)),
            threshold,
            to_unicode(sym("W", ij, l)),
            EPSILON,
        ),
    )


def _bias_gradient_step(n: WorkedNumbers, k: int, i: int, threshold: float) -> Step:
    """∂J/∂b_i⁽ˡ⁾ for l = k + 1 (0-based i): δ_i⁽ˡ⁺¹⁾, averaged over m."""
    l = k + 1
    delta = sym("δ", str(i + 1), l + 1)
    if n.m == 1:
        rhs: Node = delta
        numbers: Node = Num(float(n.at("delta", k + 1)[0, i]), f"δ[{l + 1}][{i + 1}]")
    else:
        rhs = mean_of(delta)
        total = float(np.sum(n.at("delta", k + 1)[:, i]))
        numbers = times(Frac(Num(1.0), Num(float(n.m), "m")), factor(total, f"Σδ[{l}][{i + 1}]"))
    value = float(n.bias_grads[k][i])
    return Step(
        f"db[{l}][{i + 1}]",
        Row(partial(sym("b", str(i + 1), l)), Op("="), rhs),
        numbers,
        value,
        check(
            value,
            n.numeric_grad(f"b{l}", (i,)),
            threshold,
            to_unicode(sym("b", str(i + 1), l)),
            EPSILON,
        ),
    )


# --- 6. the update -------------------------------------------------------------------------------


def update_section(n: WorkedNumbers) -> Section:
    """One step W := W − α ∂J/∂W, b := b − α ∂J/∂b, and the new, lower J."""
    alpha = n.learning_rate
    new_W, new_b = n.net.layout.unpack(np, n.new_params)
    blocks: list[Block] = [
        prose(
            f"One step of gradient descent with α = {alpha:g}, on every weight and bias at once "
            "(the trainer's optimizer, deltaprop.optim.GradientDescent, does this update):"
        ),
        Equation(
            Row(
                *_update(sym("W", "ij", "l")).items,
                Op(","),
                Text("  "),
                *_update(sym("b", "i", "l")).items,
            )
        ),
    ]
    for k, Wk in enumerate(n.W):
        l = k + 1
        for i in range(Wk.shape[0]):
            for j in range(Wk.shape[1]):
                where = key(i + 1, j + 1)
                blocks.append(
                    _update_step(
                        n,
                        f"W[{l}][{where}]",
                        sym("W", idx(i + 1, j + 1), l),
                        float(Wk[i, j]),
                        float(n.weight_grads[k][i, j]),
                        float(new_W[k][i, j]),
                    )
                )
        for i in range(Wk.shape[0]):
            blocks.append(
                _update_step(
                    n,
                    f"b[{l}][{i + 1}]",
                    sym("b", str(i + 1), l),
                    float(n.b[k][i]),
                    float(n.bias_grads[k][i]),
                    float(new_b[k][i]),
                )
            )
    lower = n.new_J < n.J
    blocks.append(
        Step(
            "J_new",
            Row(Sym("J"), Paren(Row(Sym("W"), Op(","), Sym("b"))), Text("after the step")),
            plus(Num(n.new_data, "J_new_data"), Num(n.new_decay, "J_new_decay")),
            n.new_J,
            note=(
                f"lower than the {to_unicode(Num(n.J, 'J'))} before the step"
                if lower
                else f"NOT lower than before ({to_unicode(Num(n.J))}): α = {alpha:g} is too large"
            ),
        )
    )
    return Section("update", "One step of gradient descent", tuple(blocks))


def _update(param: Node) -> Row:
    """θ := θ − α ∂J/∂θ."""
    return Row(param, Op(":="), param, Op("−"), Sym("α"), partial(param))


def _update_step(
    n: WorkedNumbers, of: str, param: Node, old: float, grad: float, new: float
) -> Step:
    """θ := θ − α ∂J/∂θ for one parameter; ``of`` is its key, such as "W[1][1,2]"."""
    return Step(
        of.replace("[", "_new[", 1),
        _update(param),
        Row(
            Num(old, of),
            Op("−"),
            times(Num(n.learning_rate, "α"), factor(grad, "d" + of)),
        ),
        new,
    )
