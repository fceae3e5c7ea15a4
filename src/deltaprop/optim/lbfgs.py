"""L-BFGS on the flat parameter vector θ, through scipy's L-BFGS-B.

UFLDL trains its networks with L-BFGS (minFunc); here scipy's implementation
drives θ directly: it asks for J(θ) and ∇J(θ) at points of its choosing and
keeps the last ``memory`` pairs (s, y) = (θₖ₊₁ − θₖ, ∇Jₖ₊₁ − ∇Jₖ) to model the
inverse Hessian. scipy works in float64 on host memory; ``fun`` converts to and
from the network's dtype and namespace.

On a device (a torch network on "cuda", CuPy) scipy's driver still runs on
the host, on float64 copies, and only the evaluations run on the device: each
evaluation of J copies θ to the device (n_params numbers in the network's
dtype) and ∇J back (n_params numbers, widened to float64 on the host), plus J's
parts, and waits for the device once. For P4's 64-25-64 network (3 289
numbers) that is 26 KB each way per evaluation in float64; for a 784-256-10
network (203 530 numbers) 0.8 MB each way in float32, by arithmetic about
0.1 ms at a PCIe rate of ~10 GB/s (not measured here), on top of the host's own
work per iteration (O(memory × n_params) for the two-loop recursion). The
transfer is paid per evaluation, never per example.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import numbers
import os
import queue
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_count

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

    (Long for its arguments' documentation; the body maps them onto scipy's.)

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
        "maxiter": check_count("max_iter", max_iter),
        "maxcor": check_count("memory", memory),
    }
    if max_fun is not None:
        options["maxfun"] = check_count("max_fun", max_fun)
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"tol must be a number ≥ 0 or None, got {tol!r}")
        options["ftol"] = options["gtol"] = float(tol)
    if blas_threads is not None:
        check_count("blas_threads", blas_threads)

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


# --- one iteration at a time -----------------------------------------------------------------


class NonFinite(ArithmeticError):
    """J or ∇J was NaN or infinite at a point L-BFGS asked for."""


Evaluate = Callable[[np.ndarray], tuple[float, Any, Any]]
"""θ (float64 numpy) ↦ (J(θ), ∇J(θ) as any array, anything to hand back with the iterate)."""


@dataclass(frozen=True)
class Iterate:
    """Where one L-BFGS iteration ended: θₖ, J(θₖ), ∇J(θₖ) (float64) and the caller's info."""

    theta: np.ndarray
    J: float
    grad: np.ndarray
    info: Any


class LbfgsSteps:
    """L-BFGS advanced one iteration at a time: the driver every L-BFGS run goes through.

    scipy runs its whole loop in one call, so :func:`minimize_lbfgs` runs in a
    worker thread that pauses at every iteration's callback until :meth:`next`
    asks for the next one; the two threads never compute at once. The driver

    - hands scipy a fresh float64 copy of every gradient (scipy keeps the last one);
    - raises :class:`NonFinite` (from :meth:`next`) when J or ∇J is not finite,
      with :attr:`last_finite` the last iterate (θ₀ before the first) to go back to;
    - evaluates again at the iterate when the line search's last evaluation was
      elsewhere, so that each :class:`Iterate`'s J, ∇J and info belong to θₖ.

    Args:
      evaluate: θ ↦ (J, ∇J, info), see :data:`Evaluate`.
      theta0: the starting point (float64 copy taken).
      max_iter, tol, max_fun, memory: as for :func:`minimize_lbfgs`.
      n_fev: evaluations already made (a resumed run counts on).

    >>> fun = lambda th: (float(th @ th), 2 * th, None)
    >>> run = LbfgsSteps(fun, np.array([3.0, -4.0]), max_iter=50)
    >>> while (it := run.next()) is not None:
    ...     pass
    >>> bool(np.allclose(run.result.x, 0.0)), run.result.success
    (True, True)
    """

    def __init__(
        self,
        evaluate: Evaluate,
        theta0: np.ndarray,
        *,
        max_iter: int,
        tol: float | None = None,
        max_fun: int | None = None,
        memory: int = 10,
        n_fev: int = 0,
    ) -> None:
        self._evaluate = evaluate
        self.last_finite = _check_theta0(theta0).astype(np.float64, copy=True)
        self._max_iter, self._tol = check_count("max_iter", max_iter), tol
        self._max_fun, self._memory = max_fun, memory
        self.n_fev = n_fev
        self.result: LbfgsResult | None = None
        self._last: Iterate | None = None
        self._to_main: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._to_worker: queue.Queue[str] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.closed = False
        self._errstate = np.geterr()  # numpy's error state is per thread: the worker takes ours

    def next(self) -> Iterate | None:
        """Run to the end of the next iteration; None once L-BFGS has stopped (see ``result``).

        Raises:
          NonFinite: J or ∇J was not finite; ``last_finite`` is the last good iterate.
        """
        if self.result is not None or self.closed:
            return None
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="lbfgs", daemon=True)
            self._thread.start()
        else:
            self._to_worker.put("go")
        kind, payload = self._wait()
        if kind == "iterate":
            self.last_finite = payload.theta
            return payload
        self._thread.join()
        if kind == "done":
            self.result = payload
            return None
        raise payload

    def close(self) -> None:
        """Stop the worker (if it runs) and wait for it; the driver gives no more iterates.

        ``result`` keeps scipy's result if the run had ended; calling ``next`` after
        ``close`` gives None.
        """
        self.closed = True
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._stopping = True
        self._to_worker.put("stop")
        while thread.is_alive():
            thread.join(0.05)
            with contextlib.suppress(queue.Empty):
                kind, payload = self._to_main.get_nowait()  # nobody will read it now
                if kind == "done" and payload is not None:
                    self.result = payload

    def _wait(self) -> tuple[str, Any]:
        """The worker's next message. Waits in short slices, so that Ctrl-C (which only
        the main thread handles, whichever thread the signal reached) ends the wait."""
        while True:
            with contextlib.suppress(queue.Empty):
                return self._to_main.get(timeout=0.1)

    def _fun(self, th: np.ndarray) -> tuple[float, np.ndarray]:
        if self._stopping:
            raise _Stopped
        self.n_fev += 1
        J, g, info = self._evaluate(th)
        g = np.array(g, dtype=np.float64)  # a fresh array: scipy keeps the last one
        if not (math.isfinite(J) and np.all(np.isfinite(g))):
            raise NonFinite
        self._last = Iterate(th.copy(), float(J), g, info)
        return float(J), g

    def _callback(self, th: np.ndarray, J: float) -> None:
        if self._last is None or not np.array_equal(self._last.theta, th):
            self._fun(th)
        assert self._last is not None
        self._to_main.put(("iterate", self._last))
        if self._to_worker.get() == "stop":
            raise StopIteration

    def _work(self) -> None:
        try:
            with np.errstate(**self._errstate):
                res = minimize_lbfgs(
                    self._fun,
                    self.last_finite,
                    max_iter=self._max_iter,
                    tol=self._tol,
                    callback=self._callback,
                    max_fun=self._max_fun,
                    memory=self._memory,
                )
        except _Stopped:
            self._to_main.put(("done", None))
        except BaseException as exc:  # handed to the caller's thread, raised there
            self._to_main.put(("error", exc))
        else:
            self._to_main.put(("done", res))


class _Stopped(Exception):
    """The driver was closed while scipy was still running."""


def weakly(method: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], Any]:
    """``method``, held weakly: the worker running L-BFGS must not keep its owner alive."""
    ref = weakref.WeakMethod(method)

    def call(th: np.ndarray) -> Any:
        bound = ref()
        if bound is None:
            raise ReferenceError("the owner of this L-BFGS run is gone")
        return bound(th)

    return call
