"""Real tables end to end: text, booleans, dates, identifiers, missing cells, encodings.

Every test runs the command (``deltaprop.cli.main``) or the public functions of
``deltaprop.data`` on CSV files generated here, and checks what a user sees:
exit status, the column table, the words of each error, and predictions that
follow the columns by name.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deltaprop.cli import main
from deltaprop.data import (
    DataError,
    TableEncoder,
    TargetEncoder,
    prepare_file,
    read_table,
    rows_for_model,
)
from deltaprop.io import load_metadata

QUICK = ["--epochs", "30", "--no-plot"]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("deltaprop: error: ")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def animals(path: Path, m: int = 160, seed: int = 0, **options) -> Path:
    """A table like the ones users bring: text, booleans, dates, an identifier, gaps.

    The class (``kind``) follows ``weight`` and ``habitat``; ``name`` is an
    identifier, ``tame`` a boolean, ``seen`` an ISO date; cells are missing
    in ``weight``, ``habitat`` and (with ``target_gaps``) in ``kind``.
    """
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, 3, size=m)
    habitats = np.array(["forest", "river", "desert"])
    rows = []
    for i, k in enumerate(kinds):
        weight = f"{10 * (k + 1) + rng.normal():.2f}" if i % 11 else "NA"
        habitat = habitats[k] if i % 13 else ""
        kind = ["cat", "otter", "camel"][k]
        if options.get("target_gaps") and i % 17 == 0:
            kind = "?"
        rows.append(
            [
                f"animal-{i:04d}",
                weight,
                habitat,
                "true" if (i + k) % 2 else "false",
                f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                f"{rng.uniform():.3f}",
                kind,
            ]
        )
    header = ["name", "weight", "habitat", "tame", "seen", "noise", "kind"]
    delimiter = options.get("delimiter", ",")
    with open(path, "w", newline="", encoding=options.get("encoding", "utf-8")) as f:
        if options.get("bom"):
            f.write("\ufeff")
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def train(tmp: Path, data: Path, capsys, *extra) -> tuple[Path, str]:
    model = tmp / "model.safetensors"
    code, out, err = run(["train", data, "-o", model, "--force", *QUICK, *extra], capsys)
    assert code == 0, err
    return model, out + err


# --- the column table, the task, what was done ------------------------------------------------


def test_text_booleans_dates_identifiers_and_missing_cells_train(tmp_path, capsys):
    model, text = train(tmp_path, animals(tmp_path / "a.csv", target_gaps=True), capsys)
    table = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "dropped" in table["name"] and "identifier-like text" in table["name"]
    assert "numeric" in table["weight"] and "median" in table["weight"]
    assert "missing indicator" in table["weight"]
    assert "categorical" in table["habitat"] and "'(missing)'" in table["habitat"]
    assert "categorical" in table["tame"] and "2 levels" in table["tame"]
    assert "date" in table["seen"] and "days since 1970-01-01" in table["seen"]
    assert "target kind: classification: 3 classes (text labels)" in text
    assert "note: dropped 10 rows whose target 'kind' is missing" in text
    assert "baseline, majority class:" in text and "confusion matrix" in text
    accuracy = float(text.split("test: accuracy ")[1].split(" %")[0])
    assert accuracy > 80.0
    extra = load_metadata(model)["extra"]
    columns = TableEncoder.from_dict(extra["preprocessing"]["columns"], "m")
    assert "habitat=river" in columns.feature_names
    assert "weight (missing)" in columns.feature_names
    assert "name" not in columns.inputs


@pytest.mark.parametrize(
    "options",
    [
        {"delimiter": ";"},
        {"delimiter": "\t"},
        {"bom": True},
        {"encoding": "latin-1"},
    ],
    ids=["semicolons", "tabs", "bom", "latin-1"],
)
def test_delimiters_bom_and_encodings(tmp_path, capsys, options):
    path = animals(tmp_path / "a.csv", m=60, **options)
    if options.get("encoding") == "latin-1":
        text = path.read_text(encoding="latin-1").replace("forest", "forêt")
        path.write_bytes(text.encode("latin-1"))
        code, _, err = run(["train", path, *QUICK], capsys)
        assert code == 2
        line = error_line(err)
        assert re.search(r"a\.csv: line \d+: byte 0xea at offset \d+ is not UTF-8", line)
        assert "--encoding latin-1" in line
        _, text = train(tmp_path, path, capsys, "--encoding", "latin-1")
        assert "one-hot, 3 levels" in text
        return
    _, text = train(tmp_path, path, capsys)
    assert "target kind: classification" in text


def test_a_given_delimiter_and_a_bad_one(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=60, delimiter=";")
    _, text = train(tmp_path, path, capsys, "--delimiter", ";")
    assert "habitat" in text
    code, _, err = run(["train", path, "--delimiter", "::"], capsys)
    assert code == 2 and "--delimiter: expected one character" in error_line(err)
    code, _, err = run(["train", path, "--encoding", "klingon"], capsys)
    assert code == 2 and "--encoding: unknown encoding 'klingon'" in error_line(err)


def test_overrides_drop_categorical_numeric_and_missing_policies(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=80)
    _, text = train(
        tmp_path, path, capsys, "--drop", "noise", "seen", "--categorical", "name", "--quiet"
    )
    model = tmp_path / "model.safetensors"
    columns = TableEncoder.from_dict(load_metadata(model)["extra"]["preprocessing"]["columns"], "m")
    kinds = {s.name: s.kind for s in columns.columns}
    assert kinds["noise"] == kinds["seen"] == "dropped" and kinds["name"] == "categorical"
    code, _, err = run(["train", path, "--numeric", "habitat", *QUICK], capsys)
    assert code == 2 and "column 'habitat': 'forest' is not a number" in error_line(err)
    code, _, err = run(["train", path, "--drop", "colour", *QUICK], capsys)
    assert code == 2 and "drop: no column named 'colour'" in error_line(err)
    code, _, err = run(["train", path, "--missing", "error", *QUICK], capsys)
    assert code == 2 and "column 'weight': missing value" in error_line(err)
    _, text = train(tmp_path, path, capsys, "--missing", "drop")
    assert "rows with a missing feature value (--missing drop)" in text


def test_a_column_that_is_almost_numbers_names_the_odd_cell(tmp_path, capsys):
    rows = [f"{i},{i % 4},{i % 2}" for i in range(40)] + ["40,four,0"]
    path = tmp_path / "odd.csv"
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    code, _, err = run(["train", path, *QUICK], capsys)
    line = error_line(err)
    assert code == 2
    assert "odd.csv: line 42, column 'b': 'four' is not a number" in line


# --- the task -----------------------------------------------------------------------------------


def integers_csv(path: Path, m: int = 200) -> Path:
    """A target of whole numbers with many distinct values (like horsepower): regression."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 10, size=(m, 2))
    y = np.round(40 + 12 * X[:, 0] - 3 * X[:, 1] + rng.normal(0, 1, size=m)).astype(int)
    rows = [f"{a:.4f},{b:.4f},{t}" for (a, b), t in zip(X, y)]
    path.write_text("size,age,power\n" + "\n".join(rows) + "\n")
    return path


def test_integer_target_with_many_values_is_regression_in_its_units(tmp_path, capsys):
    path = integers_csv(tmp_path / "power.csv")
    model, text = train(tmp_path, path, capsys, "--epochs", "200")
    assert "target power: regression (" in text and "distinct whole numbers)" in text
    assert "standardised for training" in text
    assert "baseline, training mean" in text
    r2 = float(text.split("R² ")[1].split(",")[0].split(" ")[0])
    assert r2 > 0.9
    code, out, _ = run(["predict", model, path], capsys)
    predictions = np.array([float(v) for v in out.splitlines()[1:]])
    truth = np.loadtxt(path, delimiter=",", skiprows=1)[:, 2]
    assert code == 0 and np.sqrt(np.mean((predictions - truth) ** 2)) < 5.0  # in its units


def test_task_overrides_inference(tmp_path, capsys):
    rows = [f"{i % 7},{(i * 3) % 5},{i % 4}" for i in range(120)]
    path = tmp_path / "small.csv"
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    _, text = train(tmp_path, path, capsys)
    assert "classification: 4 classes (4 distinct whole numbers)" in text
    _, text = train(tmp_path, path, capsys, "--task", "regression")
    assert "regression (given)" in text and "RMSE" in text
    code, _, err = run(["train", path, "--task", "ranking"], capsys)
    assert code == 2 and "--task: invalid choice: 'ranking'" in error_line(err)


@pytest.mark.parametrize(("target", "name"), [("0", "size"), ("-2", "age"), ("power", "power")])
def test_target_by_index_or_name(tmp_path, capsys, target, name):
    _, text = train(tmp_path, integers_csv(tmp_path / "p.csv"), capsys, "--target", target)
    assert f"target {name}: " in text


def test_target_index_out_of_range_and_npy_index(tmp_path, capsys):
    path = integers_csv(tmp_path / "p.csv")
    code, _, err = run(["train", path, "--target", "3"], capsys)
    assert code == 2 and "target: column index 3 is out of range for 3 columns" in error_line(err)
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    np.save(tmp_path / "p.npy", data)
    _, text = train(tmp_path, tmp_path / "p.npy", capsys, "--target", "0")
    assert "regression" in text
    code, _, err = run(["train", tmp_path / "p.npy", "--target", "power"], capsys)
    line = error_line(err)
    assert code == 2 and "a .npy file has no column names; give a column index, got 'power'" in line


# --- predict and evaluate by column name --------------------------------------------------------


def test_reordered_columns_give_identical_predictions(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=90)
    model, _ = train(tmp_path, path, capsys)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    order = [6, 3, 0, 5, 2, 4, 1]
    with open(tmp_path / "shuffled.csv", "w", newline="") as f:
        csv.writer(f).writerows([[r[j] for j in order] for r in rows])
    _, same, _ = run(["predict", model, path], capsys)
    code, shuffled, _ = run(["predict", model, tmp_path / "shuffled.csv"], capsys)
    assert code == 0 and shuffled == same and len(same.splitlines()) == 91


def test_missing_extra_and_target_columns_at_predict(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=90)
    model, _ = train(tmp_path, path, capsys)
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    without = tmp_path / "no-weight.csv"
    with open(without, "w", newline="") as f:
        csv.writer(f).writerows([r[:1] + r[2:] for r in rows])
    code, _, err = run(["predict", model, without], capsys)
    assert code == 2 and "no-weight.csv: no column 'weight', which the model needs" in err
    extra = tmp_path / "extra.csv"
    with open(extra, "w", newline="") as f:
        csv.writer(f).writerows(
            [[*r[:6], "colour" if i == 0 else "red"] for i, r in enumerate(rows)]
        )
    code, out, err = run(["predict", model, extra], capsys)
    assert code == 0 and "ignored columns the model does not use: colour" in err
    assert len(out.splitlines()) == 91
    code, _, err = run(["evaluate", model, extra], capsys)
    assert code == 2 and "no column 'kind' (the model's target) to evaluate against" in err


def test_unseen_categories_are_all_zero_and_reported(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=90)
    model, _ = train(tmp_path, path, capsys)
    text = path.read_text().replace(",river,", ",swamp,")
    (tmp_path / "new.csv").write_text(text)
    code, _, err = run(["predict", model, tmp_path / "new.csv"], capsys)
    assert code == 0 and "column 'habitat':" in err and "not seen in training" in err
    assert "'swamp'" in err


def test_evaluate_reports_metrics_beside_the_baseline(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=90)
    model, _ = train(tmp_path, path, capsys)
    code, out, _ = run(["evaluate", model, path], capsys)
    assert code == 0 and "accuracy" in out and "macro-F1" in out and "majority class" in out
    code, out, _ = run(["info", model], capsys)
    assert code == 0
    for words in ("task", "classes      camel, cat, otter", "habitat", "one-hot", "test "):
        assert words in out, words


def test_parquet_reads_like_csv(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    import pandas as pd

    path = animals(tmp_path / "a.csv", m=80)
    pd.read_csv(path, keep_default_na=False).to_parquet(tmp_path / "a.parquet")
    table = read_table(tmp_path / "a.parquet")
    assert table.names[0] == "name" and table.column("weight").dtype == object
    _, text = train(tmp_path, tmp_path / "a.parquet", capsys)
    assert "target kind: classification" in text


# --- the same from Python -----------------------------------------------------------------------


def test_the_python_api_matches_the_command(tmp_path):
    path = animals(tmp_path / "a.csv", m=90)
    prepared = prepare_file(str(path), target="kind", seed=0)
    assert prepared.task == "classification" and prepared.classes == ["camel", "cat", "otter"]
    X, Y, _ = rows_for_model(str(path), prepared.preprocessing())
    assert X.shape == (90, prepared.n_features) and Y is not None and Y.shape == (90, 3)
    target = TargetEncoder.from_dict(prepared.preprocessing()["target"], "here")
    assert target.classes == ("camel", "cat", "otter")
    with pytest.raises(DataError, match="the stored column preprocessing is malformed"):
        rows_for_model(str(path), {"columns": {"columns": []}, "target": None})


# --- output paths, checked before training ------------------------------------------------------


def test_every_output_path_failure_is_reported_before_training(tmp_path, capsys):
    path = animals(tmp_path / "a.csv", m=40)
    (tmp_path / "dir.safetensors").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "old.history.json").write_text("{}")
    cases = [
        (["-o", tmp_path / "dir.safetensors", "--force"], "dir.safetensors: is a directory"),
        (["-o", tmp_path / "file" / "m.safetensors"], "file is a file, not a folder"),
        (["-o", tmp_path / "old.safetensors"], "old.history.json: already exists; pass --force"),
        (["-o", tmp_path / "m.safetensors", "--checkpoint", tmp_path], "is a directory"),
        (["-o", "/proc/deltaprop-test/m.safetensors"], "cannot write in the folder /proc"),
    ]
    for options, words in cases:
        started = time.monotonic()
        code, _, err = run(["train", path, "--epochs", "100000", *options], capsys)
        assert code == 2 and words in error_line(err), (options, err)
        assert time.monotonic() - started < 5.0  # refused up front, not after training
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.csv",
        "dir.safetensors",
        "file",
        "old.history.json",
    ]  # no model, history or checkpoint appeared
    (tmp_path / "p.csv").write_text("x")
    model, _ = train(tmp_path, path, capsys)
    code, _, err = run(["predict", model, path, "-o", tmp_path / "p.csv"], capsys)
    assert code == 2 and "p.csv: already exists; pass --force" in error_line(err)


def test_ctrl_c_with_an_unwritable_checkpoint_exits_130_and_says_so(tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
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
            "--checkpoint",
            str(folder / "run.ckpt"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        if line.startswith("epoch ") or time.monotonic() > deadline:
            break
    folder.rmdir()  # the checkpoint's folder disappears while training runs
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest
    assert "the checkpoint could not be written to" in rest and "Traceback" not in rest


# --- strict options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--hidden", ""], "--hidden: expected unit counts joined by '-'"),
        (["--hidden", "--"], "--hidden: expected one argument"),
        (["--hidden=-3"], "--hidden: expected unit counts joined by '-'"),
        (["--hidden", "10--3"], "--hidden: expected unit counts joined by '-'"),
        (["--layers", "2-0-2"], "--layers: every layer needs at least 1 unit"),
        (["--epochs", "0"], "--epochs must be a whole number ≥ 1, got 0"),
        (["--learning-rate", "0"], "--learning-rate must be a positive finite number, got 0.0"),
        (["--momentum", "1.5"], "--momentum must be a number in [0, 1), got 1.5"),
        (["--batch-size", "-1"], "--batch-size must be a whole number ≥ 0, got -1"),
        (["--val-size", "1"], "--val-size must be a number in [0, 1), got 1.0"),
        (["--activation", "swish"], "--activation: unknown activation 'swish'"),
        (["--test-size", "0.9", "--val-size", "0.5"], "--test-size 0.9 and --val-size 0.5 leave"),
        (["--cost", "cross_entropy", "--output", "sigmoid"], "needs --output softmax"),
    ],
)
def test_malformed_options_are_refused_by_the_flag_typed(capsys, options, words):
    code, _, err = run(["train", "moons", *options], capsys)
    assert code == 2 and words in error_line(err)


def test_no_hidden_layer_is_spelled_none(capsys):
    code, _, err = run(["train", "moons", "--hidden", "none", "--epochs", "2"], capsys)
    assert code == 0 and "Network(2-2," in err


def test_a_closed_pipe_ends_quietly(tmp_path, capsys):
    # The reader goes away before the first byte is written (as `| head -1` does once it
    # has its line): the command ends at once, silent, with 128 + SIGPIPE like Unix tools.
    model, _ = train(tmp_path, animals(tmp_path / "a.csv", m=40), capsys)
    for argv in (["info", model], ["predict", model, tmp_path / "a.csv"]):
        proc = subprocess.Popen(
            [sys.executable, "-m", "deltaprop", *map(str, argv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        assert proc.wait(timeout=60) == 141, err
        assert err == ""
