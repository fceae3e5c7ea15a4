"""The numpy engine (``deltaprop.fastpath``) computes what the definition in ``backprop`` does.

The engine writes into preallocated arrays, applies activations in place with f′
from a and scales δ once; training adds gathered mini-batches, in-place updates
and the per-epoch accuracy count. The definition runs on the same numpy arrays
through ``array_api_compat.numpy``, a namespace that is not numpy itself, so each
test compares the two on identical inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import fastpath
from deltaprop.activations import ACTIVATIONS, Activation, sigmoid
from deltaprop.costs import COSTS
from deltaprop.objective import Batch, NetworkObjective

GENERIC = "array_api_compat.numpy"
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity"]
PAIRS = [
    ("sigmoid", "squared_error"),
    ("tanh", "cross_entropy"),
    ("relu", "binary_cross_entropy"),
    ("leaky_relu", "cross_entropy"),
    ("softplus", "squared_error"),
    ("identity", "squared_error"),
]


def case(cost: str, m: int = 9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 4))
    if cost == "cross_entropy":
        return X, np.eye(3)[rng.integers(0, 3, size=m)]
    if cost == "binary_cross_entropy":
        return X, (rng.uniform(size=(m, 3)) > 0.5).astype(float)
    return X, rng.uniform(size=(m, 3))


def pair(act: str, cost: str, dtype: str = "float64", lam: float = 1e-3, **kw):
    """The same network twice: numpy (fast path) and generic, with the same θ."""
    args = dict(activation=act, cost=cost, weight_decay=lam, dtype=dtype, seed=5, **kw)
    fast = dp.Network([4, 6, 5, 3], **args)
    generic = dp.Network([4, 6, 5, 3], xp=GENERIC, **args)
    assert fast.xp is np and generic.xp is not np
    return fast, generic


def engine_cost_and_grad(net, X, Y, sample_weight=None):
    """J and ∇J as training computes them: NetworkObjective with the numpy engine."""
    x, y = net.check_data(X, Y)
    w = net.check_sample_weight(sample_weight, x.shape[0])
    grad = np.empty(net.n_params, net.dtype)
    terms = NetworkObjective(net, engine="numpy").evaluate(net.params, Batch(x, y, w), grad)
    return terms.total, grad


def engine_evaluate(net, x, y, grad, work=None):
    """fastpath.cost_and_grad at the network's θ, with ``work`` (None: fresh arrays)."""
    dW, db = net.unpack(grad)
    lam = net.weight_decay
    return fastpath.cost_and_grad(
        net.W, net.b, net.activations, net.cost, lam, x, y, dW, db, None, work
    )


def tol(dtype: str) -> dict[str, float]:
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-13}


@pytest.mark.parametrize("act,cost", PAIRS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("lam", [0.0, 1e-3])
@pytest.mark.parametrize("weighted", [False, True])
def test_cost_and_grad_same_as_generic(act, cost, dtype, lam, weighted):
    fast, generic = pair(act, cost, dtype, lam)
    X, Y = case(cost)
    w = np.random.default_rng(1).uniform(0.5, 2.0, size=X.shape[0]) if weighted else None
    J, g = engine_cost_and_grad(fast, X, Y, sample_weight=w)
    J_ref, g_ref = generic.cost_and_grad(X, Y, sample_weight=w)
    assert J == pytest.approx(J_ref, rel=tol(dtype)["rtol"])
    np.testing.assert_allclose(g, np.asarray(g_ref), **tol(dtype))


@pytest.mark.parametrize("act,cost", PAIRS)
def test_workspace_reused_across_batch_sizes(act, cost):
    # One workspace for batches of 9, then 4, then 1 rows: the same numbers as fresh arrays.
    fast, _ = pair(act, cost)
    X, Y = case(cost)
    work = fastpath.Workspace(fast.layer_sizes, rows=9, dtype=np.float64)
    for rows in (9, 4, 1, 9):
        x, y = fast.check_data(X[:rows], Y[:rows])
        g_work, g_new = np.empty(fast.n_params), np.empty(fast.n_params)
        d1, r1, out1 = engine_evaluate(fast, x, y, g_work, work)
        d2, r2, out2 = engine_evaluate(fast, x, y, g_new)
        np.testing.assert_array_equal(g_work, g_new)
        np.testing.assert_array_equal(out1, out2)
        assert (float(d1), float(r1)) == (float(d2), float(r2))
    # The output is the caller's own array, never one of the workspace's.
    assert not any(np.shares_memory(out1, buf) for buf in work.z.values())


def test_workspace_too_small_or_other_dtype_is_replaced():
    fast, _ = pair("relu", "cross_entropy")
    X, Y = case("cross_entropy")
    x, y = fast.check_data(X, Y)
    small = fastpath.Workspace(fast.layer_sizes, rows=2, dtype=np.float32)
    assert not small.fits(9, np.float64)
    g1, g2 = np.empty(fast.n_params), np.empty(fast.n_params)
    engine_evaluate(fast, x, y, g1, small)
    engine_evaluate(fast, x, y, g2)
    np.testing.assert_array_equal(g1, g2)


def test_activation_without_kernels_uses_its_own_fprime():
    # A planted wrong derivative, without numpy kernels: both paths must use it.
    wrong = Activation("sigmoid", sigmoid.f, lambda xp, z, a: 1.01 * a * (1.0 - a))
    fast, generic = pair(wrong, "squared_error")  # type: ignore[arg-type]
    X, Y = case("squared_error")
    assert wrong not in fastpath.KERNELS and sigmoid in fastpath.KERNELS
    _, g = engine_cost_and_grad(fast, X, Y)
    _, g_ref = generic.cost_and_grad(X, Y)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-13)
    good, _ = pair("sigmoid", "squared_error")
    assert not np.allclose(g, engine_cost_and_grad(good, X, Y)[1], rtol=1e-6)


@pytest.mark.parametrize("name", HIDDEN)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("size", [(1, 5), (40, 70)])
def test_kernels_compute_f_and_fprime(name, dtype, size):
    # f_into(z, out) = f(z) bit for bit, into another array or over z; mul_fprime(g, a) =
    # g ⊙ f′(z) from a alone.
    act = ACTIVATIONS[name]
    kernels = fastpath.KERNELS[act]
    rng = np.random.default_rng(2)
    z = (rng.normal(scale=30.0, size=size)).astype(dtype)
    z.flat[:4] = [0.0, -800.0, 800.0, -1e-3]
    with np.errstate(over="ignore"):
        a_ref = act.f(np, z)
    out = np.empty_like(z)
    kernels.f_into(z, out)
    np.testing.assert_array_equal(out, a_ref)
    in_place = z.copy()
    kernels.f_into(in_place, in_place)
    np.testing.assert_array_equal(in_place, out)
    g = rng.normal(size=size).astype(dtype)
    expected = g * act.fprime(np, z, a_ref)
    kernels.mul_fprime(g, out)
    np.testing.assert_allclose(g, expected, **tol(dtype))
    assert g.dtype == out.dtype == np.dtype(dtype)


def test_sigmoid_kernel_never_overflows():
    z = np.array([[-1000.0, 1000.0, -40.0, 0.0]])
    out = np.empty_like(z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        fastpath.KERNELS[sigmoid].f_into(z, out)
    np.testing.assert_array_equal(out, sigmoid.f(np, z))
    assert out[0, 0] == 0.0 and out[0, 1] == 1.0


@pytest.mark.parametrize("act,cost", PAIRS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("m", [1, 9])
def test_data_term_has_the_generic_paths_bits(act, cost, dtype, m):
    # J from the fast path equals backprop.forward + backprop.data_term exactly, so that
    # what explain shows from Network.evaluate is what Network.cost_terms computes.
    fast, _ = pair(act, cost, dtype)
    X, Y = case(cost, m=m)
    x, y = fast.check_data(X, Y)
    data, decay, out = engine_evaluate(fast, x, y, np.empty(fast.n_params, dtype))
    assert (float(data), float(decay)) == fast.cost_terms(X, Y)
    np.testing.assert_array_equal(out, fast.predict(X))


@pytest.mark.parametrize("cost", sorted(COSTS))
@pytest.mark.parametrize("xp_name", ["numpy", GENERIC])
def test_output_terms_equal_the_composed_parts(cost, xp_name):
    import importlib

    xp = np if xp_name == "numpy" else importlib.import_module(xp_name)
    c = COSTS[cost]
    act = ACTIVATIONS[c.output_activation or "sigmoid"]
    _, Y = case(cost, m=6)
    z = np.random.default_rng(3).normal(scale=5.0, size=Y.shape)
    terms = fastpath.output_terms if xp is np else lambda *args: c.output_terms(xp, *args[1:])
    a, loss, delta = terms(c, act, z, Y)
    a_ref = act.f(xp, z)
    np.testing.assert_allclose(a, a_ref, rtol=1e-14, atol=1e-15)
    assert float(loss) == pytest.approx(float(c.loss_sum(xp, z, a_ref, Y)), rel=1e-13)
    np.testing.assert_allclose(delta, c.output_delta(xp, act, z, a_ref, Y), rtol=1e-13)


def test_output_terms_of_a_subclass_use_its_own_parts():
    class Doubled(type(COSTS["cross_entropy"])):  # type: ignore[misc]
        def output_delta(self, xp, act, z, a, y):
            return 2.0 * (a - y)

    c = Doubled("doubled", output_activation="softmax")
    z = np.random.default_rng(4).normal(size=(5, 3))
    Y = np.eye(3)[[0, 1, 2, 0, 1]]
    a, _, delta = fastpath.output_terms(c, ACTIVATIONS["softmax"], z, Y)
    np.testing.assert_allclose(delta, 2.0 * (a - Y))


def test_unpack_matches_the_spans():
    layout = dp.Layout((4, 6, 5, 3))
    theta = np.arange(layout.n_params, dtype=float)
    W, b = layout.unpack(np, theta)
    for (name, start, stop, shape), view in zip(layout.spans(), [*W, *b]):
        assert view.shape == shape, name
        np.testing.assert_array_equal(view.ravel(), theta[start:stop])
        assert np.shares_memory(view, theta)


@pytest.mark.parametrize(
    "optimizer,batch_size",
    [("sgd", 1), ("momentum", 4), ("nesterov", 5), ("adam", 4), ("gd", None), ("lbfgs", None)],
)
@pytest.mark.parametrize("cost", ["cross_entropy", "binary_cross_entropy", "squared_error"])
def test_training_same_as_generic(optimizer, batch_size, cost):
    # Gathered mini-batches, the workspace and the accuracy count per epoch against the
    # generic loop: the same history and θ, up to rounding.
    act = "tanh" if cost == "squared_error" else "relu"
    fast, generic = pair(act, cost)
    X, Y = case(cost, m=23)
    w = np.random.default_rng(6).uniform(0.5, 2.0, size=23) if cost == "squared_error" else None
    kw = dict(optimizer=optimizer, learning_rate=0.05, epochs=4, batch_size=batch_size, seed=3)
    h_fast = dp.train(fast, X, Y, sample_weight=w, **kw)
    h_generic = dp.train(generic, X, Y, sample_weight=w, **kw)
    np.testing.assert_allclose(fast.params, np.asarray(generic.params), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h_fast.train_loss, h_generic.train_loss, rtol=1e-10)
    np.testing.assert_allclose(
        h_fast.train_accuracy, h_generic.train_accuracy, rtol=1e-12, equal_nan=True
    )
    assert h_fast.steps == h_generic.steps
