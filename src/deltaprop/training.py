"""Training: ``train`` minimises J(W,b) over a network's θ with any optimizer.

The seed minimises J(W,b) by gradient descent, W := W − α ∂J/∂W and
b := b − α ∂J/∂b, over all m examples at once. ``train`` runs that update and
its relatives on the network's flat θ:

- "gd": the seed's rule on the full batch (or on mini-batches, if batch_size is set);
- "sgd": the same rule, meant for mini-batches reshuffled every epoch;
- "momentum", "nesterov", "adam": see ``deltaprop.optim``;
- "lbfgs": scipy's L-BFGS-B on J(θ) over the full batch; one epoch is one iteration.

It checks its arguments, builds the objective (``deltaprop.objective``) and a
:class:`~deltaprop.loop.Trainer`, and runs it to the end; the loop itself is
``deltaprop.loop``. It returns a :class:`History` and changes the network's θ in
place. Nothing here prints: progress goes through callbacks (``deltaprop.progress``
has the one that ``progress=True`` attaches).

Reproducibility: the same seed, data and configuration give bit-identical θ
and history on the same machine. One numpy Generator, seeded by ``seed``, first
draws the validation split (when ``validation`` is a fraction), then every
epoch's shuffle; a checkpoint stores its state, so resuming a step-based run
from a checkpoint reproduces the uninterrupted run bit for bit (see
``deltaprop.runstate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from os import PathLike
from typing import Any

import numpy as np

from ._validate import check_count, check_optional_count, check_positive, check_real
from .dropout import check_dropout
from .history import Callback, EpochEnd, History, TrainingDiverged, TrainingInterrupted
from .loop import Trainer
from .network import Network, make_rng
from .objective import Batch, NetworkObjective, Objective
from .optim import (
    OPTIMIZERS,
    Constant,
    Cosine,
    InverseTime,
    Schedule,
    StepDecay,
    get_optimizer,
)
from .optim.base import Optimizer
from .runconfig import LoopConfig

__all__ = [
    "Callback",
    "EpochEnd",
    "History",
    "TrainingDiverged",
    "TrainingInterrupted",
    "train",
    "trainer",
]


def train(
    net: Network | Objective,
    X: Any,
    Y: Any,
    *,
    optimizer_state: dict[str, Any] | None = None,
    **options: Any,
) -> History:
    """Minimise J(W,b) over (X, Y), changing ``net``'s θ in place.

    A thin wrapper: the :func:`trainer` of these arguments, run to the end.

    Args:
      net, X, Y, options: as for :func:`trainer` (``optimizer``, ``learning_rate``,
        ``epochs``, ``batch_size``, ``validation``, ``early_stopping``, ``seed``,
        ``sample_weight``, ``checkpoint``, ``resume``, ``callbacks``, ``progress``,
        ``tol``, ``dropout``, ``comm``, …; every one is described there).
      optimizer_state: a dict to carry the optimizer's state (velocity, Adam's
        moments) across calls: an empty dict is filled at the start, a filled one
        is continued, and it holds the final state on return.

    Returns:
      The :class:`History`.

    Raises:
      TrainingDiverged: J became non-finite; θ is the last finite state.
      TrainingInterrupted: Ctrl-C; θ is the last completed epoch's, checkpointed
        when ``checkpoint`` is set.
      ValueError: a bad argument, named.

    >>> import numpy as np, deltaprop as dp
    >>> net = dp.Network([2, 2, 1], seed=0)
    >>> len(dp.train(net, np.eye(2), [[1.0], [0.0]], epochs=5, learning_rate=0.5))
    5
    """
    run = trainer(net, X, Y, optimizer_state=optimizer_state, **options)
    try:
        return run.run()
    finally:
        run.close()
        if optimizer_state is not None:
            optimizer_state.clear()
            optimizer_state.update(run.state)


def trainer(
    net: Network | Objective,
    X: Any,
    Y: Any,
    *,
    optimizer: str | Optimizer = "gd",
    learning_rate: float | Schedule = 0.1,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    adam_epsilon: float = 1e-8,
    epochs: int = 100,
    max_steps: int | None = None,
    batch_size: int | None = None,
    validation: tuple[Any, Any] | float | None = None,
    early_stopping: int | None = None,
    seed: int | np.random.Generator | None = 0,
    sample_weight: Any = None,
    checkpoint: str | PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume: str | PathLike[str] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    progress_every: int = 10,
    tol: float | None = None,
    dropout: float | Sequence[float] | None = None,
    comm: Any = None,
    history: History | None = None,
    optimizer_state: dict[str, Any] | None = None,
) -> Trainer:
    """The :class:`~deltaprop.loop.Trainer` of one run over (X, Y), checked and not yet started.

    Advance it with ``run_epoch()`` or ``step_once()``, run it with ``run()`` (what
    :func:`train` does), and ``close()`` it when done. (Long because every argument
    of a run is documented and checked here, once, before anything is computed.)

    Args:
      net: the network to train, or an objective (``deltaprop.objective``) over a
        network's θ, such as ``NetworkObjective(net, engine="reference")`` or a
        sparse autoencoder's; an objective's ``net`` attribute is the network.
      X, Y: training inputs (m, s_1) and targets (m, s_{n_l}).
      optimizer: "gd", "sgd", "momentum", "nesterov", "adam" or "lbfgs", or a
        step-based optimizer object (``deltaprop.optim``'s contract).
      learning_rate: α, a number or a schedule from ``deltaprop.optim``
        (``StepDecay``, ``InverseTime``, ``Cosine``); unused by L-BFGS.
      momentum: μ for "momentum" and "nesterov".
      beta1, beta2, adam_epsilon: Adam's β₁, β₂ and ε.
      epochs: the epoch budget (for L-BFGS: iterations).
      max_steps: also stop after this many parameter updates (for L-BFGS:
        evaluations of J).
      batch_size: examples per update; None is the full batch. Mini-batches are
        drawn from a fresh shuffle every epoch; the last may be smaller.
      validation: (X_val, Y_val), or a fraction of (X, Y) to hold out at random.
      early_stopping: stop when the validation loss has not improved for this
        many epochs, and restore the parameters of the best epoch.
      seed: seeds the shuffles and the validation split; a numpy Generator is
        used (and advanced) as it is, so that successive calls continue one stream.
      sample_weight: weights wᵢ ≥ 0 of the m training examples: the data term
        becomes (Σᵢ wᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)) / Σᵢ wᵢ (held-out examples keep theirs).
      checkpoint: write a checkpoint to this path every ``checkpoint_every`` epochs
        (atomically; 0: only when interrupted) and when interrupted.
      resume: continue the run stored in this checkpoint; the network must have
        the checkpoint's architecture, and the other arguments should be the
        original run's.
      callbacks: functions called with an :class:`EpochEnd` after every epoch;
        one returning True stops training.
      progress: report progress on stderr (a live bar on a terminal, a line every
        ``progress_every`` epochs otherwise).
      tol: L-BFGS's convergence tolerance (None: scipy's defaults).
      dropout: p, the probability of dropping each hidden unit at each training
        step (inverted dropout: kept units are scaled by 1/(1 − p)), one rate for
        every hidden layer or a sequence of one per hidden layer; None or 0: off.
        The masks come from ``seed``'s Generator, so reruns and resumed runs draw
        the same ones. Training J and accuracy are those of the thinned networks;
        validation, prediction and gradient checks use the whole network.
        Step-based optimizers only (not L-BFGS).
      comm: an MPI communicator (mpi4py) for data-parallel training: X, Y (and
        the validation pair) are then this rank's own rows; every rank computes
        its share of J and ∇J and one all-reduce per step gives all of them the
        full average, so θ stays identical on every rank. Mini-batches are the
        same seeded global batches as in one process, each rank taking its own
        rows of them. Rank 0 alone writes checkpoints and progress.
      history: the History to fill (by default the objective's ``new_history()``
        or a plain History).
      optimizer_state: the optimizer's state to continue from (velocity, Adam's
        moments), as :func:`train` carries it; a checkpoint being resumed wins.

    Raises:
      ValueError: a bad argument, named (before anything is computed).

    >>> import numpy as np, deltaprop as dp
    >>> net = dp.Network([2, 2, 1], seed=0)
    >>> run = dp.trainer(net, np.eye(2), [[1.0], [0.0]], epochs=3)
    >>> run.run_epoch(), run.epoch, len(run.history)
    (True, 1, 1)
    >>> len(run.run()), run.finished
    (3, True)
    """
    objective: Objective = NetworkObjective(net) if isinstance(net, Network) else net
    network: Network = net if isinstance(net, Network) else net.net  # type: ignore[attr-defined]
    cfg = _loop_config(
        optimizer=optimizer,
        learning_rate=learning_rate,
        momentum=momentum,
        beta1=beta1,
        beta2=beta2,
        adam_epsilon=adam_epsilon,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        early_stopping=early_stopping,
        seed=seed,
        checkpoint_every=checkpoint_every,
        tol=tol,
    )
    rates = check_dropout(dropout, network.n_layers - 2)
    describe = {**(cfg.describe or {}), "dropout": None if rates is None else list(rates)}
    cfg = replace(cfg, dropout=rates, describe=describe)
    every = check_count("progress_every", progress_every)
    x, y = network.check_data(X, Y)
    data = Batch(x, y, network.check_sample_weight(sample_weight, x.shape[0]))
    rng = make_rng(seed)
    dp_ = None
    if comm is not None and comm.Get_size() > 1:
        from .distributed import DataParallel

        dp_ = DataParallel(comm)
        if validation is not None and not isinstance(validation, tuple | list):
            raise ValueError(
                "validation: with comm, pass this rank's (X_val, Y_val) rows; a fraction "
                "would split each rank's shard differently from one process"
            )
    data, val = _split_validation(network, validation, data, rng)
    if cfg.early_stopping is not None and val is None:
        raise ValueError(
            "early_stopping needs validation data: pass validation=(X_val, Y_val) "
            "or a fraction such as validation=0.1"
        )
    hooks = list(callbacks)
    if progress and (dp_ is None or dp_.is_root):
        from .progress import ProgressReporter

        hooks.append(ProgressReporter(every=every))
    run = Trainer(
        objective,
        data,
        cfg,
        rng=rng,
        net=network,
        val=val,
        callbacks=hooks,
        checkpoint=None if checkpoint is None else str(checkpoint),
        dp=dp_,
        history=history,
    )
    if optimizer_state:
        run.state.update(optimizer_state)
    if resume is not None:
        run.restore(str(resume))
    return run


# --- configuration ---------------------------------------------------------------------------


def _loop_config(
    *,
    optimizer: str | Optimizer,
    learning_rate: float | Schedule,
    momentum: float,
    beta1: float,
    beta2: float,
    adam_epsilon: float,
    epochs: int,
    max_steps: int | None,
    batch_size: int | None,
    early_stopping: int | None,
    seed: int | np.random.Generator | None,
    checkpoint_every: int,
    tol: float | None,
) -> LoopConfig:
    """The run's configuration, every value checked under the name the caller typed.

    (A list of checks, one per argument, in the order of :func:`trainer`'s.)
    """
    opt: Optimizer | None = None
    if isinstance(optimizer, Optimizer):
        opt, optimizer = optimizer, optimizer.name
    elif not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer: unknown optimizer {optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
        )
    elif optimizer != "lbfgs":
        opt = get_optimizer(
            optimizer,
            momentum=momentum,
            beta1=beta1,
            beta2=beta2,
            eps=check_positive("adam_epsilon", adam_epsilon),
        )
    if isinstance(learning_rate, Constant | StepDecay | InverseTime | Cosine) or (
        callable(learning_rate) and hasattr(learning_rate, "config")
    ):
        schedule: Schedule = learning_rate  # type: ignore[assignment]
    else:
        check_real("learning_rate", learning_rate, low=0.0)
        schedule = Constant(check_positive("learning_rate", learning_rate))
    cfg = LoopConfig(
        optimizer=optimizer,
        schedule=schedule,
        opt=opt,
        epochs=check_count("epochs", epochs, low=0),
        max_steps=check_optional_count("max_steps", max_steps),
        batch_size=check_optional_count("batch_size", batch_size),
        early_stopping=check_optional_count("early_stopping", early_stopping),
        checkpoint_every=check_count("checkpoint_every", checkpoint_every, low=0),
        tol=None if tol is None else check_real("tol", tol, low=0.0),
    )
    describe = {  # JSON-able, stored in checkpoints and model files
        "optimizer": optimizer,
        "optimizer_config": None if opt is None else opt.config(),
        "schedule": schedule.config(),
        "epochs": cfg.epochs,
        "max_steps": cfg.max_steps,
        "batch_size": cfg.batch_size,
        "early_stopping": cfg.early_stopping,
        "seed": seed if isinstance(seed, int) else None,
    }
    return replace(cfg, describe=describe)


def _split_validation(
    net: Network, validation: Any, data: Batch, rng: np.random.Generator
) -> tuple[Batch, Batch | None]:
    """(training data, validation data or None)."""
    if validation is None:
        return data, None
    if isinstance(validation, tuple | list):
        if len(validation) != 2:
            raise ValueError(
                f"validation: expected (X_val, Y_val) or a fraction, got {len(validation)} items"
            )
        return data, Batch(*net.check_data(validation[0], validation[1]))
    fraction = check_real("validation", validation, low=0.0, high=1.0)
    m = data.m
    n_val = round(fraction * m)
    if not 0 < n_val < m:
        raise ValueError(
            f"validation={validation!r} holds out {n_val} of {m} examples; "
            "both parts need at least one"
        )
    order = rng.permutation(m)
    xp = net.xp
    val_idx = xp.asarray(np.sort(order[:n_val]), device=net.device)
    train_idx = xp.asarray(np.sort(order[n_val:]), device=net.device)
    return data.take(xp, train_idx), data.take(xp, val_idx)
