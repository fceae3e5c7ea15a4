"""Training: the update rules, learning, resume, divergence, early stopping, progress."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.optim import StepDecay
from deltaprop.progress import ProgressReporter

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


def blobs(seed=0, m=120):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=m)
    X = rng.normal(size=(m, 4)) + 2.0 * np.eye(3, 4)[labels]
    return X, np.eye(3)[labels]


def same_history(a: dp.History, b: dp.History) -> None:
    for name, value in vars(a).items():
        if name != "wall_time":
            assert value == getattr(b, name) or (
                isinstance(value, list) and np.array_equal(value, getattr(b, name), equal_nan=True)
            ), name


def test_one_epoch_of_gd_is_the_seeds_update():
    # W := W − α ∂J/∂W, b := b − α ∂J/∂b over all m examples.
    net = dp.Network([2, 3, 1], seed=0)
    theta0 = net.params.copy()
    J0, grad = net.cost_and_grad(XOR_X, XOR_Y)
    hist = dp.train(net, XOR_X, XOR_Y, optimizer="gd", learning_rate=0.5, epochs=1)
    # the compiled engine's e^x and sums may differ from numpy's in the last bit
    np.testing.assert_allclose(net.params, theta0 - 0.5 * grad, rtol=1e-14, atol=0)
    assert hist.train_loss == pytest.approx([J0], rel=1e-14)  # J where the update started
    assert hist.steps == [1]


def test_sgd_minibatches_cover_each_example_once_per_epoch():
    X, Y = blobs()
    net = dp.Network([4, 5, 3], cost="cross_entropy", seed=0)
    hist = dp.train(net, X, Y, optimizer="sgd", batch_size=50, epochs=3, seed=1)
    assert hist.steps == [3, 6, 9]  # 50 + 50 + 20 per epoch


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov", "adam"])
def test_learns_xor(optimizer):
    net = dp.Network([2, 2, 1], activation="sigmoid", seed=1)
    lr = 0.1 if optimizer == "adam" else 2.0
    dp.train(net, XOR_X, XOR_Y, optimizer=optimizer, learning_rate=lr, epochs=3000)
    out = net.predict(XOR_X).ravel()
    assert np.all((out > 0.5) == (XOR_Y.ravel() > 0.5)), out


def test_learns_xor_with_lbfgs():
    net = dp.Network([2, 2, 1], activation="sigmoid", seed=1)
    hist = dp.train(net, XOR_X, XOR_Y, optimizer="lbfgs", epochs=200)
    out = net.predict(XOR_X).ravel()
    assert np.all((out > 0.5) == (XOR_Y.ravel() > 0.5)), out
    assert hist.stop_reason.startswith("converged")


def test_fits_sine():
    x = np.linspace(-np.pi, np.pi, 200).reshape(-1, 1)
    y = np.sin(x)
    net = dp.Network([1, 20, 1], activation="tanh", output_activation="identity", seed=0)
    dp.train(net, x, y, optimizer="lbfgs", epochs=500)
    mse = float(np.mean((net.predict(x) - y) ** 2))
    assert mse < 1e-3, mse


def test_digits_reaches_97_percent():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    assert sklearn
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    net = dp.Network(
        [64, 100, 10], activation="tanh", cost="cross_entropy", weight_decay=1e-4, seed=0
    )
    dp.train(
        net,
        Xtr,
        np.eye(10)[ytr],
        optimizer="momentum",
        learning_rate=0.05,
        batch_size=32,
        epochs=40,
        seed=0,
    )
    acc = np.mean(np.argmax(net.predict(Xte), axis=1) == yte)
    assert acc >= 0.97, acc


def test_lbfgs_reaches_scipys_optimum():
    from scipy.optimize import minimize

    X, Y = blobs(m=40)
    net = dp.Network([4, 3, 3], activation="tanh", cost="cross_entropy", weight_decay=1e-2, seed=0)
    theta0 = net.params.copy()
    direct = minimize(
        lambda th: net.cost_and_grad(X, Y, params=th),
        theta0,
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": 500},
    )
    dp.train(net, X, Y, optimizer="lbfgs", epochs=500)
    J, _ = net.cost_and_grad(X, Y)
    assert J == pytest.approx(direct.fun, rel=1e-8)
    np.testing.assert_allclose(net.params, direct.x, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "adam", "lbfgs"])
def test_two_runs_with_the_same_seed_are_bit_identical(optimizer):
    X, Y = blobs()
    runs = []
    for _ in range(2):
        net = dp.Network([4, 6, 3], cost="cross_entropy", seed=3)
        hist = dp.train(
            net,
            X,
            Y,
            optimizer=optimizer,
            learning_rate=0.05,
            epochs=6,
            batch_size=None if optimizer in ("gd", "lbfgs") else 16,
            validation=0.25,
            seed=7,
        )
        runs.append((net.params.copy(), hist))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    same_history(runs[0][1], runs[1][1])


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov", "adam"])
def test_resume_reproduces_the_uninterrupted_run(optimizer, tmp_path):
    X, Y = blobs()
    kw = dict(
        optimizer=optimizer,
        learning_rate=StepDecay(0.05, factor=0.5, every=3),
        batch_size=16,
        validation=0.2,
        early_stopping=50,
        seed=11,
    )
    straight = dp.Network([4, 6, 3], cost="cross_entropy", seed=3)
    h_straight = dp.train(straight, X, Y, epochs=10, **kw)

    first = dp.Network([4, 6, 3], cost="cross_entropy", seed=3)
    ckpt = tmp_path / "run.ckpt"
    dp.train(first, X, Y, epochs=5, checkpoint=ckpt, checkpoint_every=5, **kw)
    second = dp.Network([4, 6, 3], cost="cross_entropy", seed=99)  # θ comes from the file
    h_resumed = dp.train(second, X, Y, epochs=10, resume=ckpt, **kw)

    np.testing.assert_array_equal(second.params, straight.params)
    same_history(h_resumed, h_straight)


def test_resume_rejects_another_architecture(tmp_path):
    X, Y = blobs()
    net = dp.Network([4, 6, 3], cost="cross_entropy", seed=3)
    dp.train(net, X, Y, epochs=1, checkpoint=tmp_path / "c", optimizer="sgd")
    other = dp.Network([4, 7, 3], cost="cross_entropy", seed=3)
    with pytest.raises(ValueError, match=r"resume: .* holds Network\(4-6-3"):
        dp.train(other, X, Y, epochs=2, resume=tmp_path / "c", optimizer="sgd")
    with pytest.raises(ValueError, match=r"trained with optimizer 'sgd', this run asks for 'adam'"):
        dp.train(net, X, Y, epochs=2, resume=tmp_path / "c", optimizer="adam")


@pytest.mark.parametrize("optimizer,batch_size", [("gd", None), ("sgd", 10), ("momentum", 10)])
def test_divergence_stops_with_finite_parameters(optimizer, batch_size):
    x = np.linspace(-3, 3, 50).reshape(-1, 1)
    y = 1e3 * x
    net = dp.Network([1, 8, 1], activation="relu", output_activation="identity", seed=0)
    with pytest.raises(
        dp.TrainingDiverged, match=r"diverged at epoch .*smaller learning_rate"
    ) as e:
        dp.train(
            net, x, y, optimizer=optimizer, learning_rate=1e6, epochs=50, batch_size=batch_size
        )
    assert np.all(np.isfinite(net.params))
    J, _ = net.cost_and_grad(x, y)
    assert math.isfinite(J)  # the parameters put back are ones where J was finite
    assert isinstance(e.value.history, dp.History)


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_non_finite_cost_at_the_start_leaves_parameters_alone(optimizer):
    x = np.ones((3, 1))
    y = np.full((3, 1), 1e200)  # ½(a − y)² overflows at once
    net = dp.Network([1, 2, 1], output_activation="identity", seed=0)
    before = net.params.copy()
    with pytest.raises(dp.TrainingDiverged, match="diverged at"):
        dp.train(net, x, y, optimizer=optimizer, epochs=5)
    np.testing.assert_array_equal(net.params, before)


def test_early_stopping_restores_the_best_parameters():
    X, Y = blobs(m=60)
    Xv, Yv = blobs(seed=1, m=60)
    net = dp.Network([4, 30, 3], cost="cross_entropy", seed=0)
    seen = {}

    def remember(info: dp.EpochEnd) -> None:
        seen[info.epoch] = info.net.params.copy()

    hist = dp.train(
        net,
        X,
        Y,
        optimizer="adam",
        learning_rate=0.05,
        epochs=300,
        validation=(Xv, Yv),
        early_stopping=5,
        callbacks=[remember],
    )
    assert hist.stopped_early and len(hist) < 300
    best = int(np.nanargmin(hist.val_loss))
    assert hist.best_epoch == best and len(hist) == best + 1 + 5
    np.testing.assert_array_equal(net.params, seen[best])


def test_callback_can_stop_and_history_has_every_field():
    X, Y = blobs()
    hist = dp.train(
        dp.Network([4, 5, 3], cost="cross_entropy", weight_decay=1e-3, seed=0),
        X,
        Y,
        optimizer="sgd",
        epochs=50,
        validation=0.25,
        callbacks=[lambda info: info.epoch == 3],
    )
    assert len(hist) == 4 and hist.stop_reason == "stopped by a callback"
    for i in range(4):
        assert hist.train_loss[i] == pytest.approx(hist.train_data[i] + hist.train_decay[i])
        assert hist.train_decay[i] > 0 and 0 <= hist.val_accuracy[i] <= 1
    assert hist.learning_rate == [0.1] * 4
    assert hist.wall_time == sorted(hist.wall_time)
    assert dp.History.from_dict(hist.to_dict()) == hist
    assert hist.to_csv().splitlines()[0].startswith("epoch,train_loss,train_data")


def test_ctrl_c_checkpoints_the_last_completed_epoch(tmp_path):
    X, Y = blobs()
    net = dp.Network([4, 5, 3], cost="cross_entropy", seed=0)
    after = {}

    def interrupt(info: dp.EpochEnd):
        after[info.epoch] = info.net.params.copy()
        if info.epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(dp.TrainingInterrupted) as err:
        dp.train(
            net,
            X,
            Y,
            optimizer="sgd",
            batch_size=10,
            epochs=10,
            checkpoint=tmp_path / "c.ckpt",
            callbacks=[interrupt],
        )
    assert err.value.checkpoint == str(tmp_path / "c.ckpt")
    saved, _, state = dp.load_checkpoint(tmp_path / "c.ckpt")
    assert state["epoch"] == 3
    np.testing.assert_array_equal(saved.params, after[2])
    np.testing.assert_array_equal(net.params, after[2])


class _LandsBetweenSteps:
    """The epoch under way, with a Ctrl-C that lands before its ``n``-th step: in the
    trainer's own frame, between two of the epoch generator's steps."""

    def __init__(self, run, n):
        self.run, self.n, self.closed = run, n, False

    def __next__(self):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt
        return next(self.run)

    def close(self):
        self.closed = True
        self.run.close()


def test_ctrl_c_between_steps_or_epochs_goes_back_to_the_last_whole_epoch(tmp_path):
    X, Y = blobs()
    net = dp.Network([4, 5, 3], cost="cross_entropy", seed=0)
    run = dp.trainer(
        net, X, Y, optimizer="adam", batch_size=10, epochs=10, checkpoint=tmp_path / "c.ckpt"
    )
    run.run_epoch()
    after_one, steps, rng = net.params.copy(), run.step, run.rng.bit_generator.state
    run.step_once()  # the second epoch has begun
    inside = _LandsBetweenSteps(run._epoch_run, 3)
    run._epoch_run = inside
    with pytest.raises(dp.TrainingInterrupted) as err:
        run.run_epoch()
    assert inside.closed and run.finished and err.value.checkpoint == str(tmp_path / "c.ckpt")
    np.testing.assert_array_equal(net.params, after_one)
    assert (run.epoch, run.step, len(run.history)) == (1, steps, 1)
    assert run.rng.bit_generator.state == rng
    saved, _, state = dp.load_checkpoint(tmp_path / "c.ckpt")
    np.testing.assert_array_equal(saved.params, after_one)
    assert state["epoch"] == 1

    between = dp.trainer(net, X, Y, optimizer="sgd", batch_size=10, epochs=10)
    calls = iter([True, True, KeyboardInterrupt])

    def run_epoch():
        outcome = next(calls)
        if outcome is KeyboardInterrupt:
            raise KeyboardInterrupt
        return dp.loop.Trainer.run_epoch(between)

    between.run_epoch = run_epoch
    with pytest.raises(dp.TrainingInterrupted, match="after epoch 2"):
        between.run()
    assert len(between.history) == 2


def test_progress_plain_lines_when_not_a_terminal():
    X, Y = blobs()
    stream = io.StringIO()
    dp.train(
        dp.Network([4, 5, 3], cost="cross_entropy", seed=0),
        X,
        Y,
        epochs=20,
        callbacks=[ProgressReporter(every=10, stream=stream)],
    )
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1/20", "10/20", "20/20"]
    assert "loss" in lines[0] and "acc" in lines[0]


def test_progress_live_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    X, Y = blobs()
    stream = Tty()
    reporter = ProgressReporter(stream=stream)
    dp.train(
        dp.Network([4, 5, 3], cost="cross_entropy", seed=0),
        X,
        Y,
        epochs=5,
        validation=0.2,
        callbacks=[reporter],
    )
    reporter.close()
    text = stream.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n") and "val_loss" in text
    assert "5/5 ████" in text


def test_silent_by_default(capsys):
    X, Y = blobs()
    dp.train(dp.Network([4, 5, 3], cost="cross_entropy", seed=0), X, Y, epochs=3)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"optimizer": "rmsprop"}, "optimizer: unknown optimizer 'rmsprop'; choose one of: gd"),
        ({"batch_size": 0}, "batch_size must be a whole number ≥ 1, got 0"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
        ({"early_stopping": 3}, "early_stopping needs validation data"),
        ({"validation": 0.001}, "holds out 0 of 120 examples"),
        ({"validation": (np.ones((3, 4)),)}, "validation: expected (X_val, Y_val)"),
        ({"learning_rate": -1.0}, "learning_rate must be a finite number at least 0.0"),
        ({"momentum": 1.5, "optimizer": "momentum"}, "momentum must be a number in [0, 1)"),
        ({"learning_rate": 0}, "learning_rate must be a positive finite number, got 0"),
        ({"adam_epsilon": 0.0, "optimizer": "adam"}, "adam_epsilon must be a positive"),
    ],
)
def test_bad_training_arguments(kwargs, words):
    X, Y = blobs()
    with pytest.raises(ValueError) as err:
        dp.train(dp.Network([4, 5, 3], cost="cross_entropy", seed=0), X, Y, **kwargs)
    assert words in str(err.value)


def test_model_file_round_trip_after_training(tmp_path):
    X, Y = blobs()
    net = dp.Network([4, 5, 3], cost="cross_entropy", dtype=np.float32, seed=0)
    hist = dp.train(net, X, Y, optimizer="adam", learning_rate=0.01, epochs=3)
    net.save(tmp_path / "m.safetensors", metadata={"history": hist.to_dict()})
    back = dp.load(tmp_path / "m.safetensors")
    assert back.params.dtype == np.float32
    np.testing.assert_array_equal(back.params, net.params)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    meta = dp.load_metadata(tmp_path / "m.safetensors")
    same_history(dp.History.from_dict(meta["extra"]["history"]), hist)


def test_sample_weight_equals_repeating_examples():
    X, Y = blobs(m=30)
    w = np.random.default_rng(0).integers(1, 4, size=30)
    Xr, Yr = np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0)
    net = dp.Network([4, 5, 3], cost="cross_entropy", weight_decay=1e-3, seed=0)
    J_w, g_w = net.cost_and_grad(X, Y, sample_weight=w)
    J_r, g_r = net.cost_and_grad(Xr, Yr)
    assert J_w == pytest.approx(J_r, rel=1e-13)
    np.testing.assert_allclose(g_w, g_r, rtol=1e-11, atol=1e-15)
    a, b = net.copy(), net.copy()
    dp.train(a, X, Y, optimizer="gd", epochs=5, sample_weight=w)
    dp.train(b, Xr, Yr, optimizer="gd", epochs=5)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "w,words",
    [
        (np.ones(5), "sample_weight must have one weight per example, shape (30,)"),
        (-np.ones(30), "sample_weight must be ≥ 0 with a positive sum"),
        (np.r_[np.nan, np.ones(29)], "sample_weight contains NaN at index 0"),
    ],
)
def test_bad_sample_weight(w, words):
    X, Y = blobs(m=30)
    with pytest.raises(ValueError) as err:
        dp.Network([4, 5, 3], cost="cross_entropy", seed=0).cost_and_grad(X, Y, sample_weight=w)
    assert words in str(err.value)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_optimizer_state_carries_over_between_calls(optimizer):
    X, Y = blobs()
    once = dp.Network([4, 5, 3], cost="cross_entropy", seed=0)
    dp.train(
        once,
        X,
        Y,
        optimizer=optimizer,
        learning_rate=0.01,
        batch_size=16,
        epochs=2,
        seed=np.random.default_rng(4),
    )
    twice = dp.Network([4, 5, 3], cost="cross_entropy", seed=0)
    state: dict = {}
    rng = np.random.default_rng(4)
    for _ in range(2):
        dp.train(
            twice,
            X,
            Y,
            optimizer=optimizer,
            learning_rate=0.01,
            batch_size=16,
            epochs=1,
            seed=rng,
            optimizer_state=state,
        )
    np.testing.assert_array_equal(twice.params, once.params)
    assert state and all(np.all(np.isfinite(v)) for v in state.values() if hasattr(v, "shape"))
