"""The compiled J_sparse (``compiled/sparse.py``) computes what ``sparse_cost_and_grad`` defines.

Every comparison evaluates one autoencoder at one θ twice: by the compiled kernel
(``SparseObjective`` on the numpy engine) and by the readable function. J's three
parts, ρ̂, the reconstructions and ∇J must agree to 1e-12 relative in float64 and
to float32's rounding in float32; a whole L-BFGS run must end at the same θ. A spy
on ``SparseEngine.cost_and_grad`` proves that the compiled path is the one that ran.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import deltaprop as dp
from deltaprop import compiled
from deltaprop.autoencoder import (
    SparseObjective,
    autoencoder_network,
    check_sparse_gradient,
    sparse_cost_and_grad,
    stacked_autoencoder,
    train_sparse_autoencoder,
)
from deltaprop.autoencoder.estimator import SparseAutoencoder
from deltaprop.compiled import cache
from deltaprop.compiled.sparse_engine import SparseEngine
from deltaprop.data import load_dataset
from deltaprop.objective import Batch

SHAPES = [  # (s₁, s₂, m): loops only, an overcomplete one, and BLAS for every product
    (1, 1, 1),
    (8, 3, 10),
    (5, 7, 4),
    (64, 25, 40),  # m·64·25 = 64 000 ≥ BLAS_FROM
]


class Calls:
    """Counts the compiled evaluations (``SparseEngine.cost_and_grad``) while active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.n = 0
        real = SparseEngine.cost_and_grad

        def counted(engine, *args, **kw):  # type: ignore[no-untyped-def]
            self.n += 1
            return real(engine, *args, **kw)

        monkeypatch.setattr(SparseEngine, "cost_and_grad", counted)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    monkeypatch.delenv("DELTAPROP_ENGINE", raising=False)
    return Calls(monkeypatch)


def close(fast: object, ref: object, dtype: str) -> None:
    """Equal to 1e-12 of the reference's largest entry (float64), float32's rounding else."""
    fast, ref = np.asarray(fast, np.float64), np.asarray(ref, np.float64)
    scale = max(float(np.max(np.abs(ref), initial=0.0)), 1e-300)
    rel = 2e-6 if dtype == "float32" else 1e-12
    assert fast.shape == ref.shape
    assert float(np.max(np.abs(fast - ref), initial=0.0)) <= rel * scale


def inputs(s1: int, m: int, linear: bool, dtype: str, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.5, (m, s1)) if linear else rng.uniform(0.1, 0.9, (m, s1))
    return X.astype(dtype)


def readable(net, X, rho, beta):  # type: ignore[no-untyped-def]
    """The definition: sparse_cost_and_grad with the network's views, and its gradient."""
    grad = np.zeros(net.n_params, net.dtype)
    dW, db = net.unpack(grad)
    f, cost, lam = net.activations, net.cost, net.weight_decay
    terms = sparse_cost_and_grad(np, net.W, net.b, f, cost, lam, rho, beta, X, dW, db)
    return terms, grad


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("linear", [False, True], ids=["sigmoid", "linear"])
@pytest.mark.parametrize("lam", [0.0, 3e-3])
@pytest.mark.parametrize("beta", [0.0, 3.0])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_j_sparse_and_its_gradient_equal_the_definition(calls, dtype, linear, lam, beta, shape):
    s1, s2, m = shape
    net = autoencoder_network(s1, s2, weight_decay=lam, linear_decoder=linear, dtype=dtype, seed=3)
    net.b[0][...] = np.linspace(-1.0, 1.0, s2)  # hidden units at different ρ̂
    X = inputs(s1, m, linear, dtype)
    rho = 0.05
    objective = SparseObjective(net, sparsity_target=rho, beta=beta)
    assert objective.engine == "numpy"
    grad = np.full(net.n_params, np.nan, net.dtype)
    terms = objective.evaluate(net.params, Batch(X, X), grad)
    assert calls.n == 1
    ref, ref_grad = readable(net, X, rho, beta)
    for part, want in zip(terms.parts, (ref.data, ref.decay, ref.sparsity), strict=True):
        close(part, want, dtype)
    if lam == 0.0:
        assert terms.parts[1] == 0.0
    if beta == 0.0:
        assert terms.parts[2] == 0.0
    close(grad, ref_grad, dtype)
    close(terms.output, ref.output, dtype)
    assert terms.output.dtype == np.dtype(dtype)
    assert terms.extra is not None
    close(terms.extra["mean_activation"], np.mean(ref.rho_hat), dtype)
    # the same parts without the gradient, by the same kernel
    value = objective.value(net.params, Batch(X, X))
    assert calls.n == 2 and value.parts == terms.parts


def test_rho_hat_and_its_complement_are_the_definitions(calls):
    net = autoencoder_network(6, 4, seed=0)
    X = inputs(6, 9, False, "float64")
    engine = compiled.sparse_engine_for(net)
    assert engine is not None
    run = engine.cost_and_grad(net.params, None, X, (net.weight_decay, 0.1, 3.0))
    ref, _ = readable(net, X, 0.1, 3.0)
    close(run.rho_hat, ref.rho_hat, "float64")
    close(run.rho_hat_c, ref.rho_hat_c, "float64")  # averaged from σ(−z), not 1 − ρ̂
    close(run.data + run.decay + run.sparsity, ref.total, "float64")


def test_a_unit_saturated_on_every_example_keeps_j_finite(calls):
    # b₁ = 50: a = σ(50 + …) rounds to 1 on every example; 1 − ρ̂ = mean σ(−z) ≈ 2e-22.
    net = autoencoder_network(4, 2, seed=0)
    net.b[0][0] = 50.0
    X = np.full((3, 4), 0.5)
    grad = np.zeros(net.n_params)
    objective = SparseObjective(net, sparsity_target=0.01, beta=3.0)
    terms = objective.evaluate(net.params, Batch(X, X), grad)
    assert calls.n == 1
    ref, ref_grad = readable(net, X, 0.01, 3.0)
    assert float(ref.rho_hat[0]) == 1.0 and 0.0 < float(ref.rho_hat_c[0]) < 1e-20
    assert np.isfinite(terms.total) and np.all(np.isfinite(grad))
    for part, want in zip(terms.parts, (ref.data, ref.decay, ref.sparsity), strict=True):
        close(part, want, "float64")
    close(grad, ref_grad, "float64")


def test_a_unit_off_on_every_example_gives_an_infinite_j_as_the_definition(calls):
    # b₁ = −800: a = σ(−800 + …) = 0 exactly, ρ̂ = 0 and KL(ρ ‖ 0) = ∞, on both paths.
    net = autoencoder_network(4, 2, seed=0)
    net.b[0][0] = -800.0
    X = np.full((3, 4), 0.5)
    terms = SparseObjective(net).value(net.params, Batch(X, X))
    assert calls.n == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        ref, _ = readable(net, X, 0.01, 3.0)
    assert terms.parts[2] == float(ref.sparsity) == np.inf


def test_the_readable_path_where_the_engine_does_not_apply(calls, monkeypatch):
    net = autoencoder_network(8, 3, seed=0)
    X = inputs(8, 10, False, "float64")
    ref, ref_grad = readable(net, X, 0.01, 3.0)

    def check(objective: SparseObjective, theta: np.ndarray, x: np.ndarray) -> None:
        grad = np.zeros(net.n_params)
        terms = objective.evaluate(theta, Batch(x, x), grad)
        close(terms.total, ref.total, "float64")
        close(grad, ref_grad, "float64")

    check(SparseObjective(net, engine="reference"), net.params, X)
    assert SparseObjective(net, engine="reference").engine == "reference"
    objective = SparseObjective(net)
    rows = np.zeros((2, net.n_params))
    rows[0] = net.params
    check(objective, rows[0], X)  # a contiguous θ of one's own: compiled
    assert calls.n == 1
    strided = np.zeros(2 * net.n_params)
    strided[::2] = net.params
    check(objective, strided[::2], X)  # a strided θ: the readable path
    assert calls.n == 1
    check(objective, net.params, np.asfortranarray(X))  # made C-contiguous, as x always is
    assert calls.n == 2
    grad = np.zeros(net.n_params)
    x32 = X.astype(np.float32)
    objective.evaluate(net.params, Batch(x32, x32), grad)  # another dtype: the readable path
    assert calls.n == 2
    monkeypatch.setenv("DELTAPROP_ENGINE", "reference")
    assert SparseObjective(net).engine == "reference"
    check(SparseObjective(net), net.params, X)
    assert calls.n == 2
    monkeypatch.delenv("DELTAPROP_ENGINE")
    tanh = dp.Network([8, 3, 8], output_activation="tanh", cost="squared_error", seed=0)
    assert SparseObjective(tanh).engine == "reference"  # a decoder the kernel does not compute
    grad = np.zeros(tanh.n_params)
    SparseObjective(tanh).evaluate(tanh.params, Batch(X, X), grad)
    assert calls.n == 2 and np.all(np.isfinite(grad))


def test_float64_for_gradient_checks_is_the_reference_and_the_check_passes(calls):
    net = autoencoder_network(8, 3, dtype="float32", seed=0)
    objective = SparseObjective(net, sparsity_target=0.1, beta=3.0)
    assert objective.engine == "numpy" and objective.float64().engine == "reference"
    X = np.random.default_rng(1).uniform(0.1, 0.9, size=(10, 8))
    assert check_sparse_gradient(autoencoder_network(8, 3, seed=0), X).relative_error < 1e-9


@pytest.mark.parametrize("linear", [False, True], ids=["sigmoid", "linear"])
def test_an_lbfgs_run_ends_at_the_same_theta_on_both_engines(calls, monkeypatch, linear):
    X = inputs(16, 200, linear, "float64", seed=2)

    def run() -> tuple[np.ndarray, list[float]]:
        net = autoencoder_network(16, 5, weight_decay=1e-3, linear_decoder=linear, seed=0)
        history = train_sparse_autoencoder(net, X, sparsity_target=0.05, beta=3.0, max_iter=30)
        assert len(history) == 30
        return np.array(net.params), history.train_loss

    fast, fast_loss = run()
    assert calls.n > 30  # every L-BFGS evaluation, line searches included
    monkeypatch.setenv("DELTAPROP_ENGINE", "reference")
    n = calls.n
    ref, ref_loss = run()
    assert calls.n == n
    close(fast, ref, "float64")
    assert np.max(np.abs(fast - ref)) <= 1e-10 * np.max(np.abs(ref))
    np.testing.assert_allclose(fast_loss, ref_loss, rtol=1e-10)


def test_a_step_based_run_of_the_objective_uses_the_kernel(calls):
    net = autoencoder_network(8, 3, seed=0)
    X = inputs(8, 40, False, "float64")
    history = dp.train(SparseObjective(net), X, X, optimizer="adam", epochs=3, batch_size=10)
    assert calls.n == 12 and len(history) == 3
    assert np.all(np.isfinite(history.train_sparsity))  # type: ignore[attr-defined]


def test_the_estimator_and_the_stacked_autoencoder_run_on_the_kernel(calls):
    ds = load_dataset("digits", seed=0)
    X, y = ds.X_train[:300], ds.y_train[:300]
    sae = SparseAutoencoder(n_hidden=16, sparsity_target=0.1, max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        features = sae.fit(X).transform(X)
    assert features.shape == (300, 16) and calls.n > 0
    n = calls.n
    result = stacked_autoencoder(
        X,
        y,
        ds.X_test,
        ds.y_test,
        hidden=(16, 8),
        pretrain_iter=5,
        softmax_iter=5,
        finetune_iter=5,
        seed=0,
    )
    assert calls.n > n and result.network.layer_sizes == (64, 16, 8, 10)
    assert 0.0 <= result.accuracy_before <= 1.0


def test_the_cache_folder_changes_with_the_sparse_kernel(tmp_path: Path):
    package = Path(cache.__file__).resolve().parent.parent
    assert "compiled/sparse.py" in cache.SOURCES
    copy = tmp_path / "deltaprop"
    for name in cache.SOURCES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(package / name, copy / name)
    assert cache.source_key(copy) == cache.source_key(package)
    with open(copy / "compiled/sparse.py", "a") as f:
        f.write("\n# changed\n")
    assert cache.source_key(copy) != cache.source_key(package)
