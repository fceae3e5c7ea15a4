"""Why the ½? Without it the gradient doubles; descent on (J, α) and (2J, α/2) is one path."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._arrays import Array, Namespace
from ...activations import Activation
from ...costs import SquaredError
from ...network import Network
from ...objective import NetworkObjective
from ...training import EpochEnd, train
from ..records import Block, Claim, Section, Table
from .common import array_name, describe, f4, norm, own_network, prose


class SquaredErrorWithoutHalf(SquaredError):
    """J(W,b; x,y) = ‖h_{W,b}(x) − y‖², the seed's cost without its ½.

    Output δ: δ_i⁽ⁿˡ⁾ = −2(y_i − a_i) f′(z_i), the 2 no longer cancelled.
    """

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        r = a - y
        return xp.sum(r * r, axis=1)

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        return act.vjp(xp, z, a, -2.0 * (y - a))


def _params_path(net: Network, X: np.ndarray, Y: np.ndarray, lr: float, steps: int) -> Any:
    """θ after every step of full-batch gradient descent, and the trainer's history.

    Both paths run backprop's readable lines (``engine="reference"``): a cost of one's
    own takes them anyway, and the claim is that the same arithmetic on 2J with α/2
    makes the same steps, bit for bit, which holds only for the same arithmetic.
    """
    path = [np.array(net.params, copy=True)]

    def record(info: EpochEnd) -> None:
        path.append(np.array(info.net.params, copy=True))

    objective = NetworkObjective(net, engine="reference")
    kw: dict[str, Any] = dict(optimizer="gd", learning_rate=lr, epochs=steps, callbacks=[record])
    history = train(objective, X, Y, **kw)
    return np.array(path), history


def why_half(
    seed: int, worked: Network, *, steps: int = 100, learning_rate: float = 1.0
) -> Section:
    """∇ of the cost without ½ is exactly 2∇J, and descent on (J, α) equals (2J, α/2).

    Over 60 lines because it is one experiment read top to bottom: the two
    networks, their gradients, the two descents, then the tables and the claims
    made on those very numbers.
    """
    lam = 1e-3
    rng = np.random.default_rng(seed + 101)
    X, Y = rng.uniform(size=(10, 3)), rng.uniform(size=(10, 2))
    with_half = Network([3, 3, 2], weight_decay=lam, seed=seed)
    without = Network(
        [3, 3, 2],
        cost=SquaredErrorWithoutHalf("squared_error_without_half"),
        weight_decay=2 * lam,
        seed=seed,
    )
    J1, g1 = with_half.cost_and_grad(X, Y)
    J2, g2 = without.cost_and_grad(X, Y)
    factor_error = float(np.max(np.abs(g2 - 2 * g1)) / np.max(np.abs(2 * g1)))
    rows = []
    for name, start, stop, _ in with_half.layout.spans():
        a, b = g1[start:stop], g2[start:stop]
        rows.append(
            (
                array_name(name),
                norm(a),
                norm(b),
                norm(b) / norm(a),
                float(np.max(np.abs(b - 2 * a))),
            )
        )
    grad_table = Table(
        ("parameters", "‖∂J/∂·‖ with ½", "‖∂J′/∂·‖ without ½", "ratio", "max |∇J′ − 2∇J|"),
        tuple(rows),
        f"{describe(with_half)}, {len(X)} random examples, λ = {lam:g} (J′ drops both ½'s: "
        "J′ = (1/m) Σ ‖h − y‖² + λ Σ W² = 2J)",
    )

    path1, h1 = _params_path(with_half.copy(), X, Y, learning_rate, steps)
    path2, h2 = _params_path(without.copy(), X, Y, learning_rate / 2, steps)
    gap = np.max(np.abs(path1 - path2), axis=1)
    J_path1 = [*h1.train_loss, with_half.cost_and_grad(X, Y, params=path1[-1])[0]]
    J_path2 = [*h2.train_loss, without.cost_and_grad(X, Y, params=path2[-1])[0]]
    shown = sorted({0, 1, 2, 5, 10, 20, 50, steps} & set(range(steps + 1)))
    path_table = Table(
        (
            "step t",
            f"J(θₜ), rate α = {learning_rate:g} on J",
            f"J′(θ′ₜ), rate α/2 = {learning_rate / 2:g} on J′",
            "J′/J",
            "max |θₜ − θ′ₜ|",
        ),
        tuple((t, J_path1[t], J_path2[t], J_path2[t] / J_path1[t], float(gap[t])) for t in shown),
        f"{steps} steps of deltaprop.train(optimizer='gd') from the same start",
    )
    identical = bool(np.all(gap == 0.0))
    blocks: list[Block] = [
        own_network(
            with_half,
            worked,
            "Without the ½ every gradient doubles, for any network and any data, so one small "
            "network shows it.",
        ),
        prose(
            "The ½ is there so that differentiating the square does not leave a 2 behind: "
            "d/da ½(a − y)² = (a − y). Without it every gradient is twice as large. Multiplying a "
            "cost by a constant c > 0 does not move its minimum (cJ is smallest where J is), so "
            "the ½ changes nothing that matters: it only rescales the step size."
        ),
        grad_table,
        Claim(
            "The gradient without the ½ is exactly twice the gradient with it.",
            factor_error <= 1e-12,
            f"max |∇J′ − 2∇J| / max |2∇J| = {f4(factor_error)}; J′/J = {J2 / J1!r}",
        ),
        path_table,
        Claim(
            "Gradient descent on J with rate α and on 2J with rate α/2 follow the same path.",
            identical,
            f"largest gap between the two parameter vectors over {steps} steps: "
            f"{f4(float(np.max(gap)))}",
        ),
        Claim(
            "Both runs go downhill together: the ½ does not move the minimiser, it only "
            "rescales the learning rate.",
            J_path1[-1] < J_path1[0] and identical,
            f"J: {f4(J_path1[0])} → {f4(J_path1[-1])}",
        ),
    ]
    return Section("why-half", "Why the ½?", tuple(blocks))
