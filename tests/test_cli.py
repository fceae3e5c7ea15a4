"""The deltaprop command, run end to end."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deltaprop.cli import main


def test_gradcheck_default_is_the_ufldl_autoencoder_and_passes(capsys):
    assert main(["gradcheck", "--weight-decay", "1e-4"]) == 0
    out = capsys.readouterr().out
    assert "Network(64-25-64, activation='sigmoid'" in out
    for name in ("W1", "W2", "b1", "b2"):
        assert name in out
    assert "3289 coords" in out and "PASS" in out


def test_gradcheck_subset_and_other_costs(capsys):
    argv = [
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
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "5/32" in out and "softmax" in out


@pytest.mark.parametrize(
    "argv,words",
    [
        (["gradcheck", "--layers", "3-x"], "--layers: expected unit counts joined by '-'"),
        (["gradcheck", "--layers", "3"], "need at least an input and an output layer"),
        (["gradcheck", "--activation", "swish"], "unknown activation 'swish'; choose one of"),
        (["gradcheck", "--cost", "hinge"], "unknown cost 'hinge'"),
        (["gradcheck", "--examples", "0"], "--examples must be at least 1, got 0"),
        (["gradcheck", "--weight-decay", "lots"], "argument --weight-decay: invalid float value"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, words, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deltaprop: error: ")
    assert words in err
    assert err.count("\n") == 1


def test_module_entry_point_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "gradcheck", "--layers", "2-0-1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "layer_sizes[1] is 0" in proc.stderr
    assert "Traceback" not in proc.stderr
