"""The seed's questions, answered by short seeded runs whose numbers are shown.

Three of them (why ½, why the average, why weight decay) build networks of
their own, fixed whatever network the worked example uses, and say so in their
first paragraph; the fourth checks δ on the worked example's network and on a
deeper one.

Each ``why_*`` function builds its own small problem from ``seed``, runs it
with the trainer's functions (``Network.cost_and_grad``, ``deltaprop.train``,
``deltaprop.gradcheck``) and returns a :class:`~.records.Section` whose tables
hold the numbers and whose claims say what those numbers show. A claim is
computed from the numbers, never assumed: if a run does not bear it out, the
claim is marked ✗.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .. import gradcheck
from .._arrays import Array, Namespace
from ..activations import Activation
from ..costs import SquaredError
from ..network import Network
from ..training import EpochEnd, TrainingDiverged, train
from .notation import Sym, fmt_number, subscripts, to_unicode
from .records import Block, Claim, Prose, Section, Table


class SquaredErrorWithoutHalf(SquaredError):
    """J(W,b; x,y) = ‖h_{W,b}(x) − y‖², the seed's cost without its ½.

    Output δ: δ_i⁽ⁿˡ⁾ = −2(y_i − a_i) f′(z_i), the 2 no longer cancelled.
    """

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        r = a - y
        return xp.sum(r * r, axis=1)

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        return act.vjp(xp, z, a, -2.0 * (y - a))


def _prose(text: str) -> Prose:
    return Prose(subscripts(text))


def describe(net: Network) -> str:
    """The network in words, read from the network itself.

    >>> describe(Network([2, 4, 1], activation="tanh"))
    'a 2-4-1 network with tanh hidden units and a sigmoid output'
    """
    hidden, out = net.activation.name, net.output_activation.name
    shape = "-".join(map(str, net.layer_sizes))
    an_out = ("an " if out[0] in "aeiou" else "a ") + out
    if net.n_layers == 2:
        return f"a {shape} network with {an_out} output"
    if hidden == out:
        return f"a {shape} network with {hidden} units throughout"
    return f"a {shape} network with {hidden} hidden units and {an_out} output"


def _own_network(net: Network, worked: Network, reason: str) -> Prose:
    """Says plainly that an experiment runs on a network of its own, and which."""
    own, theirs = describe(net), describe(worked)
    here = "one of the same shape" if own == theirs else theirs
    return _prose(
        f"This experiment runs on a network of its own, {own}, whatever network the worked "
        f"example uses (here {here}). {reason}"
    )


def _array_name(name: str) -> str:
    """ "W1" -> "W⁽¹⁾"."""
    return to_unicode(Sym(name[0], "", f"({name[1:]})"))


def _f(x: float) -> str:
    return fmt_number(x, 4)


def _norm(g: np.ndarray) -> float:
    return float(np.linalg.norm(g))


def _params_path(net: Network, X: np.ndarray, Y: np.ndarray, lr: float, steps: int) -> Any:
    """θ after every step of full-batch gradient descent, and the trainer's history."""
    path = [np.array(net.params, copy=True)]

    def record(info: EpochEnd) -> None:
        path.append(np.array(info.net.params, copy=True))

    history = train(net, X, Y, optimizer="gd", learning_rate=lr, epochs=steps, callbacks=[record])
    return np.array(path), history


# --- why ½ ---------------------------------------------------------------------------------------


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
                _array_name(name),
                _norm(a),
                _norm(b),
                _norm(b) / _norm(a),
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
        _own_network(
            with_half,
            worked,
            "Without the ½ every gradient doubles, for any network and any data, so one small "
            "network shows it.",
        ),
        _prose(
            "The ½ is there so that differentiating the square does not leave a 2 behind: "
            "d/da ½(a − y)² = (a − y). Without it every gradient is twice as large. Multiplying a "
            "cost by a constant c > 0 does not move its minimum (cJ is smallest where J is), so "
            "the ½ changes nothing that matters: it only rescales the step size."
        ),
        grad_table,
        Claim(
            "The gradient without the ½ is exactly twice the gradient with it.",
            factor_error <= 1e-12,
            f"max |∇J′ − 2∇J| / max |2∇J| = {_f(factor_error)}; J′/J = {J2 / J1!r}",
        ),
        path_table,
        Claim(
            "Gradient descent on J with rate α and on 2J with rate α/2 follow the same path.",
            identical,
            f"largest gap between the two parameter vectors over {steps} steps: "
            f"{_f(float(np.max(gap)))}",
        ),
        Claim(
            "Both runs go downhill together: the ½ does not move the minimiser, it only "
            "rescales the learning rate.",
            J_path1[-1] < J_path1[0] and identical,
            f"J: {_f(J_path1[0])} → {_f(J_path1[-1])}",
        ),
    ]
    return Section("why-half", "Why the ½?", tuple(blocks))


# --- why the average -----------------------------------------------------------------------------


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
        mean_norms.append(_norm(g))
        sum_norms.append(_norm(g_sum))
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
        _own_network(
            net,
            worked,
            "How the gradient's size grows with m does not depend on the network; one fixed "
            f"network keeps the runs comparable from m = {sizes[0]} to m = {m_max}.",
        ),
        _prose(
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
            f"relative difference {_f(literal_error)}",
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


# --- why weight decay ----------------------------------------------------------------------------


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
            diff_rows.append((_array_name(name), _norm(diff), _norm(expected), err))
        else:
            worst_b = max(worst_b, float(np.max(np.abs(diff))))
            diff_rows.append((_array_name(name), _norm(diff), 0.0, float(np.max(np.abs(diff)))))
    diff_table = Table(
        ("parameters", "‖∇J(λ) − ∇J(0)‖", "‖λW‖ (0 for biases)", "max relative difference"),
        tuple(diff_rows),
        f"the same network at its initial weights, λ = {lam_demo:g}",
    )
    blocks: list[Block] = [
        _own_network(
            nets[0],
            worked,
            f"Overfitting needs many weights and few noisy examples; this network and "
            f"{m_train} points of a noisy curve are chosen so that it shows.",
        ),
        _prose(
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
            f"λ = 0: train {_f(rows[0][1])}, test {_f(rows[0][2])}",
        ),
        Claim(
            "A suitable λ gives a lower test error than λ = 0.",
            test[best] < test[0] and lam_best > 0,
            f"λ = {lam_best:g}: test {_f(test[best])} against {_f(test[0])} at λ = 0",
        ),
        Claim(
            "The weights shrink as λ grows.",
            all(b <= a for a, b in itertools.pairwise(w_norms)),
            "‖W‖: " + ", ".join(_f(w) for w in w_norms),
        ),
        _prose(
            "The term's derivative is the extra λW in ∂J/∂W: ∂/∂W_ij (λ/2) Σ W² = λ W_ij, since "
            "only the W_ij² term depends on W_ij and the ½ cancels the 2. Measured on the "
            "trainer's gradients:"
        ),
        diff_table,
        Claim(
            "∇J(λ) − ∇J(0) is λW for the weights and exactly 0 for the biases.",
            worst_w <= 1e-10 and worst_b == 0.0,
            f"weights: max relative difference {_f(worst_w)}; biases: {_f(worst_b)}",
        ),
        _prose(
            "Biases are not decayed. A bias only shifts where a unit switches on; it multiplies no "
            "input, so a large bias cannot make the output swing with small changes of x, which is "
            "what overfitting looks like. Decaying it would pull each unit towards f(0) (0.5 for "
            "the sigmoid) and bias the fit for no gain; UFLDL leaves biases out, noting that "
            "including them usually makes only a small difference."
        ),
    ]
    return Section("why-decay", "Why the weight-decay term?", tuple(blocks))


# --- is δ really ∂J/∂z? --------------------------------------------------------------------------


def why_delta(
    seed: int, worked: Network, x: np.ndarray, y: np.ndarray, threshold: float
) -> Section:
    """δ against perturbation for every unit: the worked example and a deeper network."""
    rng = np.random.default_rng(seed + 404)
    deep = Network([4, 5, 5, 3], seed=seed)
    X, Y = rng.uniform(size=(5, 4)), rng.uniform(size=(5, 3))
    deep_checks = gradcheck.check_deltas(deep, X, Y)
    worked_checks = gradcheck.check_deltas(worked, x, y)
    rows = []
    for label, checks in (("worked example", worked_checks), ("4-5-5-3, 5 examples", deep_checks)):
        for c in checks:
            rows.append((label, c.layer, int(c.delta.size), c.relative_error))
    worst = max(r[3] for r in rows)
    return Section(
        "why-delta",
        "Is δ really ∂J/∂z?",
        (
            _prose(
                "δ_i⁽ˡ⁾ is defined as ∂J(W,b; x,y)/∂z_i⁽ˡ⁾, and the recursion is supposed to "
                "compute exactly that. To test it, move one z_i⁽ˡ⁾ of one example by ±ε alone, "
                "finish the forward pass from that layer, and divide the change in that example's "
                "cost by 2ε (deltaprop.gradcheck.check_deltas). Every unit of every layer, in the "
                f"worked example's own network ({describe(worked)}) and in a deeper one "
                f"({describe(deep)}, {len(X)} random examples):"
            ),
            Table(
                ("network", "layer l", "units × examples", "relative difference ‖δ − δ̂‖/‖δ + δ̂‖"),
                tuple(rows),
                "",
            ),
            Claim(
                f"δ from the recursion equals ∂J/∂z measured by perturbation (relative difference "
                f"below {fmt_number(threshold, 2)}) for every unit.",
                worst < threshold,
                f"largest relative difference {_f(worst)}",
            ),
        ),
    )


def all_experiments(
    seed: int, worked: Network, x: np.ndarray, y: np.ndarray, threshold: float
) -> list[Section]:
    """The four questions, in the seed's order; ``worked`` is the worked example's network."""
    return [
        why_half(seed, worked),
        why_average(seed, worked),
        why_weight_decay(seed, worked),
        why_delta(seed, worked, x, y, threshold),
    ]
