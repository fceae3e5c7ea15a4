"""Why the weight-decay term? A sweep of λ on a small noisy problem, and the λW it adds."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ...network import Network
from ...training import train
from ..records import Block, Claim, Section, Table
from .common import array_name, describe, f4, norm, own_network, prose


def noisy_curve(rng: np.random.Generator, m: int, noise: float = 0.1) -> tuple[np.ndarray, ...]:
    """m points of y = 0.5 + 0.3 sin(3x) + noise, x uniform in [−1, 1]."""
    x = rng.uniform(-1.0, 1.0, size=(m, 1))
    return x, 0.5 + 0.3 * np.sin(3.0 * x) + rng.normal(scale=noise, size=(m, 1))


def why_weight_decay(
    seed: int,
    worked: Network,
    *,
    lambdas: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3, 1e-2),
    m_train: int = 12,
    iterations: int = 500,
) -> Section:
    """Train and test error and ‖W‖ for several λ on a small noisy data set.

    Over 60 lines because it is one experiment read top to bottom: the fits for
    each λ, the measured λW term, then the tables and the claims made on those
    very numbers.
    """
    rng = np.random.default_rng(seed + 303)
    X, Y = noisy_curve(rng, m_train)
    X_test, Y_test = noisy_curve(rng, 400)
    rows = []
    nets = []
    for lam in lambdas:
        net = Network([1, 20, 1], output_activation="identity", weight_decay=lam, seed=seed)
        train(net, X, Y, optimizer="lbfgs", epochs=iterations)
        train_err = net.cost_terms(X, Y)[0]
        test_err = net.cost_terms(X_test, Y_test)[0]
        w_norm = math.sqrt(sum(float(np.sum(w * w)) for w in net.W))
        b_norm = math.sqrt(sum(float(np.sum(v * v)) for v in net.b))
        rows.append((lam, train_err, test_err, w_norm, b_norm))
        nets.append(net)
    table = Table(
        ("λ", "train error", "test error", "‖W‖", "‖b‖"),
        tuple(rows),
        f"{describe(nets[0])}, fitted by L-BFGS "
        f"({iterations} iterations) to {m_train} noisy points of y = 0.5 + 0.3 sin(3x); "
        "errors are the data term (1/m) Σ ½(h − y)² on the training points and on 400 new ones",
    )
    test = [r[2] for r in rows]
    best = int(np.argmin(test))
    lam_best = lambdas[best]
    w_norms = [r[3] for r in rows]

    # The extra gradient term, measured: ∇J(λ) − ∇J(0) = λW for weights, 0 for biases.
    lam_demo = lam_best if lam_best > 0 else 1e-3
    with_decay = Network([1, 20, 1], output_activation="identity", weight_decay=lam_demo, seed=seed)
    without = Network([1, 20, 1], output_activation="identity", weight_decay=0.0, seed=seed)
    g_l = with_decay.cost_and_grad(X, Y)[1]
    g_0 = without.cost_and_grad(X, Y)[1]
    diff_rows = []
    worst_w, worst_b = 0.0, 0.0
    for name, start, stop, _ in with_decay.layout.spans():
        diff = g_l[start:stop] - g_0[start:stop]
        if name.startswith("W"):
            expected = lam_demo * with_decay.params[start:stop]
            err = float(np.max(np.abs(diff - expected)) / np.max(np.abs(expected)))
            worst_w = max(worst_w, err)
            diff_rows.append((array_name(name), norm(diff), norm(expected), err))
        else:
            worst_b = max(worst_b, float(np.max(np.abs(diff))))
            diff_rows.append((array_name(name), norm(diff), 0.0, float(np.max(np.abs(diff)))))
    diff_table = Table(
        ("parameters", "‖∇J(λ) − ∇J(0)‖", "‖λW‖ (0 for biases)", "max relative difference"),
        tuple(diff_rows),
        f"the same network at its initial weights, λ = {lam_demo:g}",
    )
    blocks: list[Block] = [
        own_network(
            nets[0],
            worked,
            f"Overfitting needs many weights and few noisy examples; this network and "
            f"{m_train} points of a noisy curve are chosen so that it shows.",
        ),
        prose(
            "With few examples and many weights, a network can thread its output through every "
            "noisy training point by growing large weights: the training error falls, the error "
            "on new data rises. The term (λ/2) Σ W² charges for large weights, so the fit has to "
            "earn every unit of ‖W‖ by reducing the data term."
        ),
        table,
        Claim(
            "Without weight decay the network overfits: the lowest training error, not the lowest "
            "test error.",
            int(np.argmin([r[1] for r in rows])) == 0 and best != 0,
            f"λ = 0: train {f4(rows[0][1])}, test {f4(rows[0][2])}",
        ),
        Claim(
            "A suitable λ gives a lower test error than λ = 0.",
            test[best] < test[0] and lam_best > 0,
            f"λ = {lam_best:g}: test {f4(test[best])} against {f4(test[0])} at λ = 0",
        ),
        Claim(
            "The weights shrink as λ grows.",
            all(b <= a for a, b in itertools.pairwise(w_norms)),
            "‖W‖: " + ", ".join(f4(w) for w in w_norms),
        ),
        prose(
            "The term's derivative is the extra λW in ∂J/∂W: ∂/∂W_ij (λ/2) Σ W² = λ W_ij, since "
            "only the W_ij² term depends on W_ij and the ½ cancels the 2. Measured on the "
            "trainer's gradients:"
        ),
        diff_table,
        Claim(
            "∇J(λ) − ∇J(0) is λW for the weights and exactly 0 for the biases.",
            worst_w <= 1e-10 and worst_b == 0.0,
            f"weights: max relative difference {f4(worst_w)}; biases: {f4(worst_b)}",
        ),
        prose(
            "Biases are not decayed. A bias only shifts where a unit switches on; it multiplies no "
            "input, so a large bias cannot make the output swing with small changes of x, which is "
            "what overfitting looks like. Decaying it would pull each unit towards f(0) (0.5 for "
            "the sigmoid) and bias the fit for no gain; UFLDL leaves biases out, noting that "
            "including them usually makes only a small difference."
        ),
    ]
    return Section("why-decay", "Why the weight-decay term?", tuple(blocks))
