"""The objective contract and the one training loop that every objective trains through.

Each objective (the seed's J on either engine, the sparse autoencoder's J_sparse,
scikit-learn's per-batch penalty) must be lowered by L-BFGS and by Adam through
``deltaprop.train``; a trainer stepped by hand must record what ``train`` records.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
from sklearn.datasets import load_digits

import deltaprop as dp
from deltaprop.autoencoder import SparseObjective, autoencoder_network
from deltaprop.objective import Batch, NetworkObjective, Terms
from deltaprop.optim.lbfgs import LbfgsSteps, NonFinite
from deltaprop.sklearn._fitting import SklearnObjective
from deltaprop.sklearn._params import settings


def digits(m: int = 200) -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:m] / 16.0, np.eye(10)[y[:m]]


def network(**kw) -> dp.Network:
    return dp.Network([64, 12, 10], activation="tanh", cost="cross_entropy", seed=0, **kw)


def sklearn_objective() -> SklearnObjective:
    cfg = settings({**dp.sklearn.MLPClassifier().get_params(), "alpha": 1e-3})
    return SklearnObjective(network(), cfg)


def J(objective, X, Y) -> float:
    x, y = objective.net.check_data(X, Y)
    return objective.value(objective.params, Batch(x, y)).total


OBJECTIVES = {
    "network, numpy engine": lambda: (NetworkObjective(network(weight_decay=1e-3)), *digits()),
    "network, reference engine": lambda: (
        NetworkObjective(network(weight_decay=1e-3), engine="reference"),
        *digits(),
    ),
    "sparse autoencoder": lambda: (
        SparseObjective(autoencoder_network(64, 9, seed=0), sparsity_target=0.05, beta=3.0),
        digits()[0] * 0.8 + 0.1,
        digits()[0] * 0.8 + 0.1,
    ),
    "scikit-learn's per-batch penalty": lambda: (sklearn_objective(), *digits()),
}


@pytest.mark.parametrize("name", OBJECTIVES)
@pytest.mark.parametrize(
    "how",
    [
        dict(optimizer="lbfgs", epochs=15),
        dict(optimizer="adam", learning_rate=0.01, batch_size=32, epochs=5),
    ],
    ids=["lbfgs", "adam"],
)
def test_train_lowers_J_on_every_objective(name, how):
    objective, X, Y = OBJECTIVES[name]()
    before = J(objective, X, Y)
    history = dp.train(objective, X, Y, **how)
    after = J(objective, X, Y)
    assert after < 0.9 * before, (before, after)
    assert len(history) == how["epochs"]
    assert all(math.isfinite(v) for v in history.train_loss)
    # J's parts, recorded per epoch, add up to J.
    np.testing.assert_allclose(
        np.add(history.train_data, history.train_decay)
        + np.asarray(getattr(history, "train_sparsity", 0.0)),
        history.train_loss,
        rtol=1e-12,
    )


def test_every_objective_has_the_contracts_parts():
    for name, make in OBJECTIVES.items():
        objective, X, Y = make()
        x, y = objective.net.check_data(X, Y)
        grad = np.empty(objective.n_params)
        terms = objective.evaluate(objective.params, Batch(x, y), grad)
        assert isinstance(terms, Terms), name
        assert len(terms.parts) == len(objective.part_names), name
        assert objective.part_names[0] == "data", name
        assert terms.total == pytest.approx(objective.value(objective.params, Batch(x, y)).total)
        assert terms.output.shape == y.shape, name
        assert np.all(np.isfinite(grad)), name


def test_the_sparse_objective_is_checked_by_check_gradient():
    net = autoencoder_network(16, 4, seed=1)
    X = np.random.default_rng(2).uniform(0.1, 0.9, size=(10, 16))
    res = dp.check_gradient(SparseObjective(net, sparsity_target=0.1, beta=3.0), X, X)
    assert res.ok and res.relative_error < 1e-9
    # ... and a planted mistake is caught: a gradient with β doubled, against J with β.
    wrong = SparseObjective(net, sparsity_target=0.1, beta=6.0)
    honest = SparseObjective(net, sparsity_target=0.1, beta=3.0)
    wrong.value = honest.value  # type: ignore[method-assign]
    wrong.float64 = lambda: wrong  # type: ignore[method-assign]
    assert not dp.check_gradient(wrong, X, X).ok


def test_engines_agree_and_are_chosen_by_name():
    X, Y = digits(50)
    fast, ref = network(weight_decay=1e-3), network(weight_decay=1e-3)
    h1 = dp.train(NetworkObjective(fast), X, Y, optimizer="momentum", batch_size=8, epochs=3)
    h2 = dp.train(
        NetworkObjective(ref, engine="reference"),
        X,
        Y,
        optimizer="momentum",
        batch_size=8,
        epochs=3,
    )
    np.testing.assert_allclose(fast.params, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h1.train_loss, h2.train_loss, rtol=1e-11)
    assert NetworkObjective(fast).engine == "numpy"
    assert NetworkObjective(fast, engine="reference").engine == "reference"
    with pytest.raises(ValueError, match="engine: unknown engine 'fast'; choose one of: auto"):
        NetworkObjective(fast, engine="fast")
    strict = dp.Network([2, 2, 1], xp="array_api_strict", seed=0)
    assert NetworkObjective(strict).engine == "reference"
    with pytest.raises(ValueError, match="engine: 'numpy' computes with numpy arrays"):
        NetworkObjective(strict, engine="numpy")


# --- stepping the loop ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        dict(optimizer="sgd", learning_rate=0.1, batch_size=16),
        dict(optimizer="adam", learning_rate=0.01, batch_size=7, validation=0.2),
        dict(optimizer="gd", learning_rate=0.5),
        dict(optimizer="lbfgs"),
    ],
    ids=["sgd", "adam+validation", "gd", "lbfgs"],
)
def test_a_trainer_stepped_by_hand_records_what_train_records(how):
    X, Y = digits(60)
    whole, stepped = network(), network()
    expected = dp.train(whole, X, Y, epochs=4, seed=3, **how)
    run = dp.trainer(stepped, X, Y, epochs=4, seed=3, **how)
    steps = 0
    while run.step_once():
        steps += 1
    run.close()
    np.testing.assert_array_equal(stepped.params, whole.params)
    got = run.history
    assert got.steps == expected.steps and got.stop_reason == expected.stop_reason
    np.testing.assert_array_equal(got.train_loss, expected.train_loss)
    np.testing.assert_array_equal(got.val_loss, expected.val_loss)
    if how["optimizer"] != "lbfgs":
        assert steps == expected.steps[-1]  # one call per update
    assert not run.step_once() and not run.run_epoch()  # a finished run stays finished


def test_run_epoch_advances_one_epoch_and_callbacks_see_each():
    X, Y = digits(60)
    seen = []
    run = dp.trainer(
        network(), X, Y, optimizer="sgd", batch_size=10, epochs=3, callbacks=[seen.append]
    )
    assert run.run_epoch() and run.epoch == 1 and len(run.history) == 1
    assert run.history.steps == [6] and [info.epoch for info in seen] == [0]
    assert run.run_epoch() and run.run_epoch() is False  # the third epoch ends the run
    assert run.finished and run.history.stop_reason == "epoch budget reached"


def test_lbfgs_iterations_carry_the_gradient_at_the_iterate():
    X, Y = digits(60)
    grads = []
    net = network(weight_decay=1e-3)
    dp.train(net, X, Y, optimizer="lbfgs", epochs=3, callbacks=[lambda i: grads.append(i)])
    last = grads[-1]
    J_now, g = net.cost_and_grad(X, Y)
    np.testing.assert_allclose(last.gradient, g, rtol=1e-9, atol=1e-12)
    assert last.history.train_loss[-1] == pytest.approx(J_now, rel=1e-12)


# --- the L-BFGS driver ----------------------------------------------------------------------


def quadratic(theta: np.ndarray) -> tuple[float, np.ndarray, str]:
    return float(theta @ theta), 2.0 * theta, "info"


def test_lbfgs_steps_reach_the_minimum_one_iteration_at_a_time():
    run = LbfgsSteps(quadratic, np.array([3.0, -4.0, 1.0]), max_iter=50)
    iterates = []
    while (it := run.next()) is not None:
        iterates.append(it)
        assert it.J == pytest.approx(float(it.theta @ it.theta)) and it.info == "info"
    assert run.result is not None and run.result.success
    np.testing.assert_allclose(run.result.x, 0.0, atol=1e-8)
    assert [it.J for it in iterates] == sorted((it.J for it in iterates), reverse=True)
    assert not any(t.name == "lbfgs" and t.is_alive() for t in threading.enumerate())


def test_lbfgs_steps_close_stops_the_worker():
    run = LbfgsSteps(quadratic, np.array([3.0, -4.0]), max_iter=50)
    assert run.next() is not None
    run.close()
    assert not any(t.name == "lbfgs" and t.is_alive() for t in threading.enumerate())


def test_lbfgs_steps_report_a_non_finite_J_with_the_last_good_iterate():
    calls = []

    def blows_up(theta: np.ndarray) -> tuple[float, np.ndarray, None]:
        # Rosenbrock's valley, which takes L-BFGS dozens of evaluations, until the 10th.
        calls.append(theta.copy())
        x, y = theta
        J = (1 - x) ** 2 + 100 * (y - x * x) ** 2 if len(calls) < 10 else math.inf
        grad = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        return J, grad, None

    run = LbfgsSteps(blows_up, np.array([-1.2, 1.0]), max_iter=500)
    good = []
    with pytest.raises(NonFinite):
        while (it := run.next()) is not None:
            good.append(it.theta)
    assert good  # some iterations succeeded before J became infinite
    np.testing.assert_array_equal(run.last_finite, good[-1])


def test_lbfgs_steps_hand_the_callers_exceptions_back():
    def interrupted(theta: np.ndarray) -> tuple[float, np.ndarray, None]:
        raise KeyboardInterrupt

    run = LbfgsSteps(interrupted, np.array([1.0]), max_iter=5)
    with pytest.raises(KeyboardInterrupt):
        run.next()


def test_data_parallel_refuses_an_objective_that_is_not_separable():
    from mpi4py import MPI

    from deltaprop.distributed import DataParallel

    net = autoencoder_network(4, 2, seed=0)
    X = np.full((3, 4), 0.5)
    objective = SparseObjective(net, sparsity_target=0.1)
    with pytest.raises(ValueError, match="SparseObjective is not separable"):
        DataParallel(MPI.COMM_SELF).evaluate(
            objective, net.params, Batch(X, X), np.empty(net.n_params)
        )


def test_a_closed_lbfgs_trainer_stays_finished():
    X, Y = digits(60)
    run = dp.trainer(network(), X, Y, optimizer="lbfgs", epochs=20)
    assert run.step_once()
    run.close()
    assert run.finished and not run.step_once() and not run.run_epoch()
    assert not any(t.name == "lbfgs" and t.is_alive() for t in threading.enumerate())


def test_a_dropped_lbfgs_trainer_stops_its_worker():
    import gc

    X, Y = digits(60)
    run = dp.trainer(network(), X, Y, optimizer="lbfgs", epochs=20)
    assert run.step_once()
    del run
    gc.collect()
    for _ in range(50):
        if not any(t.name == "lbfgs" and t.is_alive() for t in threading.enumerate()):
            break
        threading.Event().wait(0.02)
    assert not any(t.name == "lbfgs" and t.is_alive() for t in threading.enumerate())


def test_ctrl_c_during_lbfgs_keeps_the_last_iterate(monkeypatch):
    # A real SIGINT, delivered while the main thread waits for L-BFGS's worker.
    import os
    import signal
    import time

    X, Y = digits(100)
    net = network(weight_decay=1e-3)
    objective = NetworkObjective(net)
    evaluate = objective.evaluate

    def slow(theta, batch, grad):
        time.sleep(0.02)
        return evaluate(theta, batch, grad)

    monkeypatch.setattr(objective, "evaluate", slow)
    iterates = []
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(dp.TrainingInterrupted):
            dp.train(
                objective,
                X,
                Y,
                optimizer="lbfgs",
                epochs=1000,
                callbacks=[lambda info: iterates.append(info.net.params.copy())],
            )
    finally:
        timer.cancel()
    assert iterates, "the run should have made some iterations before Ctrl-C"
    np.testing.assert_array_equal(net.params, iterates[-1])
    assert not any(t.name == "lbfgs" and t.is_alive() for t in threading.enumerate())


def test_a_resumed_sparse_run_keeps_its_history_columns(tmp_path):
    net = autoencoder_network(16, 4, seed=1)
    X = np.random.default_rng(2).uniform(0.1, 0.9, size=(30, 16))
    objective = SparseObjective(net, sparsity_target=0.1)
    path = tmp_path / "sparse.ckpt"
    dp.train(objective, X, X, optimizer="adam", learning_rate=0.01, epochs=2, checkpoint=path)
    again = SparseObjective(autoencoder_network(16, 4, seed=1), sparsity_target=0.1)
    history = dp.train(again, X, X, optimizer="adam", learning_rate=0.01, epochs=4, resume=path)
    assert len(history.train_sparsity) == 4 and len(history.mean_activation) == 4
