"""Dropout: the masks' equations in both engines, their gradient check, reruns and resume."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import backprop
from deltaprop.autoencoder import SparseObjective
from deltaprop.compiled import engine_for
from deltaprop.dropout import FixedMasks, Masks, check_dropout
from deltaprop.objective import Batch, NetworkObjective
from test_training import blobs, same_history  # the same data and history check


def masks_for(net, m, rates, seed=0):
    return Masks(rates, net.layer_sizes, net.dtype, net.from_host).draw(
        np.random.default_rng(seed), m
    )


# --- the rates -------------------------------------------------------------------------------


def test_check_dropout_normalises_and_names_the_argument():
    assert check_dropout(None, 2) is None
    assert check_dropout(0, 2) is None
    assert check_dropout(0.0, 0) is None
    assert check_dropout(0.25, 2) == (0.25, 0.25)
    assert check_dropout([0.1, 0.0], 2) == (0.1, 0.0)
    with pytest.raises(ValueError, match=r"dropout must be a probability .* \[0, 1\), got 1"):
        check_dropout(1, 2)
    with pytest.raises(ValueError, match=r"dropout\[1\] must be a probability .* got -0.1"):
        check_dropout([0.2, -0.1], 2)
    with pytest.raises(ValueError, match=r"dropout: 3 rate\(s\) for 2 hidden layer\(s\)"):
        check_dropout([0.1, 0.1, 0.1], 2)
    with pytest.raises(ValueError, match=r"no hidden layer"):
        check_dropout(0.5, 0)
    with pytest.raises(ValueError, match=r"dropout: expected a rate"):
        check_dropout("0.2", 1)
    with pytest.raises(ValueError, match=r"dropout: expected a rate .* got True"):
        check_dropout(True, 1)


def test_masks_are_zero_or_the_inverted_scale_at_the_rate():
    net = dp.Network([3, 400, 300, 2], seed=0)
    masks = masks_for(net, 500, (0.2, 0.0))
    assert masks[0] is None and masks[2] is None and masks[3] is None
    r = masks[1]
    assert r.shape == (500, 400) and r.dtype == np.float64
    assert set(np.unique(r)) == {0.0, 1.0 / 0.8}
    assert abs(np.mean(r == 0) - 0.2) < 0.01  # 200 000 draws: the rate to within 0.01
    assert abs(r.mean() - 1.0) < 0.02  # inverted dropout keeps E[ã] = a
    f32 = dp.Network([3, 10, 2], dtype="float32", seed=0)
    assert masks_for(f32, 4, (0.5,))[1].dtype == np.float32


# --- the equations: backprop is the definition, the numpy engine equals it --------------------


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softplus"])
def test_backprop_with_masks_is_the_thinned_networks_chain_rule(activation):
    # A masked unit contributes nothing downstream: dropping unit i of layer 2 is the same
    # as zeroing row i of W⁽¹⁾'s output weights' column; kept units are scaled by 1/(1 − p).
    rng = np.random.default_rng(0)
    net = dp.Network([3, 4, 2], activation=activation, seed=1)
    x = rng.normal(size=(5, 3))
    masks = masks_for(net, 5, (0.5,))
    r = masks[1]
    trace = backprop.forward(np, net.W, net.b, net.activations, x, masks)
    a2 = net.activations[0].f(np, x @ net.W[0].T + net.b[0])
    np.testing.assert_allclose(
        trace.output, net.activations[1].f(np, (a2 * r) @ net.W[1].T + net.b[1])
    )
    np.testing.assert_array_equal(trace.a[1], a2)  # a stays f(z): f′ reads it
    np.testing.assert_array_equal(trace.input(1), a2 * r)


@pytest.mark.parametrize("cost", ["squared_error", "cross_entropy"])
@pytest.mark.parametrize("weights", [False, True])
def test_numpy_engine_equals_backprop_with_masks(cost, weights):
    rng = np.random.default_rng(2)
    net = dp.Network([5, 7, 6, 3], activation="tanh", cost=cost, weight_decay=0.01, seed=0)
    x = rng.normal(size=(9, 5))
    y = np.eye(3)[rng.integers(0, 3, 9)] if cost == "cross_entropy" else rng.uniform(size=(9, 3))
    w = rng.uniform(0.5, 2, 9) if weights else None
    masks = masks_for(net, 9, (0.3, 0.6))
    g_ref, g_fast = np.empty(net.n_params), np.empty(net.n_params)
    ref = NetworkObjective(net, engine="reference").evaluate(
        net.params, Batch(x, y, w, masks), g_ref
    )
    fast = NetworkObjective(net, engine="numpy").evaluate(net.params, Batch(x, y, w, masks), g_fast)
    assert ref.parts[0] == pytest.approx(fast.parts[0], rel=1e-14)
    np.testing.assert_allclose(g_fast, g_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fast.output, ref.output, rtol=1e-14)
    # and the masks matter: without them both give another gradient
    g_plain = np.empty(net.n_params)
    NetworkObjective(net).evaluate(net.params, Batch(x, y, w), g_plain)
    assert not np.allclose(g_plain, g_ref)
    direct = np.empty(net.n_params)
    engine = engine_for(net)
    assert engine is not None
    engine.cost_and_grad(net.params, direct, 0.01, x, y, w, masks)
    np.testing.assert_allclose(direct, g_ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", ("tanh", "softplus")])
@pytest.mark.parametrize("cost", ["squared_error", "cross_entropy"])
def test_gradient_check_with_a_fixed_mask(activation, cost):
    rng = np.random.default_rng(3)
    net = dp.Network([4, 5, 6, 3], activation=activation, cost=cost, weight_decay=1e-3, seed=2)
    # Biases away from 0: a row whose units are all dropped has z = b, which must not sit
    # on relu's kink at 0, where J has no derivative for the differences to measure.
    net.params[net.layout.n_weights :] = rng.uniform(0.05, 0.2, net.n_params - net.layout.n_weights)
    x = rng.normal(size=(6, 4))
    y = np.eye(3)[rng.integers(0, 3, 6)] if cost == "cross_entropy" else rng.uniform(size=(6, 3))
    masks = masks_for(net, 6, (0.4, 0.25), seed=5)
    result = dp.check_gradient(FixedMasks(NetworkObjective(net), masks), x, y, epsilon=1e-5)
    assert result.ok, result
    # a float32 network's masks are carried to the float64 twin that the check runs
    f32 = dp.Network([4, 5, 6, 3], activation=activation, cost=cost, dtype="float32", seed=2)
    f32.params = net.params
    f32_masks = masks_for(f32, 6, (0.4, 0.25), seed=5)
    assert dp.check_gradient(FixedMasks(NetworkObjective(f32), f32_masks), x, y, epsilon=1e-5).ok


def test_gradient_check_catches_masks_left_out_of_the_backward_pass(monkeypatch):
    rng = np.random.default_rng(4)
    net = dp.Network([3, 5, 2], activation="tanh", seed=0)
    x, y = rng.normal(size=(4, 3)), rng.uniform(size=(4, 2))
    masks = masks_for(net, 4, (0.5,))
    good = dp.check_gradient(FixedMasks(NetworkObjective(net), masks), x, y, epsilon=1e-5)
    assert good.ok
    real_backward = backprop.backward

    def forgets_masks(xp, W, f, trace, delta_out):
        return real_backward(xp, W, f, backprop.Trace(trace.z, trace.a), delta_out)

    monkeypatch.setattr(backprop, "backward", forgets_masks)
    bad = dp.check_gradient(FixedMasks(NetworkObjective(net), masks), x, y, epsilon=1e-5)
    assert not bad.ok


def test_fixed_masks_need_an_objective_that_takes_them():
    net = dp.Network([4, 2, 4], seed=0)
    with pytest.raises(ValueError, match=r"objective: SparseObjective does not take dropout"):
        FixedMasks(SparseObjective(net, sparsity_target=0.1, beta=3.0), [None, None, None])


# --- training ------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "reference"])
def test_dropout_reruns_are_bit_exact_and_differ_from_no_dropout(engine):
    X, Y = blobs()

    def fit(objective=None, **dropout):
        net = dp.Network([4, 16, 8, 3], activation="relu", cost="cross_entropy", seed=3)
        h = dp.train(
            NetworkObjective(net, engine=engine) if objective else net,
            X,
            Y,
            optimizer="adam",
            learning_rate=0.01,
            batch_size=16,
            epochs=6,
            validation=0.2,
            seed=5,
            **dropout,
        )
        return net.params.copy(), h

    runs = [fit(objective=True, dropout=(0.3, 0.1)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    same_history(runs[0][1], runs[1][1])
    plain, _ = fit()
    assert not np.allclose(plain, runs[0][0])
    zero, _ = fit(dropout=0.0)
    np.testing.assert_array_equal(zero, plain)  # rate 0: no masks, no draws


def test_both_engines_train_the_same_with_dropout():
    X, Y = blobs()
    nets = {}
    for engine in ("numpy", "reference"):
        net = dp.Network([4, 12, 3], activation="tanh", cost="cross_entropy", seed=1)
        dp.train(
            NetworkObjective(net, engine=engine),
            X,
            Y,
            optimizer="momentum",
            learning_rate=0.05,
            batch_size=10,
            epochs=5,
            dropout=0.5,
            seed=2,
        )
        nets[engine] = net.params
    np.testing.assert_allclose(nets["numpy"], nets["reference"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nesterov"])
def test_resume_with_dropout_reproduces_the_uninterrupted_run(optimizer, tmp_path):
    X, Y = blobs()
    kw = dict(
        optimizer=optimizer,
        learning_rate=0.05,
        batch_size=16,
        validation=0.2,
        early_stopping=50,
        seed=11,
        dropout=(0.2, 0.4),
    )
    straight = dp.Network([4, 10, 6, 3], cost="cross_entropy", seed=3)
    h_straight = dp.train(straight, X, Y, epochs=8, **kw)
    first = dp.Network([4, 10, 6, 3], cost="cross_entropy", seed=3)
    ckpt = tmp_path / "run.ckpt"
    dp.train(first, X, Y, epochs=4, checkpoint=ckpt, checkpoint_every=4, **kw)
    second = dp.Network([4, 10, 6, 3], cost="cross_entropy", seed=99)
    h_resumed = dp.train(second, X, Y, epochs=8, resume=ckpt, **kw)
    np.testing.assert_array_equal(second.params, straight.params)
    same_history(h_resumed, h_straight)


def test_resume_refuses_other_dropout_rates(tmp_path):
    X, Y = blobs()
    ckpt = tmp_path / "run.ckpt"
    kw = dict(optimizer="sgd", batch_size=16, seed=1)
    net = dp.Network([4, 10, 3], cost="cross_entropy", seed=3)
    dp.train(net, X, Y, epochs=2, checkpoint=ckpt, checkpoint_every=2, dropout=0.5, **kw)
    for other in (None, 0.2):
        with pytest.raises(ValueError, match=r"trained with dropout \[0\.5\], this run asks"):
            dp.train(net, X, Y, epochs=4, resume=ckpt, dropout=other, **kw)


def test_stepping_an_epoch_back_after_an_interrupt_redraws_the_same_masks():
    X, Y = blobs()
    straight = dp.Network([4, 8, 3], cost="cross_entropy", seed=0)
    dp.train(straight, X, Y, optimizer="sgd", batch_size=20, epochs=3, dropout=0.5, seed=1)
    net = dp.Network([4, 8, 3], cost="cross_entropy", seed=0)
    run = dp.trainer(net, X, Y, optimizer="sgd", batch_size=20, epochs=3, dropout=0.5, seed=1)
    run.run_epoch()
    run.step_once()  # part of epoch 2 ...
    run._on_interrupt()  # ... undone: θ, steps and the generator back to its start
    run.finished = False
    run.run()
    np.testing.assert_array_equal(net.params, straight.params)


def test_validation_and_prediction_use_the_whole_network():
    X, Y = blobs()
    net = dp.Network([4, 12, 3], activation="relu", cost="cross_entropy", seed=0)
    Xv, Yv = X[:30], Y[:30]
    h = dp.train(
        net,
        X[30:],
        Y[30:],
        optimizer="adam",
        learning_rate=0.01,
        batch_size=15,
        epochs=3,
        dropout=0.5,
        validation=(Xv, Yv),
    )
    data, decay = net.cost_terms(Xv, Yv)
    assert h.val_loss[-1] == pytest.approx(data + decay, rel=1e-12)
    hidden = np.maximum(Xv @ net.W[0].T + net.b[0], 0.0)  # no mask, no 1/(1 − p) scaling
    z = hidden @ net.W[1].T + net.b[1]
    softmax = np.exp(z - z.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(net.predict(Xv), softmax, rtol=1e-12, atol=1e-15)
    accuracy = np.mean(net.predict(Xv).argmax(1) == Yv.argmax(1))
    assert h.val_accuracy[-1] == pytest.approx(accuracy)


def test_dropout_is_refused_where_it_cannot_work():
    X, Y = blobs()
    net = dp.Network([4, 6, 3], cost="cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"dropout: L-BFGS needs the same J"):
        dp.train(net, X, Y, optimizer="lbfgs", dropout=0.2)
    with pytest.raises(ValueError, match=r"dropout: 2 rate\(s\) for 1 hidden layer"):
        dp.train(net, X, Y, dropout=[0.1, 0.2])
    ae = dp.Network([4, 3, 4], seed=0)
    with pytest.raises(ValueError, match=r"does not take dropout masks"):
        dp.train(
            SparseObjective(ae, sparsity_target=0.1, beta=3.0),
            X,
            X / 10 + 0.5,
            dropout=0.2,
            optimizer="sgd",
        )
    before = net.params.copy()
    np.testing.assert_array_equal(net.params, before)


def test_float32_training_with_dropout_stays_float32():
    X, Y = blobs()
    net = dp.Network([4, 8, 3], cost="cross_entropy", dtype="float32", seed=0)
    h = dp.train(net, X, Y, optimizer="adam", batch_size=16, epochs=2, dropout=0.3)
    assert net.params.dtype == np.float32 and np.all(np.isfinite(h.train_loss))
