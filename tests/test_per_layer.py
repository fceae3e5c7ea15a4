"""One activation per hidden layer: the network, both engines, files, explain, the command."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from safetensors.numpy import save as st_save
from sklearn.base import clone

import deltaprop as dp
from deltaprop import activations as acts
from deltaprop.cli import main
from deltaprop.explain import explain
from deltaprop.io import ModelFileError, load_model, save_model
from deltaprop.objective import Batch, NetworkObjective
from deltaprop.sklearn import MLPClassifier, MLPRegressor
from deltaprop.sklearn import load as load_estimator

MIXES = [("relu", "tanh"), ("sigmoid", "softplus"), ("leaky_relu", "identity")]


def test_one_activation_per_hidden_layer():
    net = dp.Network([3, 5, 4, 2], activation=("relu", "tanh"), seed=0)
    assert net.activations == [acts.relu, acts.tanh, acts.sigmoid]
    assert net.hidden_activations == (acts.relu, acts.tanh)
    assert net.activation == (acts.relu, acts.tanh)
    assert net.activation_name == ("relu", "tanh")
    assert net.activation_label == "relu, tanh"
    assert "activation=('relu', 'tanh')" in repr(net)
    assert net.init == "glorot"  # a mix: Glorot; all relu: He; all sigmoid: UFLDL
    same = dp.Network([3, 5, 4, 2], activation=["tanh", "tanh"], seed=0)
    single = dp.Network([3, 5, 4, 2], activation="tanh", seed=0)
    assert same.activation is acts.tanh and repr(same) == repr(single)
    np.testing.assert_array_equal(same.params, single.params)
    assert dp.Network([3, 5, 4, 2], activation=("relu", "leaky_relu")).init == "he"
    assert dp.Network([3, 5, 2], activation=[acts.softplus]).activation is acts.softplus


def test_per_layer_activation_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"activation: 3 activation\(s\) for 2 hidden layer"):
        dp.Network([3, 5, 4, 2], activation=("relu", "tanh", "relu"))
    with pytest.raises(ValueError, match=r"activation\[1\]: 'softmax' couples the units"):
        dp.Network([3, 5, 4, 2], activation=("relu", "softmax"))
    with pytest.raises(ValueError, match=r"activation\[0\]: unknown activation 'rulu'"):
        dp.Network([3, 5, 4, 2], activation=("rulu", "tanh"))
    with pytest.raises(ValueError, match=r"activation: expected a name"):
        dp.Network([3, 5, 2], activation=3)


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("cost", ["squared_error", "cross_entropy"])
def test_gradient_check_per_layer(mix, cost):
    rng = np.random.default_rng(0)
    net = dp.Network([4, 6, 5, 3], activation=mix, cost=cost, weight_decay=1e-3, seed=1)
    x = rng.normal(size=(7, 4))
    y = np.eye(3)[rng.integers(0, 3, 7)] if cost == "cross_entropy" else rng.uniform(size=(7, 3))
    result = dp.check_gradient(net, x, y, epsilon=1e-5)
    assert result.ok, result
    for check in dp.check_deltas(net, x, y):
        assert check.relative_error < 1e-7, check


@pytest.mark.parametrize("mix", MIXES)
def test_numpy_engine_equals_backprop_per_layer(mix):
    rng = np.random.default_rng(1)
    net = dp.Network([4, 6, 5, 3], activation=mix, weight_decay=0.01, seed=1)
    x, y = rng.normal(size=(9, 4)), rng.uniform(size=(9, 3))
    g_ref, g_fast = np.empty(net.n_params), np.empty(net.n_params)
    ref = NetworkObjective(net, engine="reference").evaluate(net.params, Batch(x, y), g_ref)
    fast = NetworkObjective(net, engine="numpy").evaluate(net.params, Batch(x, y), g_fast)
    assert fast.parts == pytest.approx(ref.parts, rel=1e-14)  # sums in another order
    np.testing.assert_allclose(g_fast, g_ref, rtol=1e-12, atol=1e-15)
    # each layer really uses its own f: the second hidden layer's a is f₂(z)
    trace = net.forward(x)
    second = acts.ACTIVATIONS[mix[1]]
    np.testing.assert_array_equal(trace.a[2], second.f(np, trace.z[2]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_file_round_trip_per_layer(tmp_path, dtype):
    net = dp.Network([4, 6, 5, 3], activation=("relu", "tanh"), cost="cross_entropy", dtype=dtype)
    path = tmp_path / "m.safetensors"
    save_model(net, path)
    back = load_model(path)
    assert repr(back) == repr(net) and back.activation_name == ("relu", "tanh")
    np.testing.assert_array_equal(back.params, net.params)
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    # a network with one activation still writes one name, as every older file has it
    save_model(dp.Network([4, 6, 5, 3], activation="tanh"), tmp_path / "one.safetensors")
    assert isinstance(_metadata(tmp_path / "one.safetensors")["activation"], str)
    assert _metadata(path)["activation"] == ["relu", "tanh"]


def test_checkpoint_resume_per_layer(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 4)), np.eye(3)[rng.integers(0, 3, 60)]
    kw = dict(optimizer="adam", batch_size=10, seed=2, learning_rate=0.01)
    straight = dp.Network([4, 6, 5, 3], activation=("relu", "tanh"), cost="cross_entropy", seed=0)
    dp.train(straight, X, Y, epochs=6, **kw)
    first = dp.Network([4, 6, 5, 3], activation=("relu", "tanh"), cost="cross_entropy", seed=0)
    dp.train(first, X, Y, epochs=3, checkpoint=tmp_path / "c", checkpoint_every=3, **kw)
    second = dp.Network([4, 6, 5, 3], activation=("relu", "tanh"), cost="cross_entropy", seed=5)
    dp.train(second, X, Y, epochs=6, resume=tmp_path / "c", **kw)
    np.testing.assert_array_equal(second.params, straight.params)
    other = dp.Network([4, 6, 5, 3], activation=("tanh", "relu"), cost="cross_entropy", seed=5)
    with pytest.raises(ValueError, match=r"cannot resume"):
        dp.train(other, X, Y, epochs=6, resume=tmp_path / "c", **kw)


def _metadata(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(json.loads(raw[8 : 8 + n])["__metadata__"]["deltaprop"])


@pytest.mark.parametrize(
    "activation,message",
    [
        (["relu"], r"activation must be a name or a list of one name per hidden layer \(2\)"),
        (["relu", 3], r"activation must be a name or a list"),
        (["relu", "swish"], r"unknown activation 'swish'"),
        (["relu", "softmax"], r"the stored architecture is invalid: activation\[1\]"),
    ],
)
def test_malformed_per_layer_activations_in_a_file_are_refused(tmp_path, activation, message):
    net = dp.Network([4, 6, 5, 3], activation=("relu", "tanh"))
    good = tmp_path / "good.safetensors"
    save_model(net, good)
    info = _metadata(good)
    info.update(format_version=1, activation=activation)
    info.pop("checksum")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(
        st_save({"params": np.asarray(net.params)}, metadata={"deltaprop": json.dumps(info)})
    )
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)


def test_explain_names_each_layers_activation():
    e = explain(layers=(2, 3, 3, 2), activation=("relu", "tanh"), experiments=False)
    assert e.ok
    assert e.config["activation"] == "relu, tanh"
    text = " ".join(e.to_text().split())
    assert "layer 2 uses f = relu(z)" in text and "layer 3 uses f = tanh(z)" in text
    assert "= relu(" in text and "= tanh(" in text  # each layer's a = f(z), with its own f


def test_command_line_takes_one_activation_per_hidden_layer(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["train", "xor", "--hidden", "6-5", "--activation", "relu,tanh", "--dropout", "0.1,0.2"]
    code = main([*argv, "--epochs", "3", "--no-plot", "-q", "-o", "m.safetensors"])
    assert code == 0, capsys.readouterr().err
    net = load_model(tmp_path / "m.safetensors")
    assert net.activation_name == ("relu", "tanh")
    capsys.readouterr()
    assert main(["info", "m.safetensors"]) == 0
    assert "hidden relu, tanh; output softmax" in capsys.readouterr().out
    for bad, words in [
        (["--activation", "relu,tanh,relu"], "--activation: 3 activation(s) for 2 hidden layer(s)"),
        (["--activation", "relu,rulu"], "--activation: unknown activation 'rulu'"),
        (["--dropout", "0.1,0.2,0.3"], "--dropout: 3 rate(s) for 2 hidden layer(s)"),
        (["--dropout", "1"], "--dropout must be a probability of dropping a unit, in [0, 1)"),
        (["--dropout", "x"], "--dropout: expected a rate such as 0.2"),
        (["--dropout", "0.2", "--optimizer", "lbfgs"], "--dropout: L-BFGS needs the same J"),
    ]:
        code = main(["train", "xor", "--hidden", "6-5", *bad, "-q", "-o", "n.safetensors"])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "Traceback" not in err, err
        assert not (tmp_path / "n.safetensors").exists()


# --- the estimators --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_estimators_take_an_activation_per_hidden_layer(make, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    y = (X[:, 0] > 0).astype(int) if make is MLPClassifier else X[:, 0] - X[:, 1]
    est = make(
        hidden_layer_sizes=(8, 6),
        activation=("relu", "logistic"),
        solver="lbfgs",
        max_iter=50,
        random_state=0,
    )
    est.fit(X, y)
    assert est.network_.activation_name == ("relu", "sigmoid")
    est.save(tmp_path / "e.safetensors")
    back = load_estimator(tmp_path / "e.safetensors")
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    assert back.get_params()["activation"] == ("relu", "logistic")
    copied = pickle.loads(pickle.dumps(est))  # the user's own object: pickle is fine here
    np.testing.assert_array_equal(copied.predict(X), est.predict(X))
    assert clone(est).get_params()["activation"] == ("relu", "logistic")
    same = make(
        hidden_layer_sizes=(8, 6),
        activation=("tanh", "tanh"),
        solver="lbfgs",
        max_iter=50,
        random_state=0,
    )
    one = make(
        hidden_layer_sizes=(8, 6), activation="tanh", solver="lbfgs", max_iter=50, random_state=0
    )
    np.testing.assert_array_equal(same.fit(X, y).predict(X), one.fit(X, y).predict(X))
    with pytest.raises(ValueError, match=r"activation: 3 activation\(s\) for 2 hidden layer"):
        make(hidden_layer_sizes=(8, 6), activation=("relu", "tanh", "relu")).fit(X, y)
    with pytest.raises(ValueError, match=r"activation\[1\]: unknown"):
        make(hidden_layer_sizes=(8, 6), activation=("relu", "swish")).fit(X, y)


@pytest.mark.parametrize("make", [MLPClassifier, MLPRegressor])
def test_estimators_dropout(make):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] > 0).astype(int) if make is MLPClassifier else X[:, 0] - X[:, 1]
    kw = dict(hidden_layer_sizes=(16, 8), max_iter=5, random_state=0, learning_rate_init=0.01)
    with pytest.warns(Warning):
        a = make(dropout=(0.3, 0.1), **kw).fit(X, y)
    with pytest.warns(Warning):
        b = make(dropout=(0.3, 0.1), **kw).fit(X, y)
    with pytest.warns(Warning):
        plain = make(**kw).fit(X, y)
    with pytest.warns(Warning):
        zero = make(dropout=0.0, **kw).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])  # the same random_state: the same masks
    assert not np.allclose(a.coefs_[0], plain.coefs_[0])
    np.testing.assert_array_equal(zero.coefs_[0], plain.coefs_[0])
    np.testing.assert_array_equal(a.predict(X), a.predict(X))  # prediction uses no masks
    p1 = make(dropout=0.5, hidden_layer_sizes=(8,), random_state=0)
    p2 = make(dropout=0.5, hidden_layer_sizes=(8,), random_state=0)
    extra = {"classes": [0, 1]} if make is MLPClassifier else {}
    p1.partial_fit(X, y, **extra)
    p2.partial_fit(X, y, **extra)
    np.testing.assert_array_equal(p1.coefs_[0], p2.coefs_[0])
    before = p1.coefs_[0].copy()
    p1.partial_fit(X, y)
    assert not np.array_equal(p1.coefs_[0], before)
    with pytest.raises(ValueError, match=r"dropout: solver='lbfgs' needs the same loss"):
        make(dropout=0.2, solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match=r"dropout: 1 rate\(s\) for 2 hidden layer"):
        make(hidden_layer_sizes=(4, 4), dropout=[0.2]).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimator_file_from_before_dropout_still_loads(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    est = MLPClassifier((4,), solver="lbfgs", max_iter=20, random_state=0).fit(X, y)
    est.save(tmp_path / "new.safetensors")
    raw = (tmp_path / "new.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    info = json.loads(json.loads(raw[8 : 8 + n])["__metadata__"]["deltaprop"])
    del info["extra"]["sklearn"]["params"]["dropout"]  # as deltaprop wrote it before dropout
    tensors = {"params": np.asarray(est.network_.params)}
    old = tmp_path / "old.safetensors"
    old.write_bytes(st_save(tensors, metadata={"deltaprop": json.dumps(info)}))
    back = load_estimator(old)
    assert back.dropout is None
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    info["extra"]["sklearn"]["params"]["surprise"] = 1  # an unknown parameter is still refused
    old.write_bytes(st_save(tensors, metadata={"deltaprop": json.dumps(info)}))
    with pytest.raises(ModelFileError, match=r"surprise"):
        load_estimator(old)


def test_a_network_pickled_before_per_layer_activations_unpickles():
    net = dp.Network([3, 4, 4, 2], activation="tanh", seed=0)
    state = net.__getstate__()
    del state["hidden_activations"]  # what an older deltaprop pickled
    old = object.__new__(dp.Network)
    old.__setstate__(state)
    assert old.activations == net.activations
    x = np.ones((2, 3))
    np.testing.assert_array_equal(old.predict(x), net.predict(x))


def test_explain_command_takes_one_activation_per_hidden_layer(capsys):
    argv = ["explain", "--layers", "2-3-3-2", "--activation", "relu,tanh", "--no-experiments"]
    assert main(argv) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "layer 2 uses f = relu(z)" in out and "layer 3 uses f = tanh(z)" in out
    assert main(["explain", "--layers", "2-3-2", "--activation", "relu,tanh"]) == 2
    assert "--activation: 2 activation(s) for 1 hidden layer(s)" in capsys.readouterr().err
