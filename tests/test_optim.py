"""Optimizers: each update against its equation worked by hand, on every namespace."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import scipy.optimize

import deltaprop as dp
from deltaprop._arrays import resolve_namespace, to_numpy
from deltaprop.optim import (
    OPTIMIZERS,
    Adam,
    Constant,
    Cosine,
    GradientDescent,
    InverseTime,
    Momentum,
    Optimizer,
    StepDecay,
    get_optimizer,
    minimize_lbfgs,
)

# The tiny problem every closed form below is worked on: θ of 3 numbers, two gradients.
THETA0 = [1.0, -2.0, 0.5]
G1 = [0.5, -1.0, 2.0]
G2 = [1.0, 0.5, -0.25]
LR = 0.1


@pytest.fixture(params=["numpy", "array_api_strict", "torch"])
def xp(request: pytest.FixtureRequest) -> Any:
    if request.param != "numpy":
        pytest.importorskip(request.param, reason=f"{request.param} is not installed")
    return resolve_namespace(request.param)


def arr(xp: Any, values: list[float], dtype: str) -> Any:
    return xp.asarray(values, dtype=getattr(xp, dtype))


def two_steps(opt: Optimizer, xp: Any, dtype: str) -> tuple[list[np.ndarray], dict[str, Any]]:
    """θ after step 1 and after step 2, and the final state; checks in-place updates."""
    theta = arr(xp, THETA0, dtype)
    view = theta[1:]  # a view taken before any update, like Network's W and b
    state = opt.init(xp, theta)
    arrays_before = {k: v for k, v in state.items() if not isinstance(v, int)}
    seen = []
    for g in (G1, G2):
        opt.update(xp, theta, arr(xp, g, dtype), state, LR)
        seen.append(np.array(to_numpy(theta), copy=True))
        np.testing.assert_array_equal(to_numpy(view), seen[-1][1:])  # θ changed in place
    assert theta.dtype == getattr(xp, dtype)
    for key, value in arrays_before.items():
        assert state[key] is value  # state changed in place too
        assert value.dtype == getattr(xp, dtype)
    return seen, state


def assert_close(actual: np.ndarray, expected: Any, dtype: str) -> None:
    # θ's entries are O(1), so float32's rounding leaves absolute errors near 1e-7.
    tol = {"float32": (2e-6, 1e-6), "float64": (1e-12, 1e-14)}[dtype]
    np.testing.assert_allclose(actual, np.asarray(expected), rtol=tol[0], atol=tol[1])


DTYPES = ["float64", "float32"]


# --- the closed forms -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["gd", "sgd"])
def test_gradient_descent_steps(xp: Any, dtype: str, name: str) -> None:
    (theta1, theta2), state = two_steps(GradientDescent(name=name), xp, dtype)
    # θ := θ − α g:  [1, −2, 0.5] − 0.1·[0.5, −1, 2] = [0.95, −1.9, 0.3]
    assert_close(theta1, [0.95, -1.9, 0.3], dtype)
    # then − 0.1·[1, 0.5, −0.25] = [0.85, −1.95, 0.325]
    assert_close(theta2, [0.85, -1.95, 0.325], dtype)
    assert state == {}


@pytest.mark.parametrize("dtype", DTYPES)
def test_momentum_steps(xp: Any, dtype: str) -> None:
    (theta1, theta2), state = two_steps(Momentum(momentum=0.9), xp, dtype)
    # v₁ = 0.9·0 − 0.1·g₁ = [−0.05, 0.1, −0.2];  θ₁ = θ₀ + v₁ = [0.95, −1.9, 0.3]
    assert_close(theta1, [0.95, -1.9, 0.3], dtype)
    # v₂ = 0.9·v₁ − 0.1·g₂ = [−0.045 − 0.1, 0.09 − 0.05, −0.18 + 0.025] = [−0.145, 0.04, −0.155]
    # θ₂ = θ₁ + v₂ = [0.805, −1.86, 0.145]
    assert_close(to_numpy(state["v"]), [-0.145, 0.04, -0.155], dtype)
    assert_close(theta2, [0.805, -1.86, 0.145], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_nesterov_steps(xp: Any, dtype: str) -> None:
    (theta1, theta2), state = two_steps(Momentum(momentum=0.9, nesterov=True), xp, dtype)
    # v₁ = [−0.05, 0.1, −0.2];  θ₁ = θ₀ + 0.9·v₁ − 0.1·g₁
    #    = [1, −2, 0.5] + [−0.045, 0.09, −0.18] + [−0.05, 0.1, −0.2] = [0.905, −1.81, 0.12]
    assert_close(theta1, [0.905, -1.81, 0.12], dtype)
    # v₂ = [−0.145, 0.04, −0.155];  θ₂ = θ₁ + 0.9·v₂ − 0.1·g₂
    #    = θ₁ + [−0.1305, 0.036, −0.1395] + [−0.1, −0.05, 0.025] = [0.6745, −1.824, 0.0055]
    assert_close(to_numpy(state["v"]), [-0.145, 0.04, -0.155], dtype)
    assert_close(theta2, [0.6745, -1.824, 0.0055], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_steps(xp: Any, dtype: str) -> None:
    (theta1, theta2), state = two_steps(Adam(beta1=0.9, beta2=0.999, eps=1e-8), xp, dtype)
    assert state["t"] == 2
    # t = 1: m₁ = 0.1·g₁ = [0.05, −0.1, 0.2],  v₁ = 0.001·g₁² = [0.00025, 0.001, 0.004];
    # bias correction m̂ = m₁/(1 − 0.9) = g₁, v̂ = v₁/(1 − 0.999) = g₁², so the step is
    # 0.1·g/(|g| + ε): nearly 0.1 against the sign of each g.
    expected1 = np.array(THETA0) - 0.1 * np.array(
        [0.5 / (0.5 + 1e-8), -1 / (1 + 1e-8), 2 / (2 + 1e-8)]
    )
    assert_close(theta1, expected1, dtype)
    # t = 2: m₂ = 0.9·m₁ + 0.1·g₂ = [0.145, −0.04, 0.155]
    #        v₂ = 0.999·v₁ + 0.001·g₂² = [0.00124975, 0.001249, 0.0040585]
    #        m̂ = m₂ / (1 − 0.9²) = m₂ / 0.19,  v̂ = v₂ / (1 − 0.999²) = v₂ / 0.001999
    m2 = np.array([0.145, -0.04, 0.155])
    v2 = np.array([0.00124975, 0.001249, 0.0040585])
    assert_close(to_numpy(state["m"]), m2, dtype)
    assert_close(to_numpy(state["v"]), v2, dtype)
    expected2 = expected1 - 0.1 * (m2 / 0.19) / (np.sqrt(v2 / 0.001999) + 1e-8)
    assert_close(theta2, expected2, dtype)


def test_adam_bias_correction_matters() -> None:
    # Without the correction the first step would be α·m/(√v + ε) = 0.1·0.1g/(√0.001|g|),
    # about 0.316 α; with it, the first step is α in every coordinate.
    theta = np.zeros(3)
    opt = Adam()
    opt.update(np, theta, np.array([1e-3, 1.0, 1e3]), opt.init(np, theta), lr=0.01)
    np.testing.assert_allclose(theta, [-0.01, -0.01, -0.01], rtol=1e-5)


def test_nesterov_is_sutskevers_form_at_the_look_ahead_point() -> None:
    # Sutskever et al. 2013: v := μ v − α ∇J(θ + μ v); θ := θ + v. Ours stores φ = θ + μ v.
    A = np.array([1.0, 10.0, 0.1])  # J(θ) = ½ Σ A_i θ_i², ∇J = A θ
    mu, lr = 0.9, 0.05
    theta_s, v_s = np.array(THETA0), np.zeros(3)
    opt = Momentum(momentum=mu, nesterov=True)
    phi = np.array(THETA0)
    state = opt.init(np, phi)
    for _ in range(6):
        v_s = mu * v_s - lr * A * (theta_s + mu * v_s)
        theta_s = theta_s + v_s
        opt.update(np, phi, A * phi, state, lr)
        np.testing.assert_allclose(phi, theta_s + mu * v_s, rtol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "opt", [Momentum(0.8), Momentum(0.8, nesterov=True), Adam(0.8, 0.95, 1e-3)], ids=str
)
def test_numpy_fast_path_matches_the_generic_path(opt: Optimizer, dtype: str) -> None:
    # array_api_compat's numpy namespace is not numpy itself, so it takes the generic path.
    array_api_compat = pytest.importorskip("array_api_compat")
    generic = array_api_compat.array_namespace(np.zeros(1))
    assert generic is not np
    rng = np.random.default_rng(0)
    theta_fast = rng.normal(size=1000).astype(dtype)
    theta_generic = theta_fast.copy()
    s_fast, s_generic = opt.init(np, theta_fast), opt.init(generic, theta_generic)
    for _ in range(5):
        g = rng.normal(size=1000).astype(dtype)
        opt.update(np, theta_fast, g, s_fast, 0.01)
        opt.update(generic, theta_generic, g, s_generic, 0.01)
    assert theta_fast.dtype == theta_generic.dtype == np.dtype(dtype)
    rtol = 1e-5 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(theta_fast, theta_generic, rtol=rtol)


# --- the contract ---------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "lbfgs"])
def test_get_optimizer_builds_each_name_and_config_round_trips(name: str) -> None:
    opt = get_optimizer(name, momentum=0.5, beta1=0.8, beta2=0.99, eps=1e-6)
    assert isinstance(opt, Optimizer)
    assert opt.name == name
    config = opt.config()
    assert config["name"] == name
    assert get_optimizer(**config) == opt


def test_get_optimizer_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'") as info:
        get_optimizer("adagrad")
    for name in ("gd", "sgd", "momentum", "nesterov", "adam", "lbfgs"):
        assert name in str(info.value)


def test_get_optimizer_lbfgs_points_to_minimize_lbfgs() -> None:
    with pytest.raises(ValueError, match="minimize_lbfgs"):
        get_optimizer("lbfgs")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Momentum(momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
        (lambda: Momentum(momentum=-0.1), r"momentum must be a number in \[0, 1\), got -0.1"),
        (lambda: Momentum(nesterov=1), "nesterov must be True or False, got 1"),
        (lambda: Adam(beta1=1), r"beta1 must be a number in \[0, 1\), got 1"),
        (lambda: Adam(beta2=math.nan), "beta2 must be a finite number, got nan"),
        (lambda: Adam(eps=0.0), "eps must be a positive finite number, got 0.0"),
        (lambda: Adam(eps="1e-8"), "eps must be a real number, got '1e-8'"),
        (lambda: GradientDescent(name="adam"), "name must be one of gd, sgd, got 'adam'"),
    ],
)
def test_hyper_parameter_errors_name_the_argument(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- schedules --------------------------------------------------------------------------


def test_schedule_values() -> None:
    assert [Constant(0.3)(e) for e in (0, 1, 100)] == [0.3, 0.3, 0.3]
    # α₀ · γ^⌊epoch/k⌋ with α₀ = 0.8, γ = 0.5, k = 3
    assert [StepDecay(0.8, factor=0.5, every=3)(e) for e in range(7)] == [
        0.8,
        0.8,
        0.8,
        0.4,
        0.4,
        0.4,
        0.2,
    ]
    assert StepDecay(1.0)(25) == 0.25  # defaults: halve every 10 epochs
    # α₀ / (1 + d·epoch) with α₀ = 1, d = 0.25
    assert [InverseTime(1.0, decay=0.25)(e) for e in (0, 1, 4, 12)] == [1.0, 0.8, 0.5, 0.25]
    # α_min + ½(α₀ − α_min)(1 + cos(π·min(e, T)/T)) with α₀ = 1, T = 6, α_min = 0 then 0.2:
    # cos(π/6) = √3/2, cos(π/3) = ½, cos(π/2) = 0; from epoch T on, α_min
    cos6 = [1.0, (2 + math.sqrt(3)) / 4, 0.75, 0.5, 0.25, (2 - math.sqrt(3)) / 4, 0.0, 0.0]
    assert [Cosine(1.0, epochs=6)(e) for e in range(8)] == pytest.approx(cos6, abs=1e-15)
    floored = [0.2 + 0.8 * a for a in cos6]
    assert [Cosine(1.0, 6, min_lr=0.2)(e) for e in range(8)] == pytest.approx(floored, abs=1e-15)
    assert Cosine(0.5, epochs=1)(0) == 0.5


def test_schedule_configs() -> None:
    assert Constant(0.1).config() == {"name": "constant", "lr": 0.1}
    assert StepDecay(0.1, factor=0.1, every=5).config() == {
        "name": "step",
        "lr": 0.1,
        "factor": 0.1,
        "every": 5,
    }
    assert InverseTime(0.1, 0.01).config() == {"name": "inverse_time", "lr": 0.1, "decay": 0.01}
    assert Cosine(0.1, 30, 0.01).config() == {
        "name": "cosine",
        "lr": 0.1,
        "epochs": 30,
        "min_lr": 0.01,
    }


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Constant(0.0), "lr must be a positive finite number, got 0.0"),
        (lambda: Constant(-1), "lr must be a positive finite number, got -1"),
        (lambda: Constant(math.inf), "lr must be a finite number, got inf"),
        (lambda: Constant(None), "lr must be a real number, got None"),
        (lambda: StepDecay(0.1, factor=0), "factor must be a positive finite number, got 0"),
        (lambda: StepDecay(0.1, every=0), "every must be a whole number of epochs ≥ 1, got 0"),
        (lambda: StepDecay(0.1, every=2.5), "every must be a whole number of epochs ≥ 1, got 2.5"),
        (lambda: InverseTime(0.1, decay=-1.0), "decay must be a positive finite number, got -1.0"),
        (lambda: Cosine(0.0, 10), "lr must be a positive finite number, got 0.0"),
        (lambda: Cosine(0.1, 0), "epochs must be a whole number of epochs ≥ 1, got 0"),
        (lambda: Cosine(0.1, 10, min_lr=0.2), "min_lr must be a finite number between 0.0 and 0.1"),
        (lambda: Cosine(0.1, 10, min_lr=-1), "min_lr must be a finite number between 0.0 and 0.1"),
        (lambda: Cosine(0.1, 10)(-2), "epoch must be a whole number ≥ 0, got -2"),
        (lambda: Constant(0.1)(-1), "epoch must be a whole number ≥ 0, got -1"),
        (lambda: InverseTime(0.1, 1.0)(1.5), "epoch must be a whole number ≥ 0, got 1.5"),
    ],
)
def test_schedule_errors_name_the_argument(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# --- L-BFGS -----------------------------------------------------------------------------


def network_problem() -> tuple[Any, np.ndarray]:
    net = dp.Network([4, 5, 3], weight_decay=1e-3, seed=0)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(30, 4)), rng.uniform(size=(30, 3))
    return (lambda th: net.cost_and_grad(X, Y, params=th)), np.array(net.params, copy=True)


@pytest.mark.parametrize("tol", [None, 1e-3])
def test_lbfgs_matches_scipy_called_directly(tol: float | None) -> None:
    fun, theta0 = network_problem()
    before = theta0.copy()
    ours = minimize_lbfgs(fun, theta0, max_iter=300, tol=tol)
    ref = scipy.optimize.minimize(
        fun, theta0, method="L-BFGS-B", jac=True, tol=tol, options={"maxiter": 300}
    )
    np.testing.assert_array_equal(theta0, before)  # the start is not changed
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-10, atol=1e-12)
    assert ours.fun == pytest.approx(ref.fun, rel=1e-12)
    assert (ours.n_iter, ours.n_fev, ours.success) == (ref.nit, ref.nfev, ref.success)
    assert ours.message == ref.message
    assert ours.fun < fun(theta0)[0]
    if tol is None:
        assert ours.success  # converged, well inside 300 iterations


def test_lbfgs_respects_max_iter_and_calls_back_once_per_iteration() -> None:
    fun, theta0 = network_problem()
    calls: list[tuple[np.ndarray, float]] = []
    result = minimize_lbfgs(
        fun, theta0, max_iter=4, callback=lambda x, J: calls.append((x.copy(), J))
    )
    assert result.n_iter == 4
    assert len(calls) == 4
    assert not result.success
    assert "ITERATIONS REACHED LIMIT" in result.message
    np.testing.assert_array_equal(calls[-1][0], result.x)
    assert calls[-1][1] == result.fun == pytest.approx(fun(result.x)[0], rel=1e-12)
    assert [J for _, J in calls] == sorted((J for _, J in calls), reverse=True)  # J decreases


def test_lbfgs_callback_stops_early_with_stop_iteration() -> None:
    fun, theta0 = network_problem()
    seen: list[np.ndarray] = []

    def stop_at_second(x: np.ndarray, J: float) -> None:
        seen.append(x.copy())
        if len(seen) == 2:
            raise StopIteration

    result = minimize_lbfgs(fun, theta0, max_iter=100, callback=stop_at_second)
    assert result.n_iter == 2
    assert len(seen) == 2
    assert not result.success
    assert "StopIteration" in result.message
    np.testing.assert_array_equal(result.x, seen[-1])


def test_lbfgs_callback_sees_a_read_only_iterate() -> None:
    fun, theta0 = network_problem()

    def scribble(x: np.ndarray, J: float) -> None:
        x[0] = 0.0

    with pytest.raises(ValueError, match="read-only"):
        minimize_lbfgs(fun, theta0, max_iter=3, callback=scribble)


def test_lbfgs_respects_max_fun() -> None:
    fun, theta0 = network_problem()
    result = minimize_lbfgs(fun, theta0, max_iter=1000, max_fun=5)
    assert not result.success
    assert 5 < result.n_fev < 30  # checked at the end of an iteration, as in scipy


def test_lbfgs_limits_only_scipys_own_blas_threads() -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import os

    home = os.path.dirname(os.path.realpath(scipy.__file__))

    def blas_threads() -> dict[str, int]:
        return {
            i["filepath"]: i["num_threads"]
            for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas"
        }

    def owned_by_scipy(path: str) -> bool:
        return os.path.realpath(path).startswith((home + os.sep, home + ".libs" + os.sep))

    before = blas_threads()
    if not any(owned_by_scipy(p) for p in before):
        pytest.skip("scipy shares its BLAS with numpy here; nothing is limited")
    during: list[dict[str, int]] = []
    fun, theta0 = network_problem()
    minimize_lbfgs(fun, theta0, max_iter=1, callback=lambda x, J: during.append(blas_threads()))
    for path, threads in during[0].items():
        assert threads == (1 if owned_by_scipy(path) else before[path]), path
    assert blas_threads() == before  # restored afterwards


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_iter": 0}, "max_iter must be a whole number ≥ 1, got 0"),
        ({"max_iter": 10, "max_fun": 0}, "max_fun must be a whole number ≥ 1, got 0"),
        ({"max_iter": 10, "tol": -1.0}, "tol must be a number ≥ 0 or None, got -1.0"),
        ({"max_iter": 10, "memory": 0}, "memory must be a whole number ≥ 1, got 0"),
        ({"max_iter": 10, "theta0": np.zeros((2, 2))}, r"theta0 must be a non-empty flat vector"),
        ({"max_iter": 10, "theta0": np.array([0.0, math.nan])}, "theta0 contains a non-finite"),
    ],
)
def test_lbfgs_argument_errors(kwargs: dict[str, Any], message: str) -> None:
    fun, theta0 = network_problem()
    kwargs = {"theta0": theta0, **kwargs}
    with pytest.raises(ValueError, match=message):
        minimize_lbfgs(fun, **kwargs)
