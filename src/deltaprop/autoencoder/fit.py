"""Training a sparse autoencoder: L-BFGS on J_sparse(θ), one history entry per iteration.

UFLDL trains its autoencoders with L-BFGS (minFunc, 400 iterations);
``deltaprop.train`` cannot, because its cost is the network's J(W,b) without the
sparsity penalty, so this module drives ``deltaprop.optim.minimize_lbfgs``
itself on θ ↦ (J_sparse(θ), ∇J_sparse(θ)) from :mod:`.cost`. It reports what
``train`` reports, through the same :class:`~deltaprop.training.EpochEnd`
callbacks, and nothing here prints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._arrays import to_numpy
from ..network import Network
from ..optim import minimize_lbfgs
from ..training import Callback, EpochEnd, History, TrainingDiverged, TrainingInterrupted
from .cost import SparseTerms, sparse_evaluator


@dataclass
class SparseHistory(History):
    """A :class:`~deltaprop.training.History` with the sparsity penalty and ρ̂ added.

    One entry per L-BFGS iteration: ``train_loss`` is J_sparse, ``train_data``
    the reconstruction term (1/m) Σᵢ ½‖h(x⁽ⁱ⁾) − x⁽ⁱ⁾‖², ``train_decay`` (λ/2) Σ W²,
    ``train_sparsity`` β Σ_j KL(ρ ‖ ρ̂_j), ``mean_activation`` the mean over hidden
    units of ρ̂_j, and ``steps`` the evaluations of J_sparse so far. Accuracies,
    validation figures and learning rates are NaN: there are none.
    """

    train_sparsity: list[float] = field(default_factory=list)
    mean_activation: list[float] = field(default_factory=list)
    converged: bool = False


class _NonFinite(Exception):
    """J_sparse or its gradient is not finite at a point L-BFGS asked for."""


def train_sparse_autoencoder(
    net: Network,
    X: Any,
    *,
    sparsity_target: float = 0.01,
    beta: float = 3.0,
    max_iter: int = 400,
    tol: float | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    progress_every: int = 10,
) -> SparseHistory:
    """Minimise J_sparse(W,b) = J(W,b) + β Σ_j KL(ρ ‖ ρ̂_j) over the inputs X by L-BFGS.

    Changes ``net``'s θ in place; the targets are the inputs themselves.

    Args:
      net: a sparse autoencoder network [s₁, s₂, s₁] (see ``autoencoder_network``);
        λ is its ``weight_decay``.
      X: the inputs (m, s₁); in [0, 1] for a sigmoid decoder (UFLDL's patches lie
        in [0.1, 0.9]), any real numbers for a linear one.
      sparsity_target: ρ (UFLDL's sparsityParam), in (0, 1).
      beta: β ≥ 0, the weight of the sparsity penalty.
      max_iter: L-BFGS iterations (UFLDL: 400).
      tol: L-BFGS's convergence tolerance (None: scipy's defaults).
      callbacks: called with an :class:`~deltaprop.training.EpochEnd` after every
        iteration, ``net`` holding that iterate; one returning True stops.
      progress: report progress on stderr, as ``deltaprop.train`` does.
      progress_every: a plain progress line every this many iterations.

    Returns:
      The :class:`SparseHistory`; ``converged`` says whether L-BFGS met its
      tolerance before ``max_iter``.

    Raises:
      TrainingDiverged: J_sparse became non-finite; θ is the last finite iterate.
      TrainingInterrupted: Ctrl-C; θ is the last completed iteration's.
      ValueError: a bad argument, named.
    """
    evaluate = sparse_evaluator(net, X, sparsity_target=sparsity_target, beta=beta)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ValueError(f"max_iter must be a whole number ≥ 1, got {max_iter!r}")
    hooks = list(callbacks)
    if progress:
        from ..progress import ProgressReporter

        hooks.append(ProgressReporter(every=progress_every))

    history = SparseHistory()
    theta = net.params
    good = to_numpy(theta).astype(np.float64)
    last: dict[str, Any] = {}
    n_fev = 0
    t0 = time.perf_counter()

    def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_fev
        n_fev += 1
        terms, grad = evaluate(th)
        J = terms.total
        if not (math.isfinite(J) and np.all(np.isfinite(grad))):
            raise _NonFinite
        last.update(x=th.copy(), terms=terms)
        return J, grad

    def on_iteration(th: np.ndarray, J: float) -> None:
        nonlocal good
        good = th.copy()
        theta[...] = net.from_host(th)
        if "x" not in last or not np.array_equal(last["x"], th):
            fun(th)
        _record(history, last["terms"], n_fev, time.perf_counter() - t0)
        info = EpochEnd(len(history) - 1, max_iter, net, history)
        if any([hook(info) is True for hook in hooks]):  # every hook sees every iteration
            history.stop_reason = "stopped by a callback"
            raise StopIteration

    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = minimize_lbfgs(
                fun, good, max_iter=int(max_iter), tol=tol, callback=on_iteration
            )
    except _NonFinite:
        theta[...] = net.from_host(good)
        raise TrainingDiverged(
            f"sparse autoencoder training diverged at iteration {len(history)}: J_sparse or its "
            "gradient is not finite; the parameters were put back to their last finite values",
            history,
        ) from None
    except KeyboardInterrupt:
        theta[...] = net.from_host(good)
        raise TrainingInterrupted(
            f"interrupted; the parameters are those after iteration {len(history)}", history, None
        ) from None
    finally:
        for hook in hooks:
            close = getattr(hook, "close", None)
            if close is not None:
                close()
    if not history.stop_reason:
        theta[...] = net.from_host(result.x)
        history.converged = result.success
        history.stop_reason = (
            f"converged: {result.message}" if result.success else f"{result.message}"
        )
    return history


def _record(history: SparseHistory, terms: SparseTerms, n_fev: int, elapsed: float) -> None:
    data, decay, sparsity = float(terms.data), float(terms.decay), float(terms.sparsity)
    history.epoch.append(len(history))
    history.train_loss.append(data + decay + sparsity)
    history.train_data.append(data)
    history.train_decay.append(decay)
    history.train_sparsity.append(sparsity)
    history.mean_activation.append(float(np.mean(to_numpy(terms.rho_hat))))
    for name in ("train_accuracy", "val_loss", "val_accuracy", "learning_rate"):
        getattr(history, name).append(math.nan)
    history.wall_time.append(elapsed)
    history.steps.append(n_fev)
