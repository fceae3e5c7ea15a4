"""The numpy engine: backpropagation compiled by numba, a whole epoch per call.

Behind the one dispatch ``deltaprop.objective.uses_numpy_engine``
(``engine="auto" | "reference" | "numpy"``; ``DELTAPROP_ENGINE=reference`` in
the environment turns it off for "auto"), the engine computes what
``deltaprop.backprop`` defines, and tests/test_compiled.py holds it equal:

- ``cache``: where numba keeps compiled code between processes (chosen first);
- ``codes``: the integer codes of activations, costs and optimizers;
- ``kernels``: one batch's forward pass, δ recursion and gradient, the
  optimizers' updates and a whole epoch of mini-batches, compiled (one file);
- ``engine``: which networks it covers, its scratch arrays, the calls the
  objective and the loop make;
- ``sparse`` and ``sparse_engine``: the sparse autoencoder's J_sparse and
  ∇J_sparse compiled, and the calls ``autoencoder.SparseObjective`` makes;
- ``aot``: the kernels compiled ahead of time, and the choice between them and the JIT;
- ``batches``: the non-compiled pieces, gathered mini-batches and the epoch's
  argmax count.

Compilation happens when deltaprop is installed: ``aot`` (run by setup.py)
compiles the epoch and the update for float32 and float64 into an extension
module, which a process loads without importing numba. Where that module is
missing, numba compiles the same functions at their first use of a dtype (about
20 s on a shared two-core machine), keeps them on disk (``cache``), and a later
process loads them in about a second, most of it numba's own start. numba
specialises on dtypes and array layouts only, so every architecture, cost and
optimizer shares one compiled epoch function per dtype.
"""

from __future__ import annotations

from .batches import ArgmaxCount, Gather
from .cache import ON_DISK
from .engine import Engine, EpochRun, engine_for, optimizer_code, update
from .sparse_engine import SparseEngine, SparseRun, sparse_engine_for

__all__ = [
    "ON_DISK",
    "ArgmaxCount",
    "Engine",
    "EpochRun",
    "Gather",
    "SparseEngine",
    "SparseRun",
    "engine_for",
    "optimizer_code",
    "sparse_engine_for",
    "update",
]
