"""The numpy engine: backpropagation compiled by numba, a whole epoch per call.

Behind the one dispatch ``deltaprop.objective.uses_numpy_engine``
(``engine="auto" | "reference" | "numpy"``; ``DELTAPROP_ENGINE=reference`` in
the environment turns it off for "auto"), the engine computes what
``deltaprop.backprop`` defines, and tests/test_compiled.py holds it equal:

- ``cache``: where numba keeps compiled code between processes (chosen first);
- ``kernels``: one batch's forward pass, δ recursion and gradient, compiled;
- ``steps``: the optimizers' updates and a whole epoch of mini-batches, compiled;
- ``engine``: which networks it covers, its scratch arrays, the calls the
  objective and the loop make;
- ``batches``: the non-compiled pieces, gathered mini-batches and the epoch's
  argmax count.

Compilation happens at first use of a dtype (about a second or two per process
without the disk cache); numba specialises on dtypes and array layouts only,
so every architecture shares the same few compiled functions.
"""

from __future__ import annotations

from .batches import ArgmaxCount, Gather
from .cache import ON_DISK
from .engine import Engine, EpochRun, engine_for, optimizer_code, update

__all__ = [
    "ON_DISK",
    "ArgmaxCount",
    "Engine",
    "EpochRun",
    "Gather",
    "engine_for",
    "optimizer_code",
    "update",
]
