"""Why the average over m? The summed cost's gradient grows with m; the mean's does not."""

from __future__ import annotations

import math

import numpy as np

from ...network import Network
from ...training import TrainingDiverged, train
from ..records import Block, Claim, Section, Table
from .common import describe, f4, norm, own_network, prose


def why_average(
    seed: int,
    worked: Network,
    *,
    sizes: tuple[int, ...] = (10, 100, 1000, 10000),
    steps: int = 50,
    learning_rate: float = 0.1,
) -> Section:
    """The summed cost's gradient grows with m; the mean's does not.

    Over 60 lines because it is one experiment read top to bottom: gradient
    norms for each m, the literal sum, descent on the mean and on the sum, then
    the tables and the claims made on those very numbers.
    """
    rng = np.random.default_rng(seed + 202)
    teacher = Network([3, 3, 2], output_activation="identity", seed=seed + 7)
    m_max = max(sizes)
    X = rng.uniform(size=(m_max, 3))
    Y = teacher.predict(X) + rng.normal(scale=0.05, size=(m_max, 2))
    net = Network([3, 3, 2], output_activation="identity", seed=seed)

    norm_rows = []
    mean_norms, sum_norms = [], []
    for m in sizes:
        _, g = net.cost_and_grad(X[:m], Y[:m])
        g_sum = m * g  # ∇ Σ_k J_k: the trainer's J is that sum divided by m
        mean_norms.append(norm(g))
        sum_norms.append(norm(g_sum))
        norm_rows.append((m, mean_norms[-1], sum_norms[-1], sum_norms[-1] / m))
    norm_table = Table(
        ("m", "‖∇ (1/m) Σₖ J(W,b;x⁽ᵏ⁾,y⁽ᵏ⁾)‖", "‖∇ Σₖ J(W,b;x⁽ᵏ⁾,y⁽ᵏ⁾)‖", "ratio sum/m"),
        tuple(norm_rows),
        f"{describe(net)} at its initial weights, on the first m examples of one noisy data set",
    )
    # The sum, taken literally: one example at a time, for the smallest m.
    m0 = sizes[0]
    one_by_one = np.zeros(net.n_params)
    for k in range(m0):
        one_by_one += net.cost_and_grad(X[k : k + 1], Y[k : k + 1])[1]
    _, g0 = net.cost_and_grad(X[:m0], Y[:m0])
    literal_error = float(np.max(np.abs(one_by_one - m0 * g0)) / np.max(np.abs(one_by_one)))
    slope = float(np.polyfit(np.log(sizes), np.log(sum_norms), 1)[0])
    spread = max(mean_norms) / min(mean_norms)

    run_rows = []
    mean_ok, sum_fails = [], []
    for m in sizes:
        start = net.cost_and_grad(X[:m], Y[:m])[0]
        mean_net = net.copy()
        train(mean_net, X[:m], Y[:m], optimizer="gd", learning_rate=learning_rate, epochs=steps)
        end_mean = mean_net.cost_and_grad(X[:m], Y[:m])[0]
        sum_net = net.copy()
        try:  # α on ∇ΣJ = mα on ∇J
            train(
                sum_net, X[:m], Y[:m], optimizer="gd", learning_rate=learning_rate * m, epochs=steps
            )
            with np.errstate(over="ignore", invalid="ignore"):
                end_sum: float | str = sum_net.cost_and_grad(X[:m], Y[:m])[0]
        except TrainingDiverged as exc:
            end_sum = f"overflow at step {len(exc.history) + 1}"
        failed = isinstance(end_sum, str) or not math.isfinite(end_sum) or end_sum >= start
        mean_ok.append(end_mean < start)
        sum_fails.append(failed)
        run_rows.append((m, start, end_mean, end_sum))
    run_table = Table(
        (
            "m",
            "J at the start",
            f"J after {steps} steps on the mean",
            f"J after {steps} steps on the sum",
        ),
        tuple(run_rows),
        f"gradient descent with the same α = {learning_rate:g} on (1/m)ΣJ and on ΣJ "
        f"(a step on the sum is a step of mα on the mean)",
    )
    first_fail = next((m for m, bad in zip(sizes, sum_fails, strict=True) if bad), None)
    blocks: list[Block] = [
        own_network(
            net,
            worked,
            "How the gradient's size grows with m does not depend on the network; one fixed "
            f"network keeps the runs comparable from m = {sizes[0]} to m = {m_max}.",
        ),
        prose(
            "Averaging does not change where the minimum is (the mean is the sum times 1/m). What "
            "it changes is the size of the gradient: the sum adds one gradient per example, so it "
            "grows in proportion to m, while the mean settles to the expected per-example "
            "gradient. A learning rate chosen for the mean therefore works whatever m is; on the "
            "sum the same rate takes m times larger steps."
        ),
        norm_table,
        Claim(
            "The gradient of the summed cost grows linearly with m.",
            0.9 <= slope <= 1.1,
            f"slope of log ‖∇ΣJ‖ against log m: {slope:.3f}",
        ),
        Claim(
            "The gradient of the mean cost does not grow with m.",
            spread < 2.0,
            f"largest / smallest ‖∇(1/m)ΣJ‖: {spread:.3f}",
        ),
        Claim(
            f"Summing the m = {m0} per-example gradients one by one gives m times the gradient "
            "of the mean.",
            literal_error <= 1e-12,
            f"relative difference {f4(literal_error)}",
        ),
        run_table,
        Claim(
            "A rate that works for the mean at every m makes descent on the sum fail at large m.",
            all(mean_ok) and sum_fails[-1],
            "the mean's J went down at every m; the sum's went up or overflowed from m = "
            f"{first_fail}"
            if first_fail is not None
            else "the sum never failed",
        ),
    ]
    return Section("why-average", "Why the average over m?", tuple(blocks))
