"""Data-parallel training over MPI: two ranks give what one process gives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install 'deltaprop[mpi]')")

import deltaprop as dp
from deltaprop.distributed import shard_range

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import mpi_worker  # noqa: E402

MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
if MPIEXEC is None:  # pragma: no cover - the mpich wheel ships mpiexec
    pytest.skip("no mpiexec found", allow_module_level=True)


def mpirun(n: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [MPIEXEC, "-n", str(n), sys.executable, "-m", "mpi4py", str(HERE / "mpi_worker.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=env,
        check=False,
    )


def one_process(optimizer: str):
    X, Y = mpi_worker.data()
    Xv, Yv = mpi_worker.data(60, seed=1)
    net = dp.Network([4, 6, 3], activation="tanh", cost="cross_entropy", weight_decay=1e-3, seed=0)
    hist = dp.train(net, X, Y, validation=(Xv, Yv), seed=5, **mpi_worker.SETTINGS[optimizer])
    return net.params, hist


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
def test_two_ranks_match_one_process(optimizer, tmp_path):
    proc = mpirun(2, str(tmp_path / "out.npz"), optimizer)
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "out.npz")
    theta, hist = one_process(optimizer)
    # Sums over two shards round differently from one sum; L-BFGS's line searches carry the
    # difference: θ (entries of order 1) agrees to 1e-10.
    np.testing.assert_allclose(got["theta"], theta, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got["train_loss"], hist.train_loss, rtol=1e-10)
    # Each rank held only its own contiguous shard of the 203 rows.
    assert got["shards"].tolist() == [102, 101]


@pytest.mark.parametrize("optimizer", ["adam", "adam_dropout", "gd_dropout"])
def test_minibatch_adam_same_accuracy(optimizer, tmp_path):
    # With dropout, every rank draws the masks of the whole (global) batch and keeps its rows.
    proc = mpirun(2, str(tmp_path / "out.npz"), optimizer)
    assert proc.returncode == 0, proc.stderr
    got = np.load(tmp_path / "out.npz")
    theta, hist = one_process(optimizer)
    # The same seeded global batches: equal up to the order of floating-point sums.
    np.testing.assert_allclose(got["theta"], theta, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(got["val_accuracy"], hist.val_accuracy)


def test_a_failing_rank_ends_the_job(tmp_path):
    proc = mpirun(2, str(tmp_path / "out.npz"), "gd", "fail", timeout=60)
    assert proc.returncode != 0
    assert "rank 1 fails on purpose" in proc.stderr
    assert not (tmp_path / "out.npz").exists()


def test_shard_ranges_cover_every_row_once():
    for m in (0, 1, 5, 203):
        for size in (1, 2, 3, 7):
            ranges = [shard_range(m, r, size) for r in range(size)]
            assert ranges[0][0] == 0 and ranges[-1][1] == m
            assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
            assert max(b - a for a, b in ranges) - min(b - a for a, b in ranges) <= 1


def test_fraction_validation_is_refused_with_comm():
    from mpi4py import MPI

    class FakeComm:  # a 2-rank communicator is not needed to reach the check
        def Get_size(self) -> int:
            return 2

        def Get_rank(self) -> int:
            return 0

    assert MPI.COMM_WORLD.Get_size() == 1
    net = dp.Network([4, 6, 3], cost="cross_entropy", seed=0)
    X, Y = mpi_worker.data()
    with pytest.raises(ValueError, match="validation: with comm, pass this rank's"):
        dp.train(net, X, Y, validation=0.2, comm=FakeComm())


def cli(n: int, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MPIEXEC, "-n", str(n), sys.executable, "-m", "mpi4py", "-m", "deltaprop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        check=False,
    )


def test_command_under_mpiexec_matches_one_process(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(301, 5))
    np.save(tmp_path / "d.npy", np.c_[X, (X[:, 0] + X[:, 1] > 0).astype(float)])
    args = [
        "train",
        "d.npy",
        "--epochs",
        "4",
        "--no-plot",
        "--optimizer",
        "gd",
        "--learning-rate",
        "0.5",
    ]
    two = cli(2, *args, "-o", "two.safetensors", cwd=tmp_path)
    assert two.returncode == 0, two.stderr
    assert "on 2 MPI ranks, training rows per rank: [91, 90]" in two.stderr
    one = subprocess.run(
        [sys.executable, "-m", "deltaprop", *args, "-o", "one.safetensors"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert one.returncode == 0, one.stderr
    a = dp.load(tmp_path / "one.safetensors").params
    b = dp.load(tmp_path / "two.safetensors").params
    np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)


def test_command_error_on_every_rank_ends_the_job(tmp_path):
    proc = cli(2, "train", "missing.npy", cwd=tmp_path, timeout=60)
    assert proc.returncode != 0
    assert "missing.npy: no such file" in proc.stderr


def test_singletons_under_a_foreign_launcher_are_reported(tmp_path):
    # A launcher announced 2 ranks, but this MPI runs the process alone: say so, don't train.
    env = {**os.environ, "PMI_SIZE": "2"}
    proc = subprocess.run(
        [sys.executable, "-m", "deltaprop", "train", "xor", "--epochs", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 2
    assert "the MPI launcher started 2 ranks but MPI reports 1" in proc.stderr


def test_killing_one_rank_ends_the_job_and_keeps_the_checkpoint(tmp_path):
    import signal
    import time

    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 8))
    np.save(tmp_path / "d.npy", np.c_[X, (X[:, 0] > 0).astype(float)])
    ckpt = tmp_path / "run.ckpt"
    proc = subprocess.Popen(
        [
            MPIEXEC,
            "-n",
            "2",
            sys.executable,
            "-m",
            "mpi4py",
            "-m",
            "deltaprop",
            "train",
            "d.npy",
            "--epochs",
            "100000",
            "--batch-size",
            "1",
            "--checkpoint",
            str(ckpt),
            "--checkpoint-every",
            "1",
            "-q",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ckpt.exists(), "no checkpoint was written"
        time.sleep(0.5)  # let rank 0 be somewhere in its next epochs
        ranks = subprocess.run(
            ["pgrep", "-f", "--", f"--checkpoint {ckpt}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        workers = [int(p) for p in ranks if int(p) != proc.pid]
        assert len(workers) >= 2, ranks
        os.kill(max(workers), signal.SIGKILL)
        start = time.monotonic()
        proc.communicate(timeout=60)
        assert time.monotonic() - start < 30  # promptly, not at some time-out
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    net, _, state = dp.load_checkpoint(ckpt)  # intact: loads and validates
    assert net.layer_sizes == (8, 100, 2) and state["epoch"] >= 1
