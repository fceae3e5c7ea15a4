"""Run under mpiexec by tests/test_distributed.py: train on this rank's shard, save θ.

mpiexec -n P python -m mpi4py tests/mpi_worker.py OUT.npz OPTIMIZER [fail]
"""

from __future__ import annotations

import sys

import numpy as np
from mpi4py import MPI

import deltaprop as dp
from deltaprop.distributed import shard_range


def data(m: int = 203, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=m)
    X = rng.normal(size=(m, 4)) + 1.5 * np.eye(3, 4)[labels]
    return X, np.eye(3)[labels]


SETTINGS = {
    "gd": {"optimizer": "gd", "learning_rate": 0.5, "epochs": 30},
    "lbfgs": {"optimizer": "lbfgs", "epochs": 40},
    "adam": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 8},
    "adam_dropout": {
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 16,
        "epochs": 8,
        "dropout": 0.3,
    },
    "gd_dropout": {"optimizer": "gd", "learning_rate": 0.5, "epochs": 10, "dropout": 0.2},
}


def main() -> None:
    out, optimizer = sys.argv[1], sys.argv[2]
    comm = MPI.COMM_WORLD
    X, Y = data()
    Xv, Yv = data(60, seed=1)
    start, stop = shard_range(len(X), comm.rank, comm.size)
    vstart, vstop = shard_range(len(Xv), comm.rank, comm.size)
    if len(sys.argv) > 3 and comm.rank == 1:
        raise RuntimeError("rank 1 fails on purpose")
    net = dp.Network([4, 6, 3], activation="tanh", cost="cross_entropy", weight_decay=1e-3, seed=0)
    hist = dp.train(
        net,
        X[start:stop],
        Y[start:stop],
        validation=(Xv[vstart:vstop], Yv[vstart:vstop]),
        seed=5,
        comm=comm,
        **SETTINGS[optimizer],
    )
    shards = comm.gather(stop - start, root=0)
    if comm.rank == 0:
        np.savez(
            out,
            theta=net.params,
            shards=np.array(shards),
            val_accuracy=np.array(hist.val_accuracy),
            train_loss=np.array(hist.train_loss),
        )


if __name__ == "__main__":
    main()
