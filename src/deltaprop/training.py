"""Training: epochs, batches, history, early stopping, checkpoints and resume.

The seed minimises J(W,b) by gradient descent, W := W − α ∂J/∂W and
b := b − α ∂J/∂b, over all m examples at once. ``train`` runs that update and
its relatives on the network's flat θ:

- "gd": the seed's rule on the full batch (or on mini-batches, if batch_size is set);
- "sgd": the same rule, meant for mini-batches reshuffled every epoch;
- "momentum", "nesterov", "adam": see ``deltaprop.optim``;
- "lbfgs": scipy's L-BFGS-B on J(θ) over the full batch; one epoch is one iteration.

It returns a :class:`History` and changes the network's θ in place. Nothing here
prints: progress goes through callbacks (``deltaprop.progress`` has the one
that ``progress=True`` attaches).

Reproducibility: the same seed, data and configuration give bit-identical θ
and history on the same machine. One numpy Generator, seeded by ``seed``, first
draws the validation split (when ``validation`` is a fraction), then every
epoch's shuffle; a checkpoint stores its state, so resuming a step-based run
from a checkpoint reproduces the uninterrupted run bit for bit. (L-BFGS keeps
its curvature memory inside scipy: a resumed L-BFGS run restarts that memory
from the checkpoint's θ.)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from . import backprop
from ._arrays import Array, to_numpy
from ._validate import check_real
from .network import Network, make_rng
from .optim import (
    OPTIMIZERS,
    Constant,
    InverseTime,
    Schedule,
    StepDecay,
    get_optimizer,
    minimize_lbfgs,
)
from .optim.base import Optimizer

if TYPE_CHECKING:
    from .distributed import DataParallel

Callback = Callable[["EpochEnd"], Any]
"""Called after every epoch; returning True stops training (after this epoch)."""


@dataclass
class History:
    """What happened in each epoch (for L-BFGS: each iteration).

    Every list has one entry per epoch. ``train_loss`` is J over the training
    examples, with its two parts ``train_data`` ((1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)) and
    ``train_decay`` ((λ/2) Σ W²); with mini-batches it is the mean over the
    epoch's batches of J at the parameters each batch's update started from.
    Validation figures are measured after the epoch's last update and are NaN
    when there is no validation set; accuracies are NaN for costs that are not
    classification costs.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_data: list[float] = field(default_factory=list)
    train_decay: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    wall_time: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    stop_reason: str = ""

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The inverse of :meth:`to_dict`; unknown keys are a ValueError."""
        names = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"history: unknown fields {sorted(unknown)}")
        return cls(**data)

    def to_csv(self) -> str:
        """One row per epoch, a header naming the columns."""
        cols = [
            "epoch",
            "train_loss",
            "train_data",
            "train_decay",
            "train_accuracy",
            "val_loss",
            "val_accuracy",
            "learning_rate",
            "wall_time",
            "steps",
        ]
        rows = [",".join(cols)]
        for i in range(len(self)):
            rows.append(",".join(repr(getattr(self, c)[i]) for c in cols))
        return "\n".join(rows) + "\n"


@dataclass(frozen=True)
class EpochEnd:
    """What a callback sees after each epoch."""

    epoch: int  # 0-based
    epochs: int  # the run's epoch budget
    net: Network
    history: History


class TrainingDiverged(RuntimeError):
    """J or its gradient became NaN or infinite; θ was put back to its last finite state."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: θ is back at the last completed epoch, checkpointed if asked."""

    def __init__(self, message: str, history: History, checkpoint: str | None) -> None:
        super().__init__(message)
        self.history = history
        self.checkpoint = checkpoint


def train(
    net: Network,
    X: Any,
    Y: Any,
    *,
    optimizer: str = "gd",
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
    optimizer_state: dict[str, Any] | None = None,
    checkpoint: str | PathLike[str] | None = None,
    checkpoint_every: int = 1,
    resume: str | PathLike[str] | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    progress_every: int = 10,
    tol: float | None = None,
    comm: Any = None,
) -> History:
    """Minimise J(W,b) over (X, Y), changing ``net``'s θ in place.

    Args:
      net: the network to train.
      X, Y: training inputs (m, s_1) and targets (m, s_{n_l}).
      optimizer: "gd", "sgd", "momentum", "nesterov", "adam" or "lbfgs".
      learning_rate: α, a number or a schedule from ``deltaprop.optim``
        (``StepDecay``, ``InverseTime``); unused by L-BFGS.
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
      optimizer_state: a dict to carry the optimizer's state (velocity, Adam's
        moments) across calls: an empty dict is filled at the start, a filled one
        is continued, and it holds the final state on return.
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
      comm: an MPI communicator (mpi4py) for data-parallel training: X, Y (and
        the validation pair) are then this rank's own rows; every rank computes
        its share of J and ∇J and one all-reduce per step gives all of them the
        full average, so θ stays identical on every rank. Mini-batches are the
        same seeded global batches as in one process, each rank taking its own
        rows of them. Rank 0 alone writes checkpoints and progress.

    Returns:
      The :class:`History`.

    Raises:
      TrainingDiverged: J became non-finite; θ is the last finite state.
      TrainingInterrupted: Ctrl-C; θ is the last completed epoch's, checkpointed
        when ``checkpoint`` is set.
      ValueError: a bad argument, named.
    """
    cfg = _Config.make(
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
        progress_every=progress_every,
        tol=tol,
    )
    x, y = net.check_data(X, Y)
    data = _Data(x, y, net.check_sample_weight(sample_weight, x.shape[0]))
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
    data, val = _split_validation(net, validation, data, rng)
    if cfg.early_stopping is not None and val is None:
        raise ValueError(
            "early_stopping needs validation data: pass validation=(X_val, Y_val) "
            "or a fraction such as validation=0.1"
        )
    hooks = list(callbacks)
    if progress and (dp_ is None or dp_.is_root):
        from .progress import ProgressReporter

        hooks.append(ProgressReporter(every=cfg.progress_every))
    run = _Run(
        net, cfg, data, val, rng, hooks, None if checkpoint is None else str(checkpoint), dp_
    )
    if optimizer_state:
        run.state.update(optimizer_state)
    if resume is not None:
        run.restore(str(resume))
    # Overflow is detected by the finiteness checks, which stop the run with
    # TrainingDiverged; numpy's own warnings about it would only repeat that.
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if run.finished:
                run._finish()
            elif cfg.optimizer == "lbfgs":
                run.lbfgs()
            else:
                run.steps()
    finally:
        if optimizer_state is not None:
            optimizer_state.clear()
            optimizer_state.update(run.state)
        for hook in hooks:
            close = getattr(hook, "close", None)
            if close is not None:
                close()
    return run.history


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    optimizer: str
    schedule: Schedule
    opt: Optimizer | None
    epochs: int
    max_steps: int | None
    batch_size: int | None
    early_stopping: int | None
    seed: int | None
    checkpoint_every: int
    progress_every: int
    tol: float | None

    @classmethod
    def make(
        cls,
        *,
        optimizer: str,
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
        progress_every: int,
        tol: float | None,
    ) -> _Config:
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer: unknown optimizer {optimizer!r}; "
                f"choose one of: {', '.join(OPTIMIZERS)}"
            )
        opt = None
        if optimizer != "lbfgs":
            opt = get_optimizer(
                optimizer, momentum=momentum, beta1=beta1, beta2=beta2, eps=adam_epsilon
            )
        if isinstance(learning_rate, Constant | StepDecay | InverseTime):
            schedule: Schedule = learning_rate
        else:
            schedule = Constant(check_real("learning_rate", learning_rate, low=0.0))
        return cls(
            optimizer=optimizer,
            schedule=schedule,
            opt=opt,
            epochs=_count("epochs", epochs, low=0),
            max_steps=None if max_steps is None else _count("max_steps", max_steps),
            batch_size=None if batch_size is None else _count("batch_size", batch_size),
            early_stopping=None
            if early_stopping is None
            else _count("early_stopping", early_stopping),
            seed=seed if isinstance(seed, int) else None,
            checkpoint_every=_count("checkpoint_every", checkpoint_every, low=0),
            progress_every=_count("progress_every", progress_every),
            tol=None if tol is None else check_real("tol", tol, low=0.0),
        )

    def describe(self) -> dict[str, Any]:
        """The configuration as JSON-able data (stored in checkpoints and model files)."""
        return {
            "optimizer": self.optimizer,
            "optimizer_config": None if self.opt is None else self.opt.config(),
            "schedule": self.schedule.config(),
            "epochs": self.epochs,
            "max_steps": self.max_steps,
            "batch_size": self.batch_size,
            "early_stopping": self.early_stopping,
            "seed": self.seed,
        }


def _count(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be a whole number ≥ {low}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class _Data:
    """Examples as arrays of the network's namespace: inputs, targets, optional weights."""

    x: Array
    y: Array
    w: Array | None = None

    def take(self, xp: Any, idx: Array) -> _Data:
        """The rows ``idx``."""
        w = None if self.w is None else xp.take(self.w, idx, axis=0)
        return _Data(xp.take(self.x, idx, axis=0), xp.take(self.y, idx, axis=0), w)


class _Gather:
    """Mini-batches of numpy data copied into arrays made once, by ``np.take(…, out=)``."""

    def __init__(self, data: _Data, rows: int) -> None:
        self.data = data
        self.x = np.empty((rows, *data.x.shape[1:]), data.x.dtype)
        self.y = np.empty((rows, *data.y.shape[1:]), data.y.dtype)
        self.w = None if data.w is None else np.empty(rows, data.w.dtype)

    def take(self, idx: np.ndarray) -> _Data:
        """The rows ``idx`` (at most ``rows`` of them), in this object's arrays."""
        n = idx.shape[0]
        # mode="clip": the indices are valid, and "raise" would copy through a buffer.
        x = self.data.x.take(idx, axis=0, out=self.x[:n], mode="clip")
        y = self.data.y.take(idx, axis=0, out=self.y[:n], mode="clip")
        w = None
        if self.w is not None and self.data.w is not None:
            w = self.data.w.take(idx, axis=0, out=self.w[:n], mode="clip")
        return _Data(x, y, w)


def _split_validation(
    net: Network, validation: Any, data: _Data, rng: np.random.Generator
) -> tuple[_Data, _Data | None]:
    """(training data, validation data or None)."""
    if validation is None:
        return data, None
    if isinstance(validation, tuple | list):
        if len(validation) != 2:
            raise ValueError(
                f"validation: expected (X_val, Y_val) or a fraction, got {len(validation)} items"
            )
        return data, _Data(*net.check_data(validation[0], validation[1]))
    fraction = check_real("validation", validation, low=0.0, high=1.0)
    m = data.x.shape[0]
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


# --- the run ---------------------------------------------------------------------------------


def accuracy(xp: Any, cost_name: str, out: Array, y: Array) -> float:
    """Fraction classified right: argmax for softmax outputs, 0.5 threshold for sigmoid ones.

    NaN for costs that are not classification costs.
    """
    if cost_name == "cross_entropy":
        return float(xp.mean(xp.astype(xp.argmax(out, axis=1) == xp.argmax(y, axis=1), out.dtype)))
    if cost_name == "binary_cross_entropy":
        return float(xp.mean(xp.astype((out > 0.5) == (y > 0.5), out.dtype)))
    return math.nan


class _Run:
    """One training run's mutable state; ``train`` builds it and drives it."""

    def __init__(
        self,
        net: Network,
        cfg: _Config,
        data: _Data,
        val: _Data | None,
        rng: np.random.Generator,
        hooks: list[Callback],
        checkpoint: str | None,
        dp: DataParallel | None = None,
    ) -> None:
        self.net, self.cfg, self.data, self.val = net, cfg, data, val
        self.rng, self.hooks, self.checkpoint = rng, hooks, checkpoint
        self.dp = dp
        # Rows of the (global) training set and where this rank's rows start in it.
        m = data.x.shape[0]
        self.m_global, self.offset = m, 0
        if dp is not None:
            counts = dp.comm.allgather(m)
            self.m_global, self.offset = sum(counts), sum(counts[: dp.rank])
        self.xp = net.xp
        self.theta = net.params
        self.state: dict[str, Any] = {} if cfg.opt is None else cfg.opt.init(self.xp, self.theta)
        self.history = History()
        self.epoch = 0  # the next epoch to run
        self.step = 0
        self.best_loss = math.inf
        self.best_theta: Array | None = None
        self.wait = 0
        self.elapsed = 0.0
        self.finished = False  # set by restore() for a run that had already stopped

    # -- per-epoch bookkeeping shared by both loops

    def _record(self, *, data: float, decay: float, acc: float, lr: float, t0: float) -> bool:
        """Append the epoch to the history, run early stopping and callbacks; True = stop."""
        h, xp, net = self.history, self.xp, self.net
        val_loss = val_acc = math.nan
        if self.val is not None:
            # J on the validation set at the parameters the epoch ended with.
            v = self.val
            trace = backprop.forward(xp, net.W, net.b, net.activations, v.x)
            n = float(v.x.shape[0]) if v.w is None else float(xp.sum(v.w))
            sums = [
                float(backprop.data_term(xp, net.cost, trace, v.y, v.w)) * n,
                n,
                accuracy(xp, net.cost.name, trace.output, v.y) * v.x.shape[0],
                float(v.x.shape[0]),
            ]
            if self.dp is not None:
                sums = self.dp.sum(sums)
            val_data, val_acc = sums[0] / sums[1], sums[2] / sums[3]
            val_loss = val_data + float(backprop.weight_decay(xp, net.W, net.weight_decay))
        h.epoch.append(self.epoch)
        h.train_data.append(data)
        h.train_decay.append(decay)
        h.train_loss.append(data + decay)
        h.train_accuracy.append(acc)
        h.val_loss.append(val_loss)
        h.val_accuracy.append(val_acc)
        h.learning_rate.append(lr)
        h.wall_time.append(self.elapsed + (time.perf_counter() - t0))
        h.steps.append(self.step)
        self.epoch += 1
        stop = False
        if self.cfg.early_stopping is not None:
            if val_loss < self.best_loss:
                self.best_loss, self.wait = val_loss, 0
                self.best_theta = xp.asarray(self.theta, copy=True)
                h.best_epoch = self.epoch - 1
            else:
                self.wait += 1
                if self.wait >= self.cfg.early_stopping:
                    stop = True
                    h.stopped_early = True
                    h.stop_reason = (
                        f"validation loss did not improve for {self.cfg.early_stopping} epochs"
                    )
        info = EpochEnd(self.epoch - 1, self.cfg.epochs, net, h)
        asked = any([hook(info) is True for hook in self.hooks])
        if self.dp is not None:  # every rank stops together, or none does
            asked = self.dp.sum([float(asked)])[0] > 0
        if asked:
            stop = True
            h.stop_reason = h.stop_reason or "stopped by a callback"
        return stop

    def _batch(
        self, order: Array | None, first: int, bs: int, gather: _Gather | None = None
    ) -> _Data:
        """This rank's rows of the mini-batch order[first : first + bs] (all rows: None).

        With ``gather`` (numpy, one process) the rows are copied into its arrays.
        """
        if order is None:
            return self.data
        idx = order[first : first + bs]
        if self.dp is not None:  # global row numbers that fall in this rank's shard
            lo = self.offset
            hi = lo + self.data.x.shape[0]
            idx = idx[(idx >= lo) & (idx < hi)] - lo
        elif gather is not None:
            return gather.take(idx)
        return self.data.take(self.xp, idx)

    def _evaluate(
        self, batch: _Data, theta: Array, grad: Array, work: backprop.Workspace | None = None
    ) -> tuple[Any, Any, Array]:
        """J's two parts and ∇J (into grad) for the batch: all ranks' rows under MPI."""
        if self.dp is None:
            return self.net.evaluate(batch.x, batch.y, theta, grad, batch.w, work)
        return self.dp.evaluate(self.net, batch.x, batch.y, theta, grad, batch.w)

    def _finish(self) -> None:
        if self.best_theta is not None:
            self.theta[...] = self.best_theta
        if not self.history.stop_reason:
            self.history.stop_reason = "epoch budget reached"

    def _diverged(self, where: str, good: Array) -> TrainingDiverged:
        self.theta[...] = good
        return TrainingDiverged(
            f"training diverged at {where}: J or its gradient is not finite; the parameters "
            "were put back to their last finite values. Try a smaller learning_rate.",
            self.history,
        )

    # -- step-based optimizers

    def steps(self) -> None:
        cfg, xp, net, theta = self.cfg, self.xp, self.net, self.theta
        assert cfg.opt is not None
        m = self.m_global
        bs = m if cfg.batch_size is None else min(cfg.batch_size, m)
        grad = xp.empty_like(theta)
        # The numpy fast path (one process): a Workspace for backprop's arrays,
        # mini-batches gathered into arrays made once, and, for softmax outputs,
        # each example's predicted class kept to be compared with its label once
        # per epoch rather than once per step.
        fast = xp is np and self.dp is None
        work = backprop.Workspace(net.layer_sizes, bs, theta.dtype) if fast else None
        gather = _Gather(self.data, bs) if fast and bs < m else None
        labels = preds = None
        if fast and net.cost.name == "cross_entropy":
            labels, preds = np.argmax(self.data.y, axis=1), np.empty(m, np.intp)
        previous: _EpochStart | None = None
        while self.epoch < cfg.epochs:
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                self.history.stop_reason = f"max_steps={cfg.max_steps} reached"
                break
            t0 = time.perf_counter()
            lr = cfg.schedule(self.epoch)
            # Where this epoch starts: the state to go back to on divergence or Ctrl-C.
            start = _EpochStart(
                xp.asarray(theta, copy=True),
                _copy_state(xp, self.state),
                self.rng.bit_generator.state,
                self.step,
                self.epoch,
            )
            try:
                data_sum = decay_sum = acc_sum = 0.0
                seen, local = 0, 0.0
                order = None
                if bs < m:
                    order = xp.asarray(self.rng.permutation(m), device=net.device)
                for first in range(0, m, bs):
                    batch = self._batch(order, first, bs, gather)
                    data, decay, out = self._evaluate(batch, theta, grad, work)
                    d, r = float(data), float(decay)
                    if not math.isfinite(d + r):
                        # J was finite where this epoch started, unless it failed at the
                        # epoch's first step: then go back to where the previous one started.
                        back = start if self.step > start.step or previous is None else previous
                        raise self._diverged(f"epoch {self.epoch}, step {self.step}", back.theta)
                    cfg.opt.update(xp, theta, grad, self.state, lr)
                    self.step += 1
                    n = min(bs, m - first)  # examples in the (global) batch
                    data_sum += d * n
                    decay_sum += r * n
                    if preds is not None:
                        out.argmax(axis=1, out=preds[seen : seen + n])
                    elif batch.x.shape[0]:
                        acc_sum += accuracy(xp, net.cost.name, out, batch.y) * batch.x.shape[0]
                    seen += n
                    local += float(batch.x.shape[0])
                    if cfg.max_steps is not None and self.step >= cfg.max_steps:
                        break
                if not bool(xp.all(xp.isfinite(theta))):
                    raise self._diverged(f"epoch {self.epoch}, step {self.step}", start.theta)
                if labels is not None and preds is not None:
                    truth = labels[:seen] if order is None else np.take(labels, order[:seen])
                    acc_sum = float(np.count_nonzero(preds[:seen] == truth))
                if self.dp is not None:
                    acc_sum, local = self.dp.sum([acc_sum, local])
                stop = self._record(
                    data=data_sum / seen, decay=decay_sum / seen, acc=acc_sum / local, lr=lr, t0=t0
                )
                self.elapsed = self.history.wall_time[-1]
                if (
                    self.checkpoint
                    and cfg.checkpoint_every
                    and self.epoch % cfg.checkpoint_every == 0
                ):
                    self._save_checkpoint()
            except KeyboardInterrupt:
                if self.epoch == start.epoch:  # the epoch was not completed: go back to its start
                    theta[...] = start.theta
                    self.state, self.step = start.state, start.step
                    self.rng.bit_generator.state = start.rng
                    _truncate(self.history, self.epoch)
                path = self._save_checkpoint() if self.checkpoint else None
                raise TrainingInterrupted(
                    f"interrupted; the parameters are those after epoch {self.epoch}"
                    + (f", saved to {path}" if path else ""),
                    self.history,
                    path,
                ) from None
            previous = start
            if stop:
                break
        self._finish()

    # -- L-BFGS

    def lbfgs(self) -> None:
        cfg, xp, net, theta = self.cfg, self.xp, self.net, self.theta
        grad = xp.empty_like(theta)
        last: dict[str, Any] = {}
        good = to_numpy(theta).astype(np.float64)
        n_fev = self.step
        # numpy, one process: backprop's arrays made once for all evaluations.
        work = None
        if xp is np and self.dp is None:
            work = backprop.Workspace(net.layer_sizes, self.data.x.shape[0], theta.dtype)

        def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
            nonlocal n_fev
            n_fev += 1
            data, decay, out = self._evaluate(self.data, net.from_host(th), grad, work)
            d, r = float(data), float(decay)
            g = to_numpy(grad).astype(np.float64)  # a fresh array: scipy keeps the last one
            if not (math.isfinite(d + r) and np.all(np.isfinite(g))):
                raise _NonFinite
            acc = accuracy(xp, net.cost.name, out, self.data.y)
            if self.dp is not None:
                m_local = self.data.x.shape[0]
                correct = self.dp.sum([acc * m_local if m_local else 0.0])[0]
                acc = correct / self.m_global
            last.update(x=th.copy(), data=d, decay=r, acc=acc)
            return d + r, g

        t0 = time.perf_counter()
        stopped = False

        def callback(th: np.ndarray, J: float) -> None:
            nonlocal t0, good, stopped
            good = th.copy()
            theta[...] = net.from_host(th)
            if "x" not in last or not np.array_equal(last["x"], th):
                fun(th)
            self.step = n_fev
            stop = self._record(
                data=last["data"], decay=last["decay"], acc=last["acc"], lr=math.nan, t0=t0
            )
            self.elapsed = self.history.wall_time[-1]
            t0 = time.perf_counter()
            if self.checkpoint and cfg.checkpoint_every and self.epoch % cfg.checkpoint_every == 0:
                self._save_checkpoint()
            if stop:
                stopped = True
                raise StopIteration

        remaining = cfg.epochs - self.epoch
        if remaining > 0:
            try:
                res = minimize_lbfgs(
                    fun,
                    good,
                    max_iter=remaining,
                    tol=cfg.tol,
                    callback=callback,
                    max_fun=cfg.max_steps,
                )
            except _NonFinite:
                raise self._diverged(f"iteration {self.epoch}", net.from_host(good)) from None
            except KeyboardInterrupt:
                theta[...] = net.from_host(good)
                path = self._save_checkpoint() if self.checkpoint else None
                raise TrainingInterrupted(
                    f"interrupted; the parameters are those after iteration {self.epoch}"
                    + (f", saved to {path}" if path else ""),
                    self.history,
                    path,
                ) from None
            if not stopped:
                theta[...] = net.from_host(res.x)
                self.step = n_fev
                if res.success:
                    self.history.stop_reason = f"converged: {res.message}"
        self._finish()

    # -- checkpoints

    def _save_checkpoint(self) -> str:
        from .io import save_checkpoint

        assert self.checkpoint is not None
        if self.dp is not None and not self.dp.is_root:
            return self.checkpoint  # rank 0 writes; every rank holds the same state

        arrays = {f"opt/{k}": v for k, v in self.state.items() if _is_array(v)}
        if self.best_theta is not None:
            arrays["best_params"] = self.best_theta
        state = {
            "epoch": self.epoch,
            "step": self.step,
            "rng": self.rng.bit_generator.state,
            "opt_scalars": {k: v for k, v in self.state.items() if not _is_array(v)},
            "history": self.history.to_dict(),
            "best_loss": self.best_loss,
            "wait": self.wait,
            "elapsed": self.elapsed,
            "config": self.cfg.describe(),
        }
        assert self.checkpoint is not None
        save_checkpoint(self.checkpoint, self.net, arrays=arrays, state=state)
        return self.checkpoint

    def restore(self, path: str) -> None:
        """Continue the run stored in the checkpoint at ``path``; every field is checked."""
        from .io import load_checkpoint

        saved, arrays, state = load_checkpoint(path)
        if saved.layer_sizes != self.net.layer_sizes or repr(saved) != repr(self.net):
            raise ValueError(
                f"{path}: cannot resume: it holds {saved!r}, but the network is {self.net!r}"
            )
        config = state.get("config")
        optimizer = config.get("optimizer") if isinstance(config, dict) else None
        if optimizer != self.cfg.optimizer:
            raise ValueError(
                f"{path}: cannot resume: it was trained with optimizer {optimizer!r}, "
                f"this run asks for {self.cfg.optimizer!r}"
            )
        fields = _checked_state(path, state, self.rng)
        opt_state = {k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}
        expected = {k for k, v in self.state.items() if _is_array(v)}
        if set(opt_state) != expected:
            raise ValueError(
                f"{path}: checkpoint holds optimizer arrays {sorted(opt_state)}, "
                f"{self.cfg.optimizer} needs {sorted(expected)}"
            )
        for key, value in opt_state.items():
            if value.shape != (self.net.n_params,):
                raise ValueError(
                    f"{path}: optimizer array {key!r} has shape {value.shape}, "
                    f"θ has ({self.net.n_params},)"
                )
            self.state[key] = self.net.from_host(value)
        for key, value in fields["opt_scalars"].items():
            if key not in self.state or _is_array(self.state[key]):
                raise ValueError(f"{path}: checkpoint state: unknown optimizer value {key!r}")
            self.state[key] = value
        if "best_params" in arrays:
            if arrays["best_params"].shape != (self.net.n_params,):
                raise ValueError(f"{path}: 'best_params' does not have θ's shape")
            self.best_theta = self.net.from_host(arrays["best_params"])
        self.theta[...] = self.net.from_host(to_numpy(saved.params))
        self.rng.bit_generator.state = fields["rng"]
        self.history = fields["history"]
        self.epoch, self.step = fields["epoch"], fields["step"]
        self.best_loss, self.wait = fields["best_loss"], fields["wait"]
        self.elapsed = fields["elapsed"]
        # A run that had stopped (early stopping, a callback, max_steps) stays stopped.
        self.finished = bool(self.history.stop_reason)


def _checked_state(path: str, state: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """The checkpoint's run state with every field's type checked, or a ValueError naming it."""

    def bad(name: str, expected: str) -> ValueError:
        return ValueError(
            f"{path}: checkpoint state: {name} must be {expected}, got {state.get(name)!r:.80}"
        )

    out: dict[str, Any] = {}
    for name in ("epoch", "step", "wait"):
        value = state.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(name, "a whole number ≥ 0")
        out[name] = value
    for name in ("best_loss", "elapsed"):
        value = state.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(name, "a number")
        out[name] = float(value)
    scalars = state.get("opt_scalars")
    if not isinstance(scalars, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scalars.values()
    ):
        raise bad("opt_scalars", "a mapping of names to numbers")
    out["opt_scalars"] = scalars
    history = state.get("history")
    try:
        out["history"] = History.from_dict(history)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise bad("history", "a training history") from None
    lengths = {len(v) for v in vars(out["history"]).values() if isinstance(v, list)}
    if lengths != {out["epoch"]} and not (out["epoch"] == 0 and lengths <= {0}):
        raise bad("history", f"one entry per completed epoch ({out['epoch']})")
    probe = np.random.Generator(type(rng.bit_generator)())
    try:
        probe.bit_generator.state = state.get("rng")  # type: ignore[assignment]
    except (TypeError, ValueError, KeyError, AttributeError):
        raise bad("rng", f"the state of a {type(rng.bit_generator).__name__} generator") from None
    out["rng"] = probe.bit_generator.state
    return out


@dataclass(frozen=True)
class _EpochStart:
    """What a step-based run looked like when an epoch began."""

    theta: Array
    state: dict[str, Any]
    rng: Mapping[str, Any]
    step: int
    epoch: int


class _NonFinite(Exception):
    """Raised inside the L-BFGS objective when J or ∇J is not finite."""


def _truncate(history: History, n: int) -> None:
    """Keep the first n epochs of every per-epoch list."""
    for value in vars(history).values():
        if isinstance(value, list):
            del value[n:]


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _copy_state(xp: Any, state: dict[str, Any]) -> dict[str, Any]:
    return {k: xp.asarray(v, copy=True) if _is_array(v) else v for k, v in state.items()}
