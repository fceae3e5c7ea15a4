"""The kernels compiled ahead of time, when deltaprop is installed, and the choice at run time.

numba compiles ``kernels.epoch``, ``kernels.update`` and
``sparse.sparse_cost_and_grad`` at their first call
(JIT); on a two-core machine that took 16–18 s a dtype, and a later process still
spends about a second importing numba and loading its cache. So the package's
build (``setup.py``) also compiles them ahead of time with ``numba.pycc``: one
extension module, ``_aot_<key>``, exports the three functions for float32 and
float64, for the CPU it is built on. It needs numba only to build; at run time
it is an ordinary extension module, loaded in milliseconds, and numba is not
imported at all.

The module's name carries :func:`cache.source_key`, the hash of the sources the
machine code comes from, so an edited ``kernels.py`` (an editable install)
can never run stale code: the module of the old key is not looked for, and the
JIT compiles the new source until the package is built again.

:func:`kernel` hands the engine the ahead-of-time function where the module is
there and takes the arguments, and numba's JIT dispatcher otherwise: no C
compiler at build time, ``DELTAPROP_AOT=0`` in the environment, or arguments of
other types than the exported ones (a read-only array). Both run the same
Python source through the same compiler; tests/test_compiled_aot.py holds them
equal.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .cache import source_key

DTYPES = {"f64": np.dtype(np.float64), "f32": np.dtype(np.float32)}
"""The exported functions' dtype suffixes."""

KERNELS = {"epoch": "kernels", "update": "kernels", "sparse_cost_and_grad": "sparse"}
"""The functions compiled ahead of time (each for every dtype of DTYPES), and their modules."""


def module_name(key: str | None = None) -> str:
    """``_aot_<key>``: the extension module built from the sources of ``key`` (today's)."""
    return f"_aot_{key or source_key()}"


def enabled() -> bool:
    """Whether the ahead-of-time module may be used (``DELTAPROP_AOT=0`` says not)."""
    return os.environ.get("DELTAPROP_AOT", "1").strip() != "0"


_loaded: dict[str, Any] = {}


def module() -> Any:
    """The ahead-of-time module of today's sources, or None where it was not built."""
    if "module" not in _loaded:
        try:
            _loaded["module"] = importlib.import_module(f"{__package__}.{module_name()}")
        except ImportError:  # not built (no C compiler), or built from sources of another key
            _loaded["module"] = None
    return _loaded["module"]


def suffix(dtype: Any) -> str:
    """``"f64"`` or ``"f32"``: the exported names' suffix for ``dtype``."""
    return "f64" if np.dtype(dtype) == np.float64 else "f32"


def kernel(name: str, dtype: Any) -> Callable[..., Any]:
    """The kernel ``name`` for arrays of ``dtype``: ahead of time where it can be, else JIT."""
    built = module() if enabled() else None
    if built is None:
        return _jit(name)
    ahead = getattr(built, f"{name}_{suffix(dtype)}")

    def call(*args: Any) -> Any:
        try:
            return ahead(*args)
        except TypeError:  # arguments of other types than the exported ones: numba's JIT
            return _jit(name)(*args)

    return call


def _jit(name: str) -> Callable[..., Any]:
    # imports numba; the dispatcher compiles at its first call (or loads numba's disk cache)
    fn: Callable[..., Any] = getattr(_source(name), name)
    return fn


def _source(name: str) -> Any:
    return importlib.import_module(f"{__package__}.{KERNELS[name]}")


def signatures(dtype: Any) -> dict[str, Any]:
    """numba signatures of :data:`KERNELS` as the engine calls them with arrays of ``dtype``."""
    from numba import types

    f = types.float64 if np.dtype(dtype) == np.float64 else types.float32
    v, a = types.Array(f, 1, "C"), types.Array(f, 2, "C")
    ints = types.Array(types.int64, 1, "C")
    i64, f64 = types.int64, types.float64
    epoch = types.Tuple((i64, types.boolean))(
        types.Tuple((ints, ints, i64)),  # net: sizes, codes, cost
        v,  # theta
        v,  # grad
        f64,  # lam
        f64,  # alpha
        types.Tuple((a, a, v)),  # data: x, y, w
        ints,  # order
        i64,  # bs
        i64,  # n_batches
        a,  # masks
        types.UniTuple(v, 5),  # bufs
        i64,  # opt
        types.Tuple((v, v, v, a)),  # state: v1, v2, hyper, sched
        types.UniTuple(types.boolean, 2),  # flags
        types.Array(f64, 1, "C"),  # res
    )
    update = types.none(i64, v, v, v, v, v, a, i64)
    sparse = types.UniTuple(f64, 3)(
        v,  # theta
        v,  # grad
        ints,  # sizes
        i64,  # out_code
        types.Array(f64, 1, "C"),  # hyper: λ, ρ, β
        a,  # x
        v,  # work
        a,  # out
        a,  # rho_hat
    )
    return {"epoch": epoch, "update": update, "sparse_cost_and_grad": sparse}


def build(output_dir: Path, *, verbose: bool = False) -> Path:
    """Compile :data:`KERNELS` for every dtype into ``output_dir``; the module's path.

    Run by ``setup.py`` with numba, numpy and scipy (numba's BLAS) installed; the
    functions keep the kernels' own options (numpy's error model, the GIL
    released) and are compiled for this machine's CPU.
    """
    import llvmlite.binding as llvm
    from numba.pycc import CC, compiler

    _kernel_options(compiler)
    cc = CC(module_name(), __package__ or "deltaprop.compiled")
    cc.output_dir = str(output_dir)
    cc.verbose = verbose
    cc.target_cpu = llvm.get_host_cpu_name()
    for tag, dtype in DTYPES.items():
        for name, sig in signatures(dtype).items():
            cc.export(f"{name}_{tag}", sig)(getattr(_source(name), name).py_func)
    cc.compile()
    return Path(output_dir) / cc.output_file


def _kernel_options(compiler: Any) -> None:
    """Make pycc compile the exported functions with the options ``kernels.jit`` gives them."""
    base = compiler.Flags

    class KernelFlags(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.error_model = "numpy"  # 0/0 is NaN, caught by the finiteness checks
            self.release_gil = True  # as nogil=True: other threads run during an epoch

    compiler.Flags = KernelFlags
