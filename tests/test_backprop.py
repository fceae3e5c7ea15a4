"""Backpropagation against hand arithmetic, finite differences and independent autodiff."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import backprop
from deltaprop.activations import Activation, sigmoid

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"]
COSTS = ["squared_error", "cross_entropy", "binary_cross_entropy"]


def output_for(cost: str, act: str) -> str:
    """The output activation each cost is tested with."""
    if cost == "cross_entropy":
        return "softmax"
    if cost == "binary_cross_entropy":
        return "sigmoid"
    return "identity" if act in ("relu", "leaky_relu") else act  # regression, 3 outputs


def targets(cost: str, rng: np.random.Generator, m: int, k: int) -> np.ndarray:
    if cost == "cross_entropy":
        return np.eye(k)[rng.integers(0, k, size=m)]
    return rng.uniform(size=(m, k))


def away_from_kinks(net: dp.Network, X: np.ndarray, margin: float = 1e-3) -> bool:
    """True if no hidden z is within ``margin`` of relu's kink at 0."""
    trace = net.forward(X)
    return all(np.min(np.abs(z)) > margin for z in trace.z[1:-1])


def make_case(act: str, cost: str, lam: float, depth: int, seed: int):
    sizes = [5] + [6] * depth + [3]
    net = dp.Network(
        sizes,
        activation=act,
        output_activation=output_for(cost, act),
        cost=cost,
        weight_decay=lam,
        seed=seed,
    )
    rng = np.random.default_rng(seed + 100)
    for _ in range(100):
        X = rng.normal(size=(7, 5))
        if act not in ("relu", "leaky_relu") or away_from_kinks(net, X):
            break
    else:  # pragma: no cover - the search above always succeeds at these sizes
        raise AssertionError("no data away from relu's kink found")
    net.b[0][...] = rng.normal(scale=0.1, size=net.b[0].shape)  # non-zero biases too
    return net, X, targets(cost, rng, 7, 3)


# --- the golden example, worked by hand ----------------------------------------------------
#
# The well-known 2-2-2 sigmoid network (Mazur, "A Step by Step Backpropagation Example"):
# inputs x = (0.05, 0.10), targets y = (0.01, 0.99).
# W⁽¹⁾ = [[w1, w2], [w3, w4]] = [[0.15, 0.20], [0.25, 0.30]], b⁽¹⁾ = (0.35, 0.35)
# W⁽²⁾ = [[w5, w6], [w7, w8]] = [[0.40, 0.45], [0.50, 0.55]], b⁽²⁾ = (0.60, 0.60)
#
# z₁⁽²⁾ = 0.15·0.05 + 0.20·0.10 + 0.35 = 0.3775      a₁⁽²⁾ = σ(0.3775) = 0.593269992
# z₂⁽²⁾ = 0.25·0.05 + 0.30·0.10 + 0.35 = 0.3925      a₂⁽²⁾ = σ(0.3925) = 0.596884378
# z₁⁽³⁾ = 0.40·0.593269992 + 0.45·0.596884378 + 0.60 = 1.105905967,  a₁⁽³⁾ = 0.75136507
# z₂⁽³⁾ = 0.50·0.593269992 + 0.55·0.596884378 + 0.60 = 1.224921404,  a₂⁽³⁾ = 0.772928465
# J = ½(0.01 − 0.75136507)² + ½(0.99 − 0.772928465)² = 0.274811083 + 0.023560026 = 0.298371109
#
# δ₁⁽³⁾ = −(y₁ − a₁) f′(z₁) = −(0.01 − 0.75136507) · 0.75136507 · (1 − 0.75136507)
#       = 0.74136507 · 0.186815602 = 0.138498562
# ∂J/∂w5 = ∂J/∂W₁₁⁽²⁾ = a₁⁽²⁾ δ₁⁽³⁾ = 0.593269992 · 0.138498562 = 0.082167041
# ∂J/∂w1 = ∂J/∂W₁₁⁽¹⁾ = x₁ δ₁⁽²⁾ = 0.000438568, where δ₁⁽²⁾ = (w5 δ₁⁽³⁾ + w7 δ₂⁽³⁾) f′(z₁⁽²⁾)
# With α = 0.5: w5 := 0.40 − 0.5 · 0.082167041 = 0.35891648, w1 := 0.149780716.


@pytest.fixture
def golden() -> tuple[dp.Network, np.ndarray, np.ndarray]:
    net = dp.Network([2, 2, 2], activation="sigmoid", output_activation="sigmoid", seed=0)
    net.W[0][...] = [[0.15, 0.20], [0.25, 0.30]]
    net.b[0][...] = 0.35
    net.W[1][...] = [[0.40, 0.45], [0.50, 0.55]]
    net.b[1][...] = 0.60
    return net, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])


def test_golden_forward_and_cost(golden):
    net, x, y = golden
    trace = net.forward(x)
    np.testing.assert_allclose(trace.z[1], [[0.3775, 0.3925]], rtol=1e-12)
    np.testing.assert_allclose(trace.a[1], [[0.593269992, 0.596884378]], atol=1e-9)
    np.testing.assert_allclose(trace.a[2], [[0.75136507, 0.772928465]], atol=1e-8)
    J, _ = net.cost_and_grad(x, y)
    assert J == pytest.approx(0.298371109, abs=1e-9)
    assert net.cost_terms(x, y) == (pytest.approx(0.298371109, abs=1e-9), 0.0)


def test_golden_deltas_and_gradients(golden):
    net, x, y = golden
    trace = net.forward(x)
    f = net.activations
    delta = backprop.backward(
        net.xp, net.W, f, trace, backprop.output_delta(net.xp, net.cost, f[-1], trace, y)
    )
    assert delta[2][0, 0] == pytest.approx(0.138498562, abs=1e-9)
    _, grad = net.cost_and_grad(x, y)
    dW, _ = net.unpack(grad)
    assert dW[1][0, 0] == pytest.approx(0.082167041, abs=1e-9)  # ∂J/∂w5
    assert dW[0][0, 0] == pytest.approx(0.000438568, abs=1e-9)  # ∂J/∂w1
    # One step of the seed's W := W − α ∂J/∂W with α = 0.5.
    new = net.params - 0.5 * grad
    W_new, _ = net.unpack(new)
    assert W_new[1][0, 0] == pytest.approx(0.35891648, abs=1e-8)
    assert W_new[0][0, 0] == pytest.approx(0.149780716, abs=1e-9)


# --- gradient checks over the whole grid ------------------------------------------------------


@pytest.mark.parametrize("act,cost", list(itertools.product(ACTS, COSTS)))
def test_gradient_check_every_activation_cost_decay_depth(act, cost):
    # ε = 1e-5 rather than UFLDL's 1e-4: with unit-scale inputs the O(ε²) truncation
    # error of the central difference alone reaches ~7e-9 for tanh at ε = 1e-4.
    for lam, depth in itertools.product([0.0, 1e-3, 0.1], [1, 2, 3, 4]):
        net, X, Y = make_case(act, cost, lam, depth, seed=depth)
        res = dp.check_gradient(net, X, Y, epsilon=1e-5)
        assert res.relative_error < 1e-9, (act, cost, lam, depth, res.relative_error)
        assert res.ok, [(p.name, p.relative_error) for p in res.per_layer]


def test_ufldl_autoencoder_size_passes_at_ufldl_epsilon():
    # The acceptance figure: 64-25-64 sigmoid, λ = 1e-4, 10 random examples, ε = 1e-4.
    net = dp.Network([64, 25, 64], weight_decay=1e-4, seed=0)
    X = np.random.default_rng(0).uniform(size=(10, 64))
    res = dp.check_gradient(net, X, X)
    assert res.n_checked == net.n_params == 3289
    assert res.relative_error < 1e-9
    assert res.ok


def test_subset_checks_at_most_max_coords_per_array_and_is_seeded():
    net = dp.Network([20, 30, 4], seed=0)
    X = np.random.default_rng(1).uniform(size=(5, 20))
    Y = np.random.default_rng(2).uniform(size=(5, 4))
    a = dp.check_gradient(net, X, Y, max_coords=7, seed=3)
    b = dp.check_gradient(net, X, Y, max_coords=7, seed=3)
    assert [p.n_checked for p in a.per_layer] == [7, 7, 7, 4]
    np.testing.assert_array_equal(a.indices, b.indices)
    assert a.ok


def test_planted_wrong_derivative_is_caught():
    # f′ off by 1 %: backprop's gradient is then wrong, and the check must say so.
    wrong = Activation("sigmoid", sigmoid.f, lambda xp, z, a: 1.01 * a * (1.0 - a))
    net = dp.Network([4, 5, 3], activation=wrong, output_activation=wrong, seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(size=(6, 4)), rng.uniform(size=(6, 3))
    res = dp.check_gradient(net, X, Y)
    assert not res.ok
    assert res.relative_error > 1e-4
    assert not all(p.ok for p in res.per_layer)
    bad_deltas = dp.check_deltas(net, X, Y)
    assert max(d.relative_error for d in bad_deltas) > 1e-4


def test_gradient_check_leaves_network_unchanged():
    net, X, Y = make_case("tanh", "squared_error", 1e-3, 2, seed=0)
    before = net.params.copy()
    dp.check_gradient(net, X, Y)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize(
    "act,cost",
    [
        ("sigmoid", "squared_error"),
        ("tanh", "cross_entropy"),
        ("softplus", "binary_cross_entropy"),
        ("relu", "squared_error"),
    ],
)
def test_delta_is_dJ_dz_for_every_layer(act, cost):
    # The seed's definition: δ_i⁽ˡ⁾ = ∂J(W,b; x,y)/∂z_i⁽ˡ⁾, measured by moving z_i⁽ˡ⁾ alone.
    net, X, Y = make_case(act, cost, 0.0, 3, seed=1)
    checks = dp.check_deltas(net, X, Y)
    assert [c.layer for c in checks] == [2, 3, 4, 5]
    for c in checks:
        assert c.relative_error < 1e-8, (c.layer, c.relative_error)
        assert c.delta.shape == c.measured.shape == (7, net.layer_sizes[c.layer - 1])


def test_float32_gradient_matches_float64():
    net64, X, Y = make_case("tanh", "cross_entropy", 1e-3, 2, seed=0)
    net32 = net64.copy()
    net32.dtype = "float32"
    net32._theta = net32.from_host(net64.params)
    net32.W, net32.b = net32.unpack(net32._theta)
    J64, g64 = net64.cost_and_grad(X, Y)
    J32, g32 = net32.cost_and_grad(X, Y)
    assert g32.dtype == np.float32
    assert J32 == pytest.approx(J64, rel=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-6)


def test_multi_output_regression_gradient_is_exact():
    # scikit-learn's #8349: its loss is averaged over outputs but its gradient is not. Here J
    # sums ½(a_k − y_k)² over the outputs k, and the gradient is exactly J's: for an identity
    # output layer δ⁽ⁿˡ⁾ = a − y, so ∂J/∂b⁽ⁿˡ⁻¹⁾ is the mean of (a − y) over examples, with no
    # division by the number of outputs.
    net = dp.Network([3, 4, 5], activation="tanh", output_activation="identity", seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(8, 3)), rng.normal(size=(8, 5))
    out = net.predict(X)
    _, g = net.cost_and_grad(X, Y)
    _, db = net.unpack(g)
    np.testing.assert_allclose(db[1], np.mean(out - Y, axis=0), rtol=1e-12)
    assert dp.check_gradient(net, X, Y, epsilon=1e-5).ok


# --- an independent automatic differentiation as oracle --------------------------------------


def _autograd_cost(anp, sizes, act, out, cost, lam):
    """J(θ) written independently of deltaprop, for autograd to differentiate."""
    fs = {
        "sigmoid": lambda z: 1 / (1 + anp.exp(-z)),
        "tanh": anp.tanh,
        "relu": lambda z: anp.maximum(z, 0),
        "leaky_relu": lambda z: anp.where(z > 0, z, 0.01 * z),
        "softplus": lambda z: anp.logaddexp(0, z),
        "identity": lambda z: z,
        "softmax": lambda z: anp.exp(z) / anp.sum(anp.exp(z), axis=1, keepdims=True),
    }
    shapes = [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]

    def J(theta, X, Y):
        pos, Ws, bs = 0, [], []
        for o, i in shapes:
            Ws.append(anp.reshape(theta[pos : pos + o * i], (o, i)))
            pos += o * i
        for o, _ in shapes:
            bs.append(theta[pos : pos + o])
            pos += o
        a = X
        for k, (Wk, bk) in enumerate(zip(Ws, bs)):
            a = fs[out if k == len(Ws) - 1 else act](anp.dot(a, Wk.T) + bk)
        if cost == "squared_error":
            data = 0.5 * anp.sum((a - Y) ** 2)
        elif cost == "cross_entropy":
            data = -anp.sum(Y * anp.log(a))
        else:
            data = -anp.sum(Y * anp.log(a) + (1 - Y) * anp.log(1 - a))
        decay = sum(anp.sum(Wk**2) for Wk in Ws)
        return data / X.shape[0] + lam / 2 * decay

    return J


@pytest.mark.parametrize("trial", range(12))
def test_agrees_with_autograd_on_random_architectures(trial):
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    rng = np.random.default_rng(trial)
    act = ACTS[trial % len(ACTS)]
    cost = COSTS[trial % len(COSTS)]
    depth = int(rng.integers(1, 5))
    sizes = [int(rng.integers(1, 7))] + [int(rng.integers(1, 8)) for _ in range(depth)]
    sizes.append(int(rng.integers(2, 5)))
    out = output_for(cost, act)
    lam = float(rng.choice([0.0, 1e-3, 0.1]))
    net = dp.Network(
        sizes, activation=act, output_activation=out, cost=cost, weight_decay=lam, seed=trial
    )
    theta = net.params + rng.normal(scale=0.1, size=net.n_params)  # non-zero biases
    m = int(rng.integers(1, 9))
    X, Y = rng.normal(size=(m, sizes[0])), targets(cost, rng, m, sizes[-1])
    J, g = net.cost_and_grad(X, Y, params=theta)
    oracle = _autograd_cost(anp, sizes, act, out, cost, lam)
    assert J == pytest.approx(float(oracle(theta, X, Y)), rel=1e-12)
    g_oracle = autograd.grad(oracle)(theta, X, Y)
    assert np.linalg.norm(g - g_oracle) <= 1e-10 * np.linalg.norm(g_oracle) + 1e-15


@pytest.mark.parametrize(
    "act,cost",
    [("tanh", "cross_entropy"), ("sigmoid", "squared_error"), ("softplus", "binary_cross_entropy")],
)
def test_agrees_with_torch_autograd(act, cost):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    import array_api_compat

    rng = np.random.default_rng(5)
    sizes = [4, 6, 5, 3]
    net = dp.Network(
        sizes,
        activation=act,
        output_activation=output_for(cost, act),
        cost=cost,
        weight_decay=1e-3,
        seed=1,
    )
    X, Y = rng.normal(size=(9, 4)), targets(cost, rng, 9, 3)
    J, g = net.cost_and_grad(X, Y)

    theta = torch.tensor(net.params.copy(), requires_grad=True)
    Ws, bs = net.layout.unpack(array_api_compat.array_namespace(theta), theta)
    a = torch.tensor(X)
    fn = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": torch.nn.functional.softplus}
    for k, (Wk, bk) in enumerate(zip(Ws, bs)):
        z = a @ Wk.T + bk
        if k < len(Ws) - 1:
            a = fn[act](z)
    t = torch.tensor(Y)
    if cost == "cross_entropy":
        data = -(t * torch.log_softmax(z, dim=1)).sum()
    elif cost == "binary_cross_entropy":
        data = torch.nn.functional.binary_cross_entropy_with_logits(z, t, reduction="sum")
    else:
        data = 0.5 * ((fn[act](z) - t) ** 2).sum()
    total = data / 9 + 1e-3 / 2 * sum((Wk**2).sum() for Wk in Ws)
    total.backward()
    assert J == pytest.approx(total.item(), rel=1e-12)
    np.testing.assert_allclose(g, theta.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_stable_for_extreme_inputs():
    # Huge weighted inputs must not overflow exp or take log of 0 (warnings are errors here).
    for cost in COSTS:
        net = dp.Network([2, 3, 2], activation="softplus", cost=cost, seed=0)
        net.params = net.params * 500.0
        X = np.array([[50.0, -50.0], [-80.0, 90.0]])
        Y = np.array([[1.0, 0.0], [0.0, 1.0]])
        J, g = net.cost_and_grad(X, Y)
        assert np.isfinite(J) and np.all(np.isfinite(g))
