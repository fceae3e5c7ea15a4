"""``deltaprop explain``'s four questions, asked of the network on screen and its data.

explain's own experiments (``deltaprop.explain.experiments``) build small networks
of their own; here each question is put to the session's network, at its current
weights, on its training set, and answered with the same records (tables and
claims computed from the numbers, ✗ where they do not bear the claim out):

- why ½: the cost without ½ (explain's ``SquaredErrorWithoutHalf``) has exactly
  twice the gradient, and descent on (J, α) and (2J, α/2) takes the same path;
- why the average: the summed cost's gradient grows with m, the mean's does not;
- why weight decay: ∇J(λ) − ∇J(0) is λW on the weights and 0 on the biases;
- δ = ∂J/∂z: explain's ``why_delta`` on this network and these examples.
"""

from __future__ import annotations

import numpy as np

from ..explain.experiments import SquaredErrorWithoutHalf, describe, why_delta
from ..explain.records import Claim, Prose, Section, Table
from ..network import Network
from ..optim.gd import GradientDescent

EXPERIMENTS = ("why-half", "why-average", "why-decay", "why-delta")


def _twin(net: Network, **changes: object) -> Network:
    """A network like ``net`` (same sizes, activations, θ) with some settings changed."""
    settings: dict[str, object] = {
        "activation": net.activation,
        "output_activation": net.output_activation,
        "cost": net.cost,
        "weight_decay": net.weight_decay,
    }
    settings.update(changes)
    twin = Network(list(net.layer_sizes), **settings)  # type: ignore[arg-type]
    twin.params = np.array(net.params, copy=True)
    return twin


def _norm(g: np.ndarray) -> float:
    return float(np.linalg.norm(g))


def why_half(net: Network, X: np.ndarray, Y: np.ndarray, steps: int = 20) -> Section:
    """∇J′ = 2∇J for J′ without the ½, and the same descent path at half the rate."""
    with_half = _twin(net, cost="squared_error", output_activation=net.output_activation)
    without = _twin(
        net,
        cost=SquaredErrorWithoutHalf("squared_error_without_half"),
        weight_decay=2 * net.weight_decay,
    )
    J1, g1 = with_half.cost_and_grad(X, Y)
    J2, g2 = without.cost_and_grad(X, Y)
    factor = float(np.max(np.abs(g2 - 2 * g1)) / max(np.max(np.abs(2 * g1)), 1e-300))
    gd = GradientDescent()
    t1, t2 = np.array(with_half.params), np.array(without.params)
    rows, gaps = [], []
    for t in range(steps + 1):
        j1, d1 = with_half.cost_and_grad(X, Y, params=t1)
        j2, d2 = without.cost_and_grad(X, Y, params=t2)
        gaps.append(float(np.max(np.abs(t1 - t2))))
        if t in (0, 1, 2, 5, 10, steps):
            rows.append((t, j1, j2, j2 / j1, gaps[-1]))
        gd.update(np, t1, d1, {}, 0.1)
        gd.update(np, t2, d2, {}, 0.05)
    return Section(
        "why-half",
        "Why the ½? (on this network)",
        (
            Prose(
                f"On {describe(net)} at its current weights and its {len(X)} training examples, "
                "with the cost ½‖h − y‖² and with ‖h − y‖² (and 2λ), whatever cost the run uses."
            ),
            Table(
                ("step t", "J, rate 0.1", "J′ = 2J, rate 0.05", "J′/J", "max |θₜ − θ′ₜ|"),
                tuple(rows),
                f"{steps} steps of gradient descent (optim.gd) from the same θ",
            ),
            Claim(
                "The gradient without the ½ is exactly twice the gradient with it.",
                factor <= 1e-12,
                f"max |∇J′ − 2∇J| / max |2∇J| = {factor:.3g}; J′/J = {J2 / J1:.15g}",
            ),
            Claim(
                "Descent on J at rate α and on 2J at rate α/2 follows the same path.",
                max(gaps) <= 1e-12,
                f"largest gap over {steps} steps: {max(gaps):.3g}",
            ),
        ),
    )


def why_average(net: Network, X: np.ndarray, Y: np.ndarray) -> Section:
    """‖∇ mean‖ stays put as m grows; ‖∇ sum‖ = m ‖∇ mean‖ grows with it."""
    m_all = len(X)
    sizes = sorted({max(1, m_all // 8), max(1, m_all // 4), max(1, m_all // 2), m_all})
    rows, means = [], []
    for m in sizes:
        g = net.cost_and_grad(X[:m], Y[:m])[1]
        means.append(_norm(g))
        rows.append((m, means[-1], m * means[-1]))
    spread = max(means) / min(means) if min(means) > 0 else float("inf")
    growth = (sizes[-1] * means[-1]) / (sizes[0] * means[0]) if means[0] > 0 else float("nan")
    return Section(
        "why-average",
        "Why the average over m? (on this network)",
        (
            Prose(
                f"The gradient of {describe(net)} on the first m of its {m_all} training examples: "
                "the trainer's J averages the examples' costs; the sum would be m times it."
            ),
            Table(("m", "‖∇ (1/m) Σₖ Jₖ‖", "‖∇ Σₖ Jₖ‖"), tuple(rows), ""),
            Claim(
                "The mean's gradient stays within a factor 3 as m grows; the sum's grows with m.",
                spread < 3 and growth > sizes[-1] / sizes[0] / 3,
                f"mean: largest/smallest = {spread:.3g}; sum grew {growth:.3g}× while m grew "
                f"{sizes[-1] / sizes[0]:.3g}×",
            ),
        ),
    )


def why_decay(net: Network, X: np.ndarray, Y: np.ndarray) -> Section:
    """∇J(λ) − ∇J(0) = λW on the weights, 0 on the biases, at this network's θ."""
    lam = net.weight_decay or 1e-3
    g_lam = _twin(net, weight_decay=lam).cost_and_grad(X, Y)[1]
    g_0 = _twin(net, weight_decay=0.0).cost_and_grad(X, Y)[1]
    n_w = net.layout.n_weights
    theta = np.asarray(net.params)
    worst_w = float(np.max(np.abs((g_lam - g_0)[:n_w] - lam * theta[:n_w])))
    worst_b = float(np.max(np.abs((g_lam - g_0)[n_w:]))) if net.n_params > n_w else 0.0
    sq = float(sum(np.sum(w * w) for w in net.W))
    return Section(
        "why-decay",
        "Why the weight-decay term? (on this network)",
        (
            Prose(
                f"(λ/2) Σ W² adds λW to ∂J/∂W and nothing to ∂J/∂b, pulling every weight "
                f"towards 0 at each step. Measured on {describe(net)} at λ = {lam:g}:"
            ),
            Table(
                ("λ", "(λ/2) Σ W²", "max |Δ∂J/∂W − λW|", "max |Δ∂J/∂b|"),
                ((lam, lam / 2 * sq, worst_w, worst_b),),
                "Δ = ∇J(λ) − ∇J(0), both by Network.cost_and_grad",
            ),
            Claim(
                "Weight decay adds exactly λW to the weights' gradient and nothing to the biases'.",
                worst_w <= 1e-12 * max(1.0, lam * float(np.max(np.abs(theta[:n_w]))))
                and worst_b <= 1e-12,
                f"largest differences {worst_w:.3g} (weights), {worst_b:.3g} (biases)",
            ),
        ),
    )


def run(name: str, net: Network, X: np.ndarray, Y: np.ndarray, seed: int) -> Section:
    """The experiment ``name`` (one of :data:`EXPERIMENTS`) on ``net`` and up to 50 examples."""
    X, Y = X[:50], Y[:50]
    if name == "why-half":
        return why_half(net, X, Y)
    if name == "why-average":
        return why_average(net, X, Y)
    if name == "why-decay":
        return why_decay(net, X, Y)
    if name == "why-delta":
        return why_delta(seed, net, X[:10], Y[:10], 1e-6)
    raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}, got {name!r}")
