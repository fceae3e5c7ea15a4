"""The benchmarks compare like with like: the same θ, the same batches, the same epoch.

Nothing here is timed (speed lives in benchmarks/, as ratios). These tests check what
makes the ratios mean something: every system of P6 (deltaprop, scikit-learn, PyTorch,
JAX's scanned epoch) starts from the same θ, and one epoch of each, over the same
mini-batches, lands on the θ of deltaprop's reference engine (backprop.py's readable
functions) in float64. P6 is cut to 640 rows (20 batches of 32) to stay quick.
torch and jax are optional here: their checks skip with the reason.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import floor  # noqa: E402
import harness  # noqa: E402
import p1_digits  # noqa: E402
import p6_tabular  # noqa: E402
import systems  # noqa: E402

HAS_TORCH = importlib.util.find_spec("torch") is not None
HAS_JAX = importlib.util.find_spec("jax") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
needs_jax = pytest.mark.skipif(not HAS_JAX, reason="jax is not installed (make bench installs it)")

ROWS = 640


@pytest.fixture(scope="module")
def spec() -> systems.Spec:
    """P6 on its first 640 rows, one epoch per run."""
    return p6_tabular.make_spec(epochs=1, rows=ROWS)


@pytest.fixture(scope="module")
def reference(spec: systems.Spec) -> np.ndarray:
    """θ after one epoch of deltaprop's reference engine: the definition."""
    return systems.deltaprop_system(spec, engine="reference")(True).theta


def _close(theta: np.ndarray, ref: np.ndarray, rtol: float) -> float:
    """The largest |θ − θ_ref| relative to max |θ_ref|, checked against rtol."""
    err = float(np.max(np.abs(theta - ref)) / np.max(np.abs(ref)))
    assert err <= rtol, f"θ after one epoch differs from the reference by {err:.3g} > {rtol}"
    return err


def test_p6_data_is_a_balanced_binary_task() -> None:
    X, labels = p6_tabular.tabular()
    assert X.shape == (20000, 50) and X.dtype == np.float64
    assert set(np.unique(labels)) == {0, 1}
    assert abs(labels.mean() - 0.5) < 0.01


def test_epoch_orders_are_deltaprops(spec: systems.Spec) -> None:
    """The orders handed to the others are the ones dp.train draws from its seed."""
    import deltaprop as dp

    seen: list[np.ndarray] = []
    run = dp.trainer(spec.network(), spec.X, spec.onehot, epochs=2, batch_size=spec.batch)
    for _ in range(2):
        seen.append(run.order(run.rng, spec.m))
    run.close()
    mine = list(itertools.islice(systems.epoch_orders(spec), 2))
    for a, b in zip(mine, seen):
        np.testing.assert_array_equal(a, b)


def test_shared_order_turns_sklearns_shuffles_into_the_epoch_orders(spec: systems.Spec) -> None:
    """sklearn does idx := idx[p] with p = arange(m) shuffled; that gives our orders."""
    state = systems.SharedOrder(spec)
    idx = np.arange(spec.m)
    for expected in itertools.islice(systems.epoch_orders(spec), 3):
        p = np.arange(spec.m)
        state.shuffle(p)
        idx = idx[p]
        np.testing.assert_array_equal(idx, expected)


def test_every_system_starts_from_the_same_theta(spec: systems.Spec) -> None:
    theta0 = spec.theta0()
    np.testing.assert_array_equal(np.asarray(spec.network().params), theta0)
    clf = systems.sklearn_model(spec)
    np.testing.assert_array_equal(systems.sklearn_theta(clf), theta0)
    assert clf.out_activation_ == "softmax"  # two outputs, as the others, not one logistic
    if HAS_TORCH:
        np.testing.assert_array_equal(systems.torch_theta(systems.torch_model(spec)), theta0)
    if HAS_JAX:
        import jax_scan

        np.testing.assert_array_equal(jax_scan.flat(jax_scan.initial(spec)[0]), theta0)


def test_deltaprops_engine_epoch_equals_the_reference(
    spec: systems.Spec, reference: np.ndarray
) -> None:
    theta = systems.deltaprop_system(spec)(True).theta
    _close(theta, reference, 1e-12)
    assert not np.allclose(reference, spec.theta0())  # the epoch did move θ


def test_sklearns_epoch_equals_the_reference(spec: systems.Spec, reference: np.ndarray) -> None:
    """scikit-learn's Adam step α·√(1 − β₂ᵗ)/(1 − β₁ᵗ)·m/(√v + ε) is deltaprop's with
    ε/√(1 − β₂ᵗ) in place of ε. With ε → 0 the two are one equation, and the epochs
    agree to rounding; with P6's ε = 1e-8, units whose gradients are near ε move
    differently, by a fraction of one step (α = 1e-3), and J barely changes."""
    tiny = dataclasses.replace(spec, eps=1e-30)
    ref = systems.deltaprop_system(tiny, engine="reference")(True).theta
    _close(systems.sklearn_system(tiny)(True).theta, ref, 1e-12)
    theta = systems.sklearn_system(spec)(True).theta
    _close(theta, reference, 5e-3)
    J = systems.final_loss(spec, theta)
    assert J == pytest.approx(systems.final_loss(spec, reference), rel=1e-4)


def test_sklearns_sgd_epoch_is_the_references_bit_for_bit() -> None:
    """P1's momentum SGD (8 × 200 + 197): the same batches give the very same θ."""
    spec = p1_digits.make_spec("float64", 1)
    ref = systems.deltaprop_system(spec, engine="reference")(True).theta
    _close(systems.sklearn_system(spec)(True).theta, ref, 1e-13)


@needs_torch
def test_torchs_epoch_equals_the_reference(spec: systems.Spec, reference: np.ndarray) -> None:
    theta = systems.torch_system(spec)(True).theta
    _close(theta, reference, 1e-10)


@needs_jax
def test_jax_scan_epoch_equals_the_reference(spec: systems.Spec, reference: np.ndarray) -> None:
    harness.configure_xla(1)
    import jax_scan

    scan = jax_scan.JaxScan(spec)
    theta = scan(True).theta
    _close(theta, reference, 1e-10)
    assert scan.compile_seconds is not None and scan.compile_seconds > 0


@needs_jax
def test_jax_scan_takes_the_smaller_last_batch_and_momentum(reference: np.ndarray) -> None:
    """P1's batches (8 × 200 + 197) and its momentum: the scan's rest step is taken."""
    harness.configure_xla(1)
    import jax_scan

    spec = p1_digits.make_spec("float64", 1)
    ref = systems.deltaprop_system(spec, engine="reference")(True).theta
    _close(jax_scan.JaxScan(spec)(True).theta, ref, 1e-10)


def test_floor_counts_the_products_and_the_update() -> None:
    """One step of 50-100-100-2 on 32 rows: the products' 2·m·Σ(s_in·s_out) three
    times (forward, ∂J/∂W, δ for all but the first layer) plus the element-wise work."""
    sizes = (50, 100, 100, 2)
    flops, exps = floor.batch_work(sizes, 32, "relu", "adam")
    products = 2 * 32 * (50 * 100 * 2 + 100 * 100 * 3 + 100 * 2 * 3)
    params = 100 * 51 + 100 * 101 + 2 * 101
    elementwise = 2 * 32 * 202 + 2 * 32 * 200 + 5 * 32 * 2 + 12 * params
    assert flops == products + elementwise
    assert exps == 32 * 2  # softmax only: relu has none
    assert floor.batch_work(sizes, 32, "sigmoid", "sgd")[1] == 32 * (2 + 200)


def test_compile_time_runs_a_cold_and_a_warm_process() -> None:
    import compile_time

    rows = compile_time.measure(threads=1)
    assert [r["case"] for r in rows] == list(compile_time.CASES)
    for r in rows:
        assert all(np.isfinite(r[k]) and r[k] > 0 for k in ("import", "first", "second"))


def test_summary_rows_are_ratios_of_medians() -> None:
    import summary

    measured = {
        "deltaprop": {"per_unit": [0.2, 0.1, 0.3]},  # median 0.2
        "scikit-learn": {"per_unit": [0.5, 0.4, 0.9]},  # median 0.5
        "floor": {"per_unit": [0.05]},
    }
    report = {"results": [{"key": "P6 float64", "unit": "s/epoch", "measured": measured}]}
    (row,) = summary.rows(report)
    assert row[:2] == [summary.LABELS["P6 float64"], "ms/epoch"]
    assert row[2:7] == ["200", "500", "", "", "50"]
    assert row[7:11] == ["0.40", "", "", "4.00"]
