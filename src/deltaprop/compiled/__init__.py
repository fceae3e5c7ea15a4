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
- ``batches``: the non-compiled pieces, gathered mini-batches and the epoch's
  argmax count.

Compilation happens at the first use of a dtype (float64, float32): numba
specialises on dtypes and array layouts only, so every architecture, cost and
optimizer shares one compiled epoch function per dtype. On a shared two-core
machine the first compile took about 20 s; it is kept on disk (``cache``), and
a later process loads it in about a second, most of it numba's own start.
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
