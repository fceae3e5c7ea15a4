"""The deltaprop command, run end to end: every subcommand and every bad input."""

from __future__ import annotations

import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import main


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    """The one error line, checked to be alone and free of tracebacks."""
    lines = [line for line in err.splitlines() if line.startswith("deltaprop: error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def blobs_csv(path: Path, m: int = 90, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    names = np.array(["cat", "dog", "eel"])
    labels = rng.integers(0, 3, size=m)
    X = rng.normal(size=(m, 3)) + 3 * np.eye(3)[labels]
    rows = [f"{a:.5f},{b:.5f},{c:.5f},{names[k]}" for (a, b, c), k in zip(X, labels)]
    return write_csv(path, "a,b,c,animal", rows)


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    head = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return head + array.astype(">u1").tobytes()


# --- train, evaluate, predict, info, datasets ---------------------------------------------------


def test_train_builtin_writes_model_history_and_plot(tmp_path, capsys):
    model = tmp_path / "xor.safetensors"
    code, out, err = run(["train", "xor", "-o", model, "--epochs", "40", "-q"], capsys)
    assert code == 0, err
    assert "test: accuracy" in out and "wrote:" in out
    for suffix in (".safetensors", ".history.json", ".history.csv", ".loss.png"):
        assert (tmp_path / f"xor{suffix}").exists(), suffix
    history = json.loads((tmp_path / "xor.history.json").read_text())
    assert len(history["train_loss"]) == 40
    assert (tmp_path / "xor.loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    net = dp.load(model)
    assert net.layer_sizes == (2, 4, 2)


def test_digits_preset_and_reference_figures(tmp_path, capsys):
    code, out, _ = run(
        ["train", "digits", "--epochs", "3", "-q", "--no-plot", "-o", tmp_path / "d.safetensors"],
        capsys,
    )
    assert code == 0
    assert "deltaprop (this run)" in out and "target of deltaprop's tests" in out
    code, out, _ = run(["evaluate", tmp_path / "d.safetensors", "digits"], capsys)
    assert code == 0 and "digits test split (359 examples): accuracy" in out
    code, out, _ = run(["info", tmp_path / "d.safetensors"], capsys)
    assert "64-100-10, 7510 parameters" in out and "momentum" in out and "epochs       3" in out


def test_progress_lines_on_a_pipe(tmp_path, capsys):
    code, _, err = run(["train", "moons", "--epochs", "20"], capsys)
    assert code == 0
    progress = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in progress] == ["1/20", "10/20", "20/20"]


def test_csv_with_class_names_train_evaluate_predict(tmp_path, capsys):
    data = blobs_csv(tmp_path / "animals.csv")
    model = tmp_path / "m.safetensors"
    code, out, err = run(
        [
            "train",
            data,
            "--target",
            "animal",
            "--hidden",
            "8",
            "--epochs",
            "60",
            "--learning-rate",
            "0.01",
            "-o",
            model,
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    code, out, _ = run(["evaluate", model, data], capsys)
    assert code == 0 and "(90 examples): accuracy" in out
    accuracy = float(out.split("accuracy ")[1].split(" %")[0])
    assert accuracy > 90
    # Prediction on new rows without the target column.
    new = write_csv(tmp_path / "new.csv", "a,b,c", ["3.1,0.1,0.0", "0.0,0.1,3.2"])
    code, _, _ = run(["predict", model, new, "-o", tmp_path / "p.csv"], capsys)
    assert code == 0
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0] == "prediction,p_cat,p_dog,p_eel"
    assert [line.split(",")[0] for line in lines[1:]] == ["cat", "eel"]
    code, _, err = run(["predict", model, new, "-o", tmp_path / "p.csv"], capsys)
    assert code == 2 and "p.csv: already exists; pass --force" in error_line(err)


def test_regression_from_npz_and_config_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(120, 2))
    np.savez(tmp_path / "reg.npz", X=X, y=(X[:, 0] - 2 * X[:, 1]).reshape(-1, 1))
    (tmp_path / "cfg.toml").write_text('hidden = "16"\noptimizer = "lbfgs"\nepochs = 5\n')
    code, out, err = run(
        [
            "train",
            tmp_path / "reg.npz",
            "--config",
            tmp_path / "cfg.toml",
            "--epochs",
            "100",
            "-q",
            "-o",
            tmp_path / "r.safetensors",
        ],
        capsys,
    )
    assert code == 0, err
    assert "RMSE" in out
    meta = dp.load_metadata(tmp_path / "r.safetensors")["extra"]
    assert meta["settings"]["epochs"] == 100 and meta["settings"]["optimizer"] == "lbfgs"
    assert len(meta["history"]["epoch"]) <= 100


def test_idx_images_with_labels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    images = rng.uniform(0, 60, size=(60, 4, 4))
    images[np.arange(60), labels, :] += 150  # class k lights up row k
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(images))
    with gzip.open(tmp_path / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(idx_bytes(labels))
    code, out, err = run(
        [
            "train",
            tmp_path / "train-images-idx3-ubyte",
            "--labels",
            tmp_path / "train-labels-idx1-ubyte.gz",
            "--epochs",
            "5",
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    assert "test: accuracy" in out


def test_datasets_list_and_describe(capsys):
    code, out, _ = run(["datasets"], capsys)
    assert code == 0
    for name in (
        "xor",
        "spirals",
        "moons",
        "circles",
        "sine",
        "digits",
        "iris",
        "wine",
        "breast-cancer",
        "diabetes",
        "mnist1d",
        "fashion-mnist",
    ):
        assert f"\n{name} " in out
    code, out, _ = run(["datasets", "mnist1d"], capsys)
    assert json.loads(out)["references"] == [["logistic regression", 32.0], ["MLP", 68.0]]


def test_help_shows_an_example():
    parser_help = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "example:" in parser_help and "deltaprop train mnist1d" in parser_help


# --- gradcheck -------------------------------------------------------------------------------


def test_gradcheck_default_is_the_ufldl_autoencoder_and_passes(capsys):
    code, out, _ = run(["gradcheck", "--weight-decay", "1e-4"], capsys)
    assert code == 0
    assert "Network(64-25-64, activation='sigmoid'" in out
    for name in ("W1", "W2", "b1", "b2"):
        assert name in out
    assert "3289 coords" in out and "PASS" in out


@pytest.mark.parametrize("activation", ["tanh", "relu", "relu,tanh"])
def test_gradcheck_passes_small_tanh_and_relu_networks_by_default(capsys, activation):
    # With UFLDL's ε = 1e-4 these correct gradients miss the 1e-9 mark (O(ε²) ≈ 3e-9).
    code, out, _ = run(["gradcheck", "--layers", "2-3-2-1", "--activation", activation], capsys)
    assert code == 0 and "PASS" in out, out


def test_gradcheck_subset_and_other_costs(capsys):
    code, out, _ = run(
        [
            "gradcheck",
            "--layers",
            "10-8-4",
            "--activation",
            "tanh",
            "--cost",
            "cross_entropy",
            "--max-coords",
            "5",
            "--epsilon",
            "1e-5",
        ],
        capsys,
    )
    assert code == 0
    assert "5/32" in out and "softmax" in out


# --- bad input: one line, exit status 2 ---------------------------------------------------------


@pytest.fixture
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "moons.safetensors"
    assert main(["train", "moons", "--epochs", "2", "-q", "--no-plot", "-o", str(path)]) == 0
    return path


def bad_inputs(tmp: Path, model: Path):
    """(argv, words) for every bad input the issue lists, with the files they need."""
    ok_csv = blobs_csv(tmp / "ok.csv")
    cases = [
        (["train", tmp / "missing.csv"], "missing.csv: no such file"),
        (["train", "mnist2d"], "mnist2d: no such file, and not a built-in dataset"),
        (["train", "moons", "--activation", "swish"], "unknown activation 'swish'"),
        (["train", "moons", "--cost", "hinge"], "unknown cost 'hinge'"),
        (["train", "moons", "--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
        (["train", "moons", "--layers", "3-4-2"], "--layers starts with 3 inputs, but moons has 2"),
        (["train", "moons", "--epochs", "ten"], "argument --epochs: invalid int value: 'ten'"),
        (["train", "moons", "-o", model], f"{model}: already exists; pass --force"),
        (["train", ok_csv, "--target", "colour"], "ok.csv: target: no column named 'colour'"),
        (["evaluate", model, ok_csv], "was trained on the built-in dataset 'moons' and keeps no"),
        (["evaluate", tmp / "nope.safetensors", "moons"], "nope.safetensors"),
        (["datasets", "nope"], "unknown dataset 'nope'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ]
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30))
    (tmp / "cell.csv").write_text("a,b,y\n" + rows + "3,x,1\n")
    cases.append(
        (["train", tmp / "cell.csv"], "cell.csv: line 32, column 'b': 'x' is not a number, though")
    )
    (tmp / "ragged.csv").write_text("a,b,y\n1,2,0\n3,1\n")
    cases.append((["train", tmp / "ragged.csv"], "ragged.csv: line 3: 2 fields, the header has 3"))
    (tmp / "inf.csv").write_text("a,b,y\n1,2,0\n3,inf,1\n")
    cases.append((["train", tmp / "inf.csv"], "column 'b': infinity is not allowed in data"))
    np.save(tmp / "nan.npy", np.array([[1.0, np.nan, 0.0], [2.0, 3.0, 1.0]]))
    cases.append((["train", tmp / "nan.npy"], "nan.npy"))
    (tmp / "magic-images-idx3-ubyte").write_bytes(b"\x01\x02\x08\x03" + b"\x00" * 20)
    cases.append(
        (
            ["train", tmp / "magic-images-idx3-ubyte", "--labels", tmp / "magic.idx"],
            "magic-images-idx3-ubyte",
        )
    )
    images = np.zeros((4, 2, 2))
    (tmp / "short-images-idx3-ubyte").write_bytes(idx_bytes(images)[:-3])
    (tmp / "short-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(4)))
    cases.append((["train", tmp / "short-images-idx3-ubyte"], "short-images-idx3-ubyte"))
    (tmp / "count-images-idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp / "count-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(5)))
    cases.append((["train", tmp / "count-images-idx3-ubyte"], "4"))
    return cases


def test_every_bad_input_gives_one_line_and_status_2(tmp_path, model, capsys):
    for argv, words in bad_inputs(tmp_path, model):
        code, _, err = run(argv, capsys)
        assert code == 2, (argv, err)
        line = error_line(err)
        assert words in line, (argv, line)


def test_corrupt_idx_messages_name_the_problem(tmp_path, model, capsys):
    cases = {
        c[0][1].name if len(c[0]) > 1 and isinstance(c[0][1], Path) else "": c
        for c in bad_inputs(tmp_path, model)
    }
    expect = {
        "magic-images-idx3-ubyte": "magic",
        "short-images-idx3-ubyte": "truncated",
        "count-images-idx3-ubyte": "5",
    }
    for name, word in expect.items():
        code, _, err = run(cases[name][0], capsys)
        assert code == 2 and word in error_line(err).lower(), (name, err)


def test_module_entry_point_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "gradcheck", "--layers", "2-0-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "--layers: every layer needs at least 1 unit, got '2-0-1'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deltaprop",
            "train",
            "spirals",
            "--epochs",
            "100000",
            "--batch-size",
            "1",
            "-o",
            str(tmp_path / "s.safetensors"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:  # wait until training has started
        if line.startswith("epoch ") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest
    assert "checkpoint saved to" in rest and "Traceback" not in rest
    saved, _, state = dp.load_checkpoint(tmp_path / "s.ckpt")
    assert saved.layer_sizes == (2, 32, 32, 2)
    assert state["epoch"] >= 1
    assert not (tmp_path / "s.safetensors").exists()


# --- class weights ---------------------------------------------------------------------------


def test_class_weight_balanced_weights_the_training_examples(tmp_path, capsys):
    from sklearn.utils.class_weight import compute_sample_weight

    from deltaprop import app, runs

    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(60, int), np.ones(15, int), np.full(15, 2)]
    X = rng.normal(size=(90, 3)) + 1.5 * np.eye(3)[labels]
    names = np.array(["cat", "dog", "eel"])[labels]
    rows = [f"{a:.5f},{b:.5f},{c:.5f},{n}" for (a, b, c), n in zip(X, names)]
    data = write_csv(tmp_path / "few_eels.csv", "a,b,c,animal", rows)
    settings = app.resolve_settings(
        str(data), None, {"target": "animal", "class_weight": "balanced"}
    )
    prepared = runs.prepare(str(data), settings)
    y = np.argmax(prepared.Y_train, axis=1)
    np.testing.assert_allclose(
        runs.balanced_weights(prepared), compute_sample_weight("balanced", y), rtol=1e-15
    )
    params = {}
    for flags in ([], ["--class-weight", "balanced"]):
        model = tmp_path / f"m{len(flags)}.safetensors"
        argv = ["train", data, "--target", "animal", "--hidden", "4", "--epochs", "5"]
        code, _, err = run([*argv, *flags, "-q", "-o", model], capsys)
        assert code == 0, err
        meta = dp.load_metadata(model)["extra"]
        assert meta["settings"]["class_weight"] == (flags[1] if flags else None)
        params[len(flags)] = dp.load(model).params
    assert not np.allclose(params[0], params[2])
    code, _, err = run(["train", data, "--target", "animal", "--class-weight", "inverse"], capsys)
    assert code == 2 and "--class-weight: unknown class weight 'inverse'" in error_line(err)


def test_class_weight_on_a_regression_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    np.savez(tmp_path / "reg.npz", X=X, y=X[:, :1])
    code, _, err = run(["train", tmp_path / "reg.npz", "--class-weight", "balanced"], capsys)
    assert code == 2
    assert "--class-weight balanced: applies to classification" in error_line(err)


# --- learning-rate schedule ------------------------------------------------------------------


def test_schedule_cosine_anneals_the_learning_rate(tmp_path, capsys):
    from deltaprop.optim import Cosine

    data = blobs_csv(tmp_path / "blobs.csv")
    argv = ["train", data, "--target", "animal", "--hidden", "4", "--epochs", "5"]
    argv += ["--learning-rate", "0.01", "-q"]
    model = tmp_path / "cos.safetensors"
    code, _, err = run([*argv, "--schedule", "cosine", "-o", model], capsys)
    assert code == 0, err
    meta = dp.load_metadata(model)["extra"]
    assert meta["settings"]["schedule"] == "cosine"
    # the rate of each epoch e is 0.01 · ½(1 + cos(π e / 5)), the last one above 0
    expected = [Cosine(0.01, epochs=5)(e) for e in range(5)]
    assert meta["history"]["learning_rate"] == pytest.approx(expected, rel=1e-12)
    assert expected[0] == 0.01 and 0 < expected[-1] < 0.001
    code, out, err = run(["info", model], capsys)
    assert code == 0 and "α = 0.01 (cosine to 0)" in out, err

    constant = tmp_path / "constant.safetensors"
    code, _, err = run([*argv, "-o", constant], capsys)
    assert code == 0, err
    meta = dp.load_metadata(constant)["extra"]
    assert meta["settings"]["schedule"] == "constant"
    assert meta["history"]["learning_rate"] == [0.01] * 5
    assert not np.allclose(dp.load(constant).params, dp.load(model).params)

    code, _, err = run([*argv, "--schedule", "linear"], capsys)
    assert code == 2 and "--schedule: unknown schedule 'linear'" in error_line(err)
    assert "constant, cosine" in error_line(err)
