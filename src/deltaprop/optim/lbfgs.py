"""L-BFGS on the flat parameter vector θ, through scipy's L-BFGS-B.

UFLDL trains its networks with L-BFGS (minFunc); here scipy's implementation
drives θ directly: it asks for J(θ) and ∇J(θ) at points of its choosing and
keeps the last ``memory`` pairs (s, y) = (θₖ₊₁ − θₖ, ∇Jₖ₊₁ − ∇Jₖ) to model the
inverse Hessian. scipy works in float64 on host memory; ``fun`` converts to and
from the network's dtype and namespace.
"""

from __future__ import annotations

import contextlib
import importlib
import numbers
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]
"""θ ↦ (J(θ), ∇J(θ)): a float and a float64 vector shaped like θ."""

Callback = Callable[[np.ndarray, float], None]
"""(θₖ, J(θₖ)) ↦ None, after every iteration; may raise StopIteration."""


@dataclass(frozen=True)
class LbfgsResult:
    """Where L-BFGS stopped.

    Attributes:
      x: the last iterate θ (float64, numpy).
      fun: J(x).
      n_iter: iterations made (each ends with one call of the callback).
      n_fev: evaluations of ``fun`` (line searches take more than one per iteration).
      success: True when a convergence test (``tol``) stopped it; False when a
        limit, the callback or a failed line search did.
      message: scipy's reason for stopping.
    """

    x: np.ndarray
    fun: float
    n_iter: int
    n_fev: int
    success: bool
    message: str


def minimize_lbfgs(
    fun: Objective,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float | None = None,
    callback: Callback | None = None,
    max_fun: int | None = None,
    memory: int = 10,
    blas_threads: int | None = 1,
) -> LbfgsResult:
    """θ* = argmin_θ J(θ) by limited-memory BFGS, from θ₀ = ``theta0``.

    Each iteration moves θₖ₊₁ = θₖ − tₖ Hₖ ∇J(θₖ), where Hₖ ∇J is the
    two-loop recursion over the last ``memory`` pairs (s, y) and the step tₖ
    comes from a line search satisfying the Wolfe conditions.

    Args:
      fun: θ ↦ (J(θ), ∇J(θ)), both on a float64 numpy vector θ; the gradient
        must be a numpy vector (scipy casts other float dtypes to float64). For
        a numpy network: ``lambda th: net.cost_and_grad(X, Y, params=th)``.
      theta0: the starting point, a flat vector (copied; not changed).
      max_iter: stop after this many iterations.
      tol: convergence tolerance, as ``scipy.optimize.minimize``'s ``tol``: it
        sets both the relative decrease in J (``ftol``) and the largest
        gradient entry (``gtol``) below which L-BFGS stops. None keeps scipy's
        defaults (ftol ≈ 2.2e-9, gtol = 1e-5); 0 runs until a limit is
        reached or the line search can make no more progress.
      callback: called as ``callback(theta, J)`` after every iteration with the
        current iterate, a read-only view of scipy's own array (copy it to keep
        it). Raising ``StopIteration`` in it stops the run there, cleanly: the
        result holds that iterate, with success False.
      max_fun: stop once ``fun`` has been evaluated more than this many times
        (checked at the end of an iteration); None: scipy's 15000.
      memory: m, the number of (s, y) pairs kept.
      blas_threads: threads for scipy's own OpenBLAS during the run, when
        threadpoolctl is installed and scipy ships its own copy (as its wheels
        do); None leaves them alone. See the note below.

    Note on threads: scipy ≥ 1.15's L-BFGS-B calls BLAS/LAPACK for its small
    dense algebra, and OpenBLAS's threading can make that many times slower
    (scipy issues #22438, #23191; scipy's maintainers advise one thread). Only
    scipy's copy of OpenBLAS is limited: numpy links its own, which computes the
    network's matrix products inside ``fun`` and keeps all its threads. Where
    the two share one library (e.g. conda), nothing is limited.

    References: Nocedal 1980, "Updating quasi-Newton matrices with limited
    storage"; Byrd, Lu, Nocedal & Zhu 1995, "A limited memory algorithm for
    bound constrained optimization" (L-BFGS-B, used without bounds).
    """
    x0 = _check_theta0(theta0)
    options: dict[str, Any] = {
        "maxiter": _check_count("max_iter", max_iter),
        "maxcor": _check_count("memory", memory),
    }
    if max_fun is not None:
        options["maxfun"] = _check_count("max_fun", max_fun)
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be a number ≥ 0 or None, got {tol!r}")
        options["ftol"] = options["gtol"] = float(tol)
    if blas_threads is not None:
        _check_count("blas_threads", blas_threads)

    from scipy.optimize import minimize

    scipy_callback = None
    if callback is not None:
        user_callback = callback

        # scipy passes an OptimizeResult when the parameter has exactly this name,
        # and hands over its own x without the copy it makes for callback(xk).
        def scipy_callback(intermediate_result: Any) -> None:
            x = intermediate_result.x.view()
            x.flags.writeable = False
            user_callback(x, float(intermediate_result.fun))

    with _scipy_blas_limited(blas_threads):
        res = minimize(
            fun, x0, method="L-BFGS-B", jac=True, callback=scipy_callback, options=options
        )
    return LbfgsResult(
        x=res.x,
        fun=float(res.fun),
        n_iter=int(res.nit),
        n_fev=int(res.nfev),
        success=bool(res.success),
        message=str(res.message),
    )


def _check_theta0(theta0: Any) -> np.ndarray:
    x0 = np.asarray(theta0)
    if x0.ndim != 1 or x0.shape[0] == 0:
        raise ValueError(f"theta0 must be a non-empty flat vector, got shape {x0.shape}")
    if not np.issubdtype(x0.dtype, np.floating):
        raise ValueError(f"theta0 must hold floating-point numbers, got dtype {x0.dtype}")
    if not np.all(np.isfinite(x0)):
        raise ValueError(
            f"theta0 contains a non-finite value at index {np.argmin(np.isfinite(x0))}"
        )
    return x0


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
    return int(value)


@contextlib.contextmanager
def _scipy_blas_limited(threads: int | None) -> Iterator[None]:
    """Limit the BLAS libraries that scipy ships (not numpy's) to ``threads``."""
    if threads is None:
        yield
        return
    try:
        threadpoolctl = importlib.import_module("threadpoolctl")
    except ImportError:  # optional: without it, BLAS keeps its default threads
        yield
        return
    import scipy

    package = os.path.dirname(os.path.realpath(scipy.__file__))
    homes = (package + os.sep, package + ".libs" + os.sep)  # scipy/.dylibs, scipy.libs
    controller = threadpoolctl.ThreadpoolController()
    own = [
        info["filepath"]
        for info in controller.info()
        if info["user_api"] == "blas" and os.path.realpath(info["filepath"]).startswith(homes)
    ]
    if not own:
        yield
        return
    with controller.select(filepath=own).limit(limits=threads):
        yield
