"""Training a sparse autoencoder: L-BFGS on J_sparse(θ), one history entry per iteration.

UFLDL trains its autoencoders with L-BFGS (minFunc, 400 iterations). Here
``deltaprop.train`` does, on the objective :class:`~.cost.SparseObjective`
(J_sparse's three parts and its gradient): the same loop, callbacks and
progress as every other run, and nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import check_count
from ..history import Callback
from ..network import Network
from ..training import trainer
from .cost import SparseHistory, SparseObjective

__all__ = ["SparseHistory", "train_sparse_autoencoder"]


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

    Changes ``net``'s θ in place; the targets are the inputs themselves. (Its length
    is its documentation: the body is ``trainer`` on :class:`SparseObjective`.)

    Args:
      net: a sparse autoencoder network [s₁, s₂, s₁] (see ``autoencoder_network``);
        λ is its ``weight_decay``.
      X: the inputs (m, s₁); in [0, 1] for a sigmoid decoder (UFLDL's patches lie
        in [0.1, 0.9]), any real numbers for a linear one.
      sparsity_target: ρ (UFLDL's sparsityParam), in (0, 1).
      beta: β ≥ 0, the weight of the sparsity penalty.
      max_iter: L-BFGS iterations (UFLDL: 400).
      tol: L-BFGS's convergence tolerance (None: scipy's defaults).
      callbacks: called with an :class:`~deltaprop.history.EpochEnd` after every
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
    objective = SparseObjective(net, sparsity_target=sparsity_target, beta=beta)
    check_count("max_iter", max_iter)
    x = net.check_X(X)
    run = trainer(
        objective,
        x,
        x,
        optimizer="lbfgs",
        epochs=int(max_iter),
        tol=tol,
        callbacks=callbacks,
        progress=progress,
        progress_every=progress_every,
    )
    try:
        with np.errstate(divide="ignore"):  # log ρ̂ of a saturated unit: a non-finite J, caught
            history = run.run()
    finally:
        run.close()
    assert isinstance(history, SparseHistory)
    result = run.lbfgs_result
    if result is not None and history.stop_reason != "stopped by a callback":
        history.stop_reason = f"converged: {result.message}" if result.success else result.message
    history.converged = history.stop_reason.startswith("converged")
    return history
