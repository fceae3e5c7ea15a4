"""Networks on a device: the same code on torch's CPU device here, on CUDA where there is one.

The device path (a namespace other than numpy: inputs kept where the network's
arrays are, J's parts summed on the device and brought to the host once per
epoch) runs here on torch's "cpu" device and on array-api-strict's simulated
"device1", where mixing devices is an error of the library itself; the CUDA
tests run wherever ``torch.cuda.is_available()``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop._arrays import to_numpy
from deltaprop._devices import is_host, where
from deltaprop.objective import NetworkObjective, own_method
from test_cli import error_line, run  # the command's test helpers

torch = pytest.importorskip("torch", reason="torch is not installed")
strict = pytest.importorskip("array_api_strict")

CUDA = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device (torch.cuda.is_available() is False)"
)
KW = dict(activation="tanh", cost="cross_entropy", weight_decay=1e-3, seed=1)


def data(m: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(m, 4)), np.eye(3)[rng.integers(0, 3, size=m)]


def tensors(device: str, *arrays: np.ndarray) -> list:
    return [torch.as_tensor(a, device=device) for a in arrays]


def reference(opt: str, **options) -> tuple[dp.Network, dp.History]:
    """The numpy reference engine from the same θ and order: the definition."""
    X, Y = data()
    net = dp.Network([4, 6, 3], **KW)
    return net, dp.train(NetworkObjective(net, engine="reference"), X, Y, optimizer=opt, **options)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize(
    "opt,options",
    [
        ("adam", dict(batch_size=8, learning_rate=0.05, validation=0.25)),
        ("nesterov", dict(batch_size=16, learning_rate=0.1)),
        ("lbfgs", {}),
    ],
)
def test_training_on_the_device_equals_the_numpy_reference(device, opt, options):
    ref, h_ref = reference(opt, epochs=4, **options)
    net = dp.Network([4, 6, 3], xp="torch", device=device, **KW)
    h = dp.train(net, *tensors(device, *data()), optimizer=opt, epochs=4, **options)
    assert net.params.device.type == device
    np.testing.assert_allclose(to_numpy(net.params), ref.params, rtol=1e-12, atol=1e-13)
    for column in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(getattr(h, column), getattr(h_ref, column), rtol=1e-12)


def test_the_loop_leaves_j_on_the_device_until_the_epoch_ends(monkeypatch):
    """A step-based epoch never asks for J as floats (each would wait for the device)."""

    def refuse(*args):
        raise AssertionError("evaluate (floats) called inside a device epoch")

    net = dp.Network([4, 6, 3], xp="torch", **KW)
    seen = []
    monkeypatch.setattr(NetworkObjective, "evaluate", refuse)
    history = dp.train(
        net,
        *tensors("cpu", *data()),
        optimizer="adam",
        epochs=2,
        batch_size=8,
        callbacks=[seen.append],
    )
    assert len(history) == 2 and all(isinstance(v, float) for v in history.train_loss)
    assert isinstance(history.train_accuracy[0], float) and len(seen) == 2


def test_a_subclass_that_changes_evaluate_alone_gets_no_device_evaluation():
    class Halved(NetworkObjective):
        def evaluate(self, theta, batch, grad):
            return super().evaluate(theta, batch, grad)

    net = dp.Network([4, 3], xp="torch", seed=0)
    assert own_method(NetworkObjective(net), "evaluate_on_device", "evaluate") is not None
    assert own_method(Halved(net), "evaluate_on_device", "evaluate") is None
    assert own_method(Halved(net), "count_correct", "accuracy") is not None


def test_predict_keeps_the_output_on_the_device():
    X, _ = data()
    ref = dp.Network([4, 6, 3], **KW)
    net = dp.Network([4, 6, 3], xp="torch", device="cpu", **KW)
    out = net.predict(torch.as_tensor(X, dtype=torch.float32))  # cast on the device
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    np.testing.assert_allclose(out.numpy(), ref.predict(X.astype(np.float32)), rtol=1e-12)


def test_save_and_load_onto_a_device(tmp_path: Path):
    net = dp.Network([4, 6, 3], xp="torch", dtype="float32", **KW)
    net.save(tmp_path / "m.safetensors")
    host = dp.load(tmp_path / "m.safetensors")  # files hold host arrays: numpy by default
    assert host.xp is np and host.dtype == "float32"
    back = dp.load(tmp_path / "m.safetensors", xp="torch", device="cpu")
    assert isinstance(back.params, torch.Tensor) and torch.equal(back.params, net.params)
    moved = host.to("torch", "cpu")
    assert torch.equal(moved.params, net.params) and host.xp is np
    moved.W[0][...] = 0.0  # the views point into the copy's own θ
    assert float(moved.params[0]) == 0.0 and host.params[0] != 0.0


def test_checkpoint_resume_on_the_device_is_bit_exact(tmp_path: Path):
    X, Y = tensors("cpu", *data())
    options = dict(optimizer="adam", batch_size=8, learning_rate=0.05, seed=3, dropout=0.2)
    whole = dp.Network([4, 6, 3], xp="torch", **KW)
    h_whole = dp.train(whole, X, Y, epochs=4, **options)
    ckpt = tmp_path / "run.ckpt"
    first = dp.Network([4, 6, 3], xp="torch", **KW)
    dp.train(first, X, Y, epochs=2, checkpoint=ckpt, **options)
    resumed = dp.Network([4, 6, 3], xp="torch", **KW)
    h = dp.train(resumed, X, Y, epochs=4, resume=ckpt, **options)
    assert torch.equal(resumed.params, whole.params)
    assert h.train_loss == h_whole.train_loss


def test_divergence_on_the_device_stops_where_the_host_stops():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(50, 4)), rng.normal(size=(50, 3))
    kw = dict(activation="relu", output_activation="identity", seed=0)
    runs = []
    for xp, x, y in ((None, X, Y), ("torch", *tensors("cpu", X, Y))):
        net = dp.Network([4, 6, 3], xp=xp, **kw)
        with pytest.raises(dp.TrainingDiverged, match=r"epoch 1, step 5") as info:
            dp.train(net, x, y, learning_rate=5.0, epochs=30, batch_size=10, optimizer="sgd")
        runs.append((to_numpy(net.params), info.value.history.train_loss))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12)
    assert np.all(np.isfinite(runs[1][0])) and len(runs[1][1]) == 1


def test_divergence_at_an_epochs_first_step_goes_back_one_epoch():
    """J infinite at epoch 1's first step: θ goes back to where epoch 0 started."""
    X, Y = tensors("cpu", *data())

    def blow_up(info):
        if info.epoch == 0:
            info.net.params[...] = float("inf")

    net = dp.Network([4, 6, 3], xp="torch", **KW)
    start = net.params.clone()
    with pytest.raises(dp.TrainingDiverged, match=r"at epoch 1, step 5:"):
        dp.train(net, X, Y, epochs=5, batch_size=8, callbacks=[blow_up])
    assert torch.equal(net.params, start)


# --- where inputs must be -------------------------------------------------------------------


DEVICE1 = strict.Device("device1")


def test_training_on_a_simulated_device_never_leaves_it():
    """array-api-strict refuses to combine arrays of two devices: any stray host array fails."""
    X, Y = (strict.asarray(a, device=DEVICE1) for a in data())
    net = dp.Network([4, 6, 3], xp="array_api_strict", device=DEVICE1, **KW)
    for opt in ("adam", "lbfgs"):
        history = dp.train(net, X, Y, optimizer=opt, epochs=2, batch_size=8, validation=0.25)
        assert len(history) == 2 and np.isfinite(history.val_loss[-1])
    assert net.params.device == DEVICE1 and net.predict(X).device == DEVICE1
    assert not is_host(net.xp, net.device) and "device1" in where(net.xp, net.device)


@pytest.mark.parametrize(
    "argument,call",
    [
        ("X", lambda net, X, Y: net.predict(to_numpy(X))),
        ("X", lambda net, X, Y: dp.train(net, strict.asarray(to_numpy(X)), Y, epochs=1)),
        ("Y", lambda net, X, Y: net.cost_and_grad(X, to_numpy(Y))),
        ("sample_weight", lambda net, X, Y: dp.train(net, X, Y, sample_weight=np.ones(40))),
        ("X", lambda net, X, Y: dp.train(net, X, Y, validation=(to_numpy(X), Y))),
    ],
)
def test_host_input_for_a_network_on_a_device_is_refused_naming_it(argument, call):
    X, Y = (strict.asarray(a, device=DEVICE1) for a in data())
    net = dp.Network([4, 6, 3], xp="array_api_strict", device=DEVICE1, **KW)
    with pytest.raises(ValueError, match=rf"^{argument} is .*device1.*: move it there first"):
        call(net, X, Y)


def test_host_data_of_any_library_is_taken_by_a_network_on_the_host():
    X, _ = data()
    net = dp.Network([4, 6, 3], xp="torch", **KW)
    on_numpy = dp.Network([4, 6, 3], **KW)
    for x in (X, X.tolist(), strict.asarray(X)):
        np.testing.assert_allclose(to_numpy(net.predict(x)), on_numpy.predict(X), rtol=1e-12)
    np.testing.assert_allclose(on_numpy.predict(torch.as_tensor(X)), on_numpy.predict(X))


def test_bad_values_on_the_device_are_named_as_on_the_host():
    net = dp.Network([4, 6, 3], xp="torch", dtype="float32", **KW)
    X = torch.zeros(3, 4, dtype=torch.float64)
    X[1, 2] = float("nan")
    with pytest.raises(ValueError, match="X contains NaN at row 1, column 2"):
        net.predict(X)
    X[1, 2] = 1e300
    with pytest.raises(ValueError, match=r"X has 1e\+300 at row 1, column 2, beyond the range"):
        net.predict(X)
    with pytest.raises(ValueError, match="X has 3 features, the network's input layer has 4"):
        net.predict(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="X must hold real numbers, got dtype bool"):
        net.predict(torch.zeros(2, 4, dtype=torch.bool))


@CUDA
def test_cpu_tensors_for_a_cuda_network_are_refused():
    net = dp.Network([4, 6, 3], xp="torch", device="cuda", **KW)
    X, _ = data()
    for x in (X, torch.as_tensor(X)):
        with pytest.raises(ValueError, match=r"^X is .*network's arrays are torch on cuda:0"):
            net.predict(x)
    with pytest.raises(ValueError, match=r"^X is torch on cuda:0, but the network's arrays"):
        dp.Network([4, 6, 3], **KW).predict(torch.as_tensor(X, device="cuda"))


# --- asking for a device --------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_without_a_card_is_a_clear_error():
    with pytest.raises(ValueError, match=r"^device: 'cuda' needs a CUDA device, but torch"):
        dp.Network([2, 2], xp="torch", device="cuda")


def test_devices_numpy_cannot_use_and_unknown_devices_are_refused():
    with pytest.raises(ValueError, match=r"device: numpy arrays live in host memory.*xp='torch'"):
        dp.Network([2, 2], device="cuda")
    with pytest.raises(ValueError, match=r"^device: 'tpu' is not a torch device"):
        dp.Network([2, 2], xp="torch", device="tpu")
    assert dp.Network([2, 2], device="cpu").device == "cpu"


def test_cupy_absent_is_a_clear_error():
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match=r"xp: cannot import the array library 'cupy'"):
            dp.Network([2, 2], xp="cupy")
    else:
        pytest.skip("CuPy is installed")


# --- the command line -----------------------------------------------------------------------


def test_command_trains_on_torch_as_on_numpy(tmp_path: Path, capsys):
    results = []
    for backend in ("numpy", "torch"):
        model = tmp_path / f"{backend}.safetensors"
        argv = ["train", "xor", "-o", model, "--epochs", "20", "-q", "--no-plot"]
        code, out, err = run([*argv, "--backend", backend, "--device", "cpu"], capsys)
        assert code == 0, err
        results.append((dp.load(model).params, out.split("wrote:")[0]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    assert results[1][1] == results[0][1]  # the same scores, to the digits printed
    for command in ("evaluate", "predict"):
        code, out, err = run(
            [command, tmp_path / "torch.safetensors", "xor", "--backend", "torch"], capsys
        )
        _, host_out, _ = run([command, tmp_path / "torch.safetensors", "xor"], capsys)
        assert code == 0 and out == host_out, err


@pytest.mark.parametrize(
    "flags,words",
    [
        (["--device", "cuda"], "--device cuda: numpy computes on the CPU; add --backend torch"),
        (["--device", "gpu"], "--device: expected cpu or cuda (or cuda:N), got 'gpu'"),
        (["--backend", "cupy", "--device", "cpu"], "--device cpu: CuPy computes on CUDA devices"),
        pytest.param(
            ["--backend", "torch", "--device", "cuda"],
            "--device cuda: 'cuda' needs a CUDA device, but torch",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present"),
        ),
    ],
)
def test_command_device_errors_are_one_line_before_any_data(flags, words, tmp_path: Path, capsys):
    code, out, err = run(["train", tmp_path / "absent.csv", "-q", *flags], capsys)
    assert code == 2 and out == ""
    assert error_line(err).startswith(f"deltaprop: error: {words}")


def test_command_names_a_missing_cupy(tmp_path: Path, capsys):
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("CuPy is installed")
    code, _, err = run(["train", "xor", "-q", "--backend", "cupy"], capsys)
    assert code == 2
    assert "--backend cupy: cupy is not installed (pip install cupy-cuda12x)" in error_line(err)
    model = tmp_path / "m.safetensors"
    dp.Network([2, 2]).save(model)
    code, _, err = run(["predict", model, "xor", "--backend", "cupy"], capsys)
    assert code == 2 and "--backend cupy: cupy is not installed" in error_line(err)


# --- the scikit-learn estimators --------------------------------------------------------------


def test_estimators_on_torchs_cpu_device_fit_as_on_numpy():
    sk = pytest.importorskip("deltaprop.sklearn")
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 5))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int)
    for solver, early in (("adam", False), ("sgd", True), ("lbfgs", False)):
        kw = dict(hidden_layer_sizes=(7,), solver=solver, max_iter=8, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            host = sk.MLPClassifier(early_stopping=early, **kw).fit(X, labels)
            est = sk.MLPClassifier(early_stopping=early, device="cpu", **kw)
            est.fit(torch.as_tensor(X), labels)  # a CPU tensor is host data
        assert isinstance(est.network_.params, torch.Tensor)
        np.testing.assert_allclose(to_numpy(est.network_.params), host.network_.params, atol=1e-12)
        np.testing.assert_allclose(est.loss_curve_, host.loss_curve_, rtol=1e-12)
        proba = est.predict_proba(X)  # array_api_dispatch off: numpy out
        assert isinstance(proba, np.ndarray)
        np.testing.assert_allclose(proba, host.predict_proba(X), atol=1e-12)
        assert (est.predict(X) == host.predict(X)).all()
    assert clone(est).get_params()["device"] == "cpu"
    assert sk.MLPRegressor().get_params()["device"] is None


def test_an_estimator_file_keeps_its_device(tmp_path: Path):
    sk = pytest.importorskip("deltaprop.sklearn")
    X, labels = data()[0], np.arange(40) % 2
    est = sk.MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, labels.astype(float))
    est.save(tmp_path / "r.safetensors")
    back = sk.load(tmp_path / "r.safetensors")
    assert back.device == "cpu"
    np.testing.assert_allclose(back.predict(X), est.predict(X), rtol=1e-12)
    assert isinstance(back.network_.params, torch.Tensor)  # moved once, at the first predict


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_an_estimator_asking_for_cuda_without_a_card_names_device():
    sk = pytest.importorskip("deltaprop.sklearn")
    X, Y = data()
    with pytest.raises(ValueError, match=r"^device: 'cuda' needs a CUDA device"):
        sk.MLPClassifier(device="cuda").fit(X, Y.argmax(axis=1))


def test_estimators_under_array_api_dispatch_keep_the_inputs_namespace():
    """scikit-learn's convention: with array_api_dispatch, outputs follow the input's
    namespace and device. Its dispatch needs SCIPY_ARRAY_API=1 before scipy is imported,
    so this runs in a fresh interpreter."""
    code = """
import numpy as np, torch, warnings
from sklearn import config_context
from deltaprop.sklearn import MLPClassifier, MLPRegressor
rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4)); labels = (X[:, 0] > 0).astype(int)
warnings.simplefilter("ignore")
host = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, labels)
with config_context(array_api_dispatch=True):
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    est.fit(torch.as_tensor(X), labels)                 # device None: X's namespace
    assert isinstance(est.network_.params, torch.Tensor)
    proba = est.predict_proba(torch.as_tensor(X))
    assert isinstance(proba, torch.Tensor) and proba.shape == (60, 2)
    np.testing.assert_allclose(proba.numpy(), host.predict_proba(X), atol=1e-12)
    assert isinstance(est.predict_proba(X), np.ndarray)  # numpy in, numpy out
    assert isinstance(est.predict_log_proba(torch.as_tensor(X)), torch.Tensor)
    assert (est.predict(torch.as_tensor(X)) == host.predict(X)).all()
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0)
    out = reg.fit(torch.as_tensor(X), X[:, 0]).predict(torch.as_tensor(X))
    assert isinstance(out, torch.Tensor) and out.shape == (60,)
print("ok")
"""
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
