"""The same numerical core on other array API namespaces: array-api-strict and torch."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop._arrays import to_numpy

BACKENDS = ["array_api_strict", "torch"]


def backend(name: str):
    if name == "torch":
        return pytest.importorskip("torch", reason="torch is not installed")
    return pytest.importorskip(name)


def case(cost: str):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 4))
    if cost == "cross_entropy":
        return X, np.eye(3)[rng.integers(0, 3, size=6)]
    return X, rng.uniform(size=(6, 3))


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "act,cost",
    [
        ("sigmoid", "squared_error"),
        ("tanh", "cross_entropy"),
        ("relu", "binary_cross_entropy"),
        ("leaky_relu", "squared_error"),
        ("softplus", "squared_error"),
        ("identity", "cross_entropy"),
    ],
)
def test_same_numbers_as_numpy(name, dtype, act, cost):
    lib = backend(name)
    X, Y = case(cost)
    kw = dict(activation=act, cost=cost, weight_decay=1e-3, dtype=dtype, seed=3)
    ref = dp.Network([4, 5, 5, 3], **kw)
    net = dp.Network([4, 5, 5, 3], xp=lib, **kw)
    np.testing.assert_array_equal(to_numpy(net.params), ref.params)
    J, grad = net.cost_and_grad(X, Y)
    J_ref, grad_ref = ref.cost_and_grad(X, Y)
    assert type(grad).__module__.split(".")[0] == name.split(".")[0]
    assert str(grad.dtype).endswith(dtype)
    tol = 1e-5 if dtype == "float32" else 1e-12
    assert J == pytest.approx(J_ref, rel=tol)
    np.testing.assert_allclose(to_numpy(grad), grad_ref, rtol=tol, atol=tol)
    out = net.predict(X)
    assert str(out.dtype).endswith(dtype)
    np.testing.assert_allclose(to_numpy(out), ref.predict(X), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", BACKENDS)
def test_views_and_gradient_check_on_backend(name):
    lib = backend(name)
    net = dp.Network([3, 4, 2], activation="tanh", weight_decay=1e-3, seed=0, xp=lib)
    net.W[0][...] = 0.25  # writes through to θ
    assert float(to_numpy(net.params)[0]) == 0.25
    X, Y = case("squared_error")
    res = dp.check_gradient(net, X[:, :3], Y[:, :2], epsilon=1e-5)
    assert res.ok and res.relative_error < 1e-9


def test_unknown_namespace_object_is_rejected():
    with pytest.raises(ValueError, match="is not an array API namespace"):
        dp.Network([2, 2], xp=object())  # type: ignore[arg-type]
