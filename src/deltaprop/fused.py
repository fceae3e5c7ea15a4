"""The loop's whole-epoch call: every mini-batch of an epoch, with its update, in one compiled call.

``loop.Trainer`` asks :func:`whole_epoch` first when it runs a whole epoch
(``run_epoch``, ``run``); where the call applies it hands back the epoch's
sums and outputs (``compiled.EpochRun``), else None and the loop steps through
the batches itself, one objective evaluation and one update each (the same
numbers: tests/test_compiled.py holds the two equal). The call applies to
one process (no MPI), a dense numpy x, an objective whose J the compiled
kernels compute (``NetworkObjective.epoch_rule``), a built-in step-based
optimizer (GD, momentum, Nesterov, Adam), and an epoch that starts at its first
batch. The learning rate is the schedule's for the epoch, as in the loop.

Dropout masks are drawn here, batch after batch, from the run's generator,
in the order the loop draws them, before the call: the same masks, so that
reruns and resumed runs stay bit-exact whichever path ran an epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .compiled import EpochRun, optimizer_code
from .objective import Batch


def whole_epoch(
    objective: Any,
    data: Batch,
    bs: int,
    run: tuple[Any, dict[str, Any], float, np.ndarray, int, Any, np.random.Generator, Any],
    cfg: Any,
    whole: bool = True,
) -> EpochRun | None:
    """The epoch in one compiled call, or None where the call does not apply.

    Args:
      objective: the run's objective; ``epoch_rule()`` gives its engine and λ.
      data: every training example (this process holds them all).
      bs: the batch size.
      run: (optimizer, its state, α for this epoch, the loop's gradient vector,
        the updates made so far, the ``dropout.Masks`` or None, the run's
        generator they draw from, the epoch's order or None for the examples'
        own); θ is ``objective.params``, and the state changes in place.
      cfg: the run's ``LoopConfig`` (diverge, skip_empty, max_steps).
      whole: False when the caller steps through the epoch (then None: the loop's
        numpy engine on one process only, ``step_once`` batch by batch).
    """
    rule = getattr(objective, "epoch_rule", lambda: None)() if whole else None
    opt, state, lr, grad, step, masks, rng, order = run
    if rule is None or optimizer_code(opt) is None:
        return None
    engine, lam, alpha = rule
    theta = objective.params
    if not engine.covers(theta, grad, data.x):
        return None
    m = data.m
    n_batches = -(-m // bs)
    if cfg.max_steps is not None:
        n_batches = min(n_batches, cfg.max_steps - step)
    drawn = None
    if masks is not None:  # batch after batch, as the loop draws them
        drawn = [masks.draw(rng, min(bs, m - j * bs)) for j in range(n_batches)]
    xyw = (data.x, data.y, data.w)
    flags = (cfg.diverge, cfg.skip_empty)
    if order is None:
        order = np.arange(m)
    return engine.epoch(
        theta, grad, lam, alpha, xyw, order, bs, n_batches, drawn, (opt, state, lr), flags
    )


def tally(run: EpochRun, sums: Any, count: Any, bs: int, y: Any, order: Any) -> int:
    """Hand a whole-epoch call's figures to the loop's tallies; the examples run.

    ``sums`` (``tally.EpochSums``) takes the size-weighted sums of J's parts and
    ``count`` the outputs (``y`` and the epoch's ``order`` for counts that need the
    targets); the number returned covers the order up to the last
    batch that ran (0: none ran).
    """
    sums.sums = list(run.sums)
    count.add_epoch(run.outputs, run.ran, bs, y, order)
    done = np.flatnonzero(run.ran != 0)
    return 0 if not done.shape[0] else min(run.outputs.shape[0], (int(done[-1]) + 1) * bs)
