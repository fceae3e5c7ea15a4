"""Data-parallel training on MPI: time per iteration with 1 and 2 ranks.

Full-batch gradient descent and L-BFGS, 784-256-10, float32, on the 60000
Fashion-MNIST training images when Debian's dataset-fashion-mnist is installed
(else seeded synthetic data of the same shape). Each configuration runs 3 times
in turns; the table gives the median seconds per iteration, the speed-up over
one rank, and the parallel efficiency. On a 2-core machine it also compares
2 ranks × 1 BLAS thread with 1 rank × 2 BLAS threads.

    .venv/bin/python benchmarks/mpi_scaling.py [--iterations 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORKER = r"""
import sys, time, json
import numpy as np
import deltaprop as dp
from deltaprop.distributed import from_environment, shard_range
optimizer, iterations, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = np.load(sys.argv[4], mmap_mode="r")
dpar = from_environment()
rank, size = (0, 1) if dpar is None else (dpar.rank, dpar.size)
a, b = shard_range(len(data), rank, size)
X = np.asarray(data[a:b, :-1], dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[np.asarray(data[a:b, -1], dtype=int)]
net = dp.Network([784, 256, 10], activation="relu", cost="cross_entropy", weight_decay=1e-4,
                 dtype=np.float32, seed=0)
kw = {"learning_rate": 0.1} if optimizer == "gd" else {"tol": 0.0}
dp.train(net, X, Y, optimizer=optimizer, epochs=1, comm=None if dpar is None else dpar.comm, **kw)
start = time.perf_counter()
hist = dp.train(net, X, Y, optimizer=optimizer, epochs=iterations,
                comm=None if dpar is None else dpar.comm, **kw)
seconds = time.perf_counter() - start
if rank == 0:
    json.dump({"seconds": seconds / len(hist), "loss": hist.train_loss[-1]}, open(out, "w"))
"""


def dataset(path: Path) -> None:
    try:
        from deltaprop.data import load_dataset

        ds = load_dataset("fashion-mnist", seed=0, val_size=0.0)
        X, y, source = ds.X_train, ds.y_train, "Fashion-MNIST"
    except Exception:  # the Debian package is absent: synthetic data of the same shape
        rng = np.random.default_rng(0)
        X, y, source = rng.uniform(size=(60000, 784)), rng.integers(0, 10, 60000), "synthetic"
    np.save(path, np.c_[X, y].astype(np.float32))
    print(f"data: {source}, {X.shape[0]} × {X.shape[1]}, float32")


def run(ranks: int, threads: int, optimizer: str, iterations: int, tmp: Path) -> dict:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    out = tmp / "out.json"
    cmd = [
        sys.executable,
        str(tmp / "worker.py"),
        optimizer,
        str(iterations),
        str(out),
        str(tmp / "data.npy"),
    ]
    if ranks > 1:
        mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
        cmd = [str(mpiexec), "-n", str(ranks), sys.executable, "-m", "mpi4py", *cmd[1:]]
    subprocess.run(cmd, check=True, env=env, stdin=subprocess.DEVNULL)
    return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configs = [(1, 1), (1, 2), (2, 1)]  # (ranks, BLAS threads per rank)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        (tmp / "worker.py").write_text(WORKER)
        dataset(tmp / "data.npy")
        for optimizer in ("gd", "lbfgs"):
            times: dict[tuple[int, int], list[float]] = {c: [] for c in configs}
            for _ in range(args.repeats):
                for ranks, threads in configs:
                    start = time.perf_counter()
                    result = run(ranks, threads, optimizer, args.iterations, tmp)
                    times[(ranks, threads)].append(result["seconds"])
                    _ = time.perf_counter() - start
            base = statistics.median(times[(1, 1)])
            print(f"\n{optimizer}: median s/iteration over {args.repeats} runs")
            print(f"{'ranks × threads':<17}{'s/iter':>9}{'speed-up':>10}{'efficiency':>12}")
            for ranks, threads in configs:
                t = statistics.median(times[(ranks, threads)])
                workers = ranks * threads
                print(
                    f"{ranks} × {threads:<13}{t:>9.3f}{base / t:>10.2f}{base / t / workers:>12.2f}"
                )


if __name__ == "__main__":
    main()
