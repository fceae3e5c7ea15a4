"""Data-parallel training over MPI: the seed's average over m, split across processes.

The gradient of J is an average over the m examples,

    ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾⁽ⁱ⁾ a⁽ˡ⁾⁽ⁱ⁾ᵀ + λ W⁽ˡ⁾,

so P processes that each hold a shard of the examples can each sum their own
share, add the P sums with one all-reduce, and divide by the global m: every
process then holds the exact full gradient and applies the same update, and
the parameters stay identical without any broadcast. The data term of J and
the accuracy counts travel in the same buffer as the gradient, so one step
costs one ``Allreduce``.

Use it through ``deltaprop.train(..., comm=MPI.COMM_WORLD)`` with each rank's own
rows, or ``mpiexec -n P python -m mpi4py -m deltaprop train ...``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._arrays import Array, to_numpy
from .objective import Batch, Terms

_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


class DataParallel:
    """One MPI communicator, and the sums that data-parallel training needs.

    Args:
      comm: an mpi4py communicator (``MPI.COMM_WORLD``).
    """

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI

        self.comm = comm
        self.rank = int(comm.Get_rank())
        self.size = int(comm.Get_size())
        self._sum = MPI.SUM
        self._in_place = MPI.IN_PLACE

    def check_threads(self, what: str) -> None:
        """Raise RuntimeError unless MPI lets a second thread call it (L-BFGS's worker does,
        while the main thread waits: MPI_THREAD_SERIALIZED or more)."""
        from mpi4py import MPI

        level = MPI.Query_thread()
        if level < MPI.THREAD_SERIALIZED:
            raise RuntimeError(
                f"{what} under MPI evaluates J in a worker thread, which needs "
                "MPI_THREAD_SERIALIZED or more; this MPI was initialised with a lower level "
                "(set mpi4py.rc.thread_level = 'serialized' before importing mpi4py.MPI)"
            )

    @property
    def is_root(self) -> bool:
        """Rank 0 alone writes files and progress."""
        return self.rank == 0

    def sum(self, values: Sequence[float]) -> list[float]:
        """Σ over the ranks of each value (one all-reduce)."""
        buffer = np.asarray(values, dtype=np.float64).copy()
        self.comm.Allreduce(self._in_place, buffer, op=self._sum)
        return [float(v) for v in buffer]

    def shard(self, m: int) -> tuple[int, int]:
        """The contiguous rows [start, stop) of m that this rank holds."""
        return shard_range(m, self.rank, self.size)

    def evaluate(self, objective: Any, theta: Array, batch: Batch, grad: Array) -> Terms:
        """J's parts and ∇J over every rank's rows of ``batch``, ∇J into ``grad`` on every rank.

        Each rank computes its data term and its gradient over its own rows (their
        weighted mean), turns the mean back into a sum, and one all-reduce adds the
        sums of the gradient, of the data term and of the example count (Σ wᵢ with
        example weights); dividing by that count gives the average over all ranks,
        and the penalties (λW) are added once, on every rank alike. A rank without
        rows in a mini-batch contributes zeros. The output is this rank's a⁽ⁿˡ⁾.

        ``objective`` must be separable (see ``deltaprop.objective``).
        """
        if not objective.separable:
            raise ValueError(
                f"{type(objective).__name__} is not separable over examples (its J is not "
                "an average of per-example terms plus penalties): it cannot be split across ranks"
            )
        xp = objective.xp
        n = objective.n_params
        host = np.zeros(n + 2, dtype=np.float64)
        out = batch.x
        if batch.m:
            data, out = objective.evaluate_data(theta, batch, grad)
            weight = batch.weight(xp)
            host[:n] = to_numpy(grad)
            host[:n] *= weight  # the local mean, back to a local sum
            host[n] = data * weight
            host[n + 1] = weight
        self.comm.Allreduce(self._in_place, host, op=self._sum)
        host[: n + 1] /= host[n + 1]
        grad[...] = objective.from_host(host[:n])
        penalties = objective.add_penalty(theta, grad)
        return Terms((float(host[n]), *penalties), out)


def shard_range(m: int, rank: int, size: int) -> tuple[int, int]:
    """Rows [start, stop) of rank ``rank`` among ``size``: contiguous, sizes differing by ≤ 1."""
    base, extra = divmod(m, size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def launched_size() -> int | None:
    """The rank count the MPI launcher announced in the environment, if any."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return None


def from_environment() -> DataParallel | None:
    """The world communicator when this process was started by an MPI launcher.

    Returns None for a plain (non-MPI) run. Raises RuntimeError when the launcher
    announced P ranks but MPI reports another count, as when an MPI that was not
    the launcher's ran each process as a singleton.
    """
    expected = launched_size()
    if expected is None and "mpi4py.MPI" not in sys.modules:
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        if expected is not None and expected > 1:
            raise RuntimeError(
                f"started by an MPI launcher with {expected} ranks, but mpi4py is not "
                "installed: pip install 'deltaprop[mpi]'"
            ) from None
        return None
    world = MPI.COMM_WORLD
    if expected is not None and world.Get_size() != expected:
        raise RuntimeError(
            f"the MPI launcher started {expected} ranks but MPI reports "
            f"{world.Get_size()}: mpi4py is linked to a different MPI than mpiexec "
            "(each process ran alone)"
        )
    if world.Get_size() == 1:
        return None
    return DataParallel(world)
