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
from typing import Any

import numpy as np

from . import backprop
from ._arrays import Array, check_real, to_numpy
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
    data, val = _split_validation(net, validation, data, rng)
    if cfg.early_stopping is not None and val is None:
        raise ValueError(
            "early_stopping needs validation data: pass validation=(X_val, Y_val) "
            "or a fraction such as validation=0.1"
        )
    hooks = list(callbacks)
    if progress:
        from .progress import ProgressReporter

        hooks.append(ProgressReporter(every=cfg.progress_every))
    run = _Run(net, cfg, data, val, rng, hooks, None if checkpoint is None else str(checkpoint))
    if optimizer_state:
        run.state.update(optimizer_state)
    if resume is not None:
        run.restore(str(resume))
    # Overflow is detected by the finiteness checks, which stop the run with
    # TrainingDiverged; numpy's own warnings about it would only repeat that.
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if cfg.optimizer == "lbfgs":
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
    ) -> None:
        self.net, self.cfg, self.data, self.val = net, cfg, data, val
        self.rng, self.hooks, self.checkpoint = rng, hooks, checkpoint
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

    # -- per-epoch bookkeeping shared by both loops

    def _record(self, *, data: float, decay: float, acc: float, lr: float, t0: float) -> bool:
        """Append the epoch to the history, run early stopping and callbacks; True = stop."""
        h, xp, net = self.history, self.xp, self.net
        val_loss = val_acc = math.nan
        if self.val is not None:
            # J on the validation set at the parameters the epoch ended with.
            trace = backprop.forward(xp, net.W, net.b, net.activations, self.val.x)
            val_data = float(backprop.data_term(xp, net.cost, trace, self.val.y, self.val.w))
            val_loss = val_data + float(backprop.weight_decay(xp, net.W, net.weight_decay))
            val_acc = accuracy(xp, net.cost.name, trace.output, self.val.y)
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
        for hook in self.hooks:
            if hook(info) is True:
                stop = True
                h.stop_reason = h.stop_reason or "stopped by a callback"
        return stop

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
        m = self.data.x.shape[0]
        bs = m if cfg.batch_size is None else min(cfg.batch_size, m)
        grad = xp.empty_like(theta)
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
                seen = 0
                order = None
                if bs < m:
                    order = xp.asarray(self.rng.permutation(m), device=net.device)
                for first in range(0, m, bs):
                    batch = (
                        self.data
                        if order is None
                        else self.data.take(xp, order[first : first + bs])
                    )
                    data, decay, out = net.evaluate(batch.x, batch.y, theta, grad, batch.w)
                    d, r = float(data), float(decay)
                    if not math.isfinite(d + r):
                        # J was finite where this epoch started, unless it failed at the
                        # epoch's first step: then go back to where the previous one started.
                        back = start if self.step > start.step or previous is None else previous
                        raise self._diverged(f"epoch {self.epoch}, step {self.step}", back.theta)
                    cfg.opt.update(xp, theta, grad, self.state, lr)
                    self.step += 1
                    n = batch.x.shape[0]
                    data_sum += d * n
                    decay_sum += r * n
                    acc_sum += accuracy(xp, net.cost.name, out, batch.y) * n
                    seen += n
                    if cfg.max_steps is not None and self.step >= cfg.max_steps:
                        break
                if not bool(xp.all(xp.isfinite(theta))):
                    raise self._diverged(f"epoch {self.epoch}, step {self.step}", start.theta)
                stop = self._record(
                    data=data_sum / seen, decay=decay_sum / seen, acc=acc_sum / seen, lr=lr, t0=t0
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

        def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
            nonlocal n_fev
            n_fev += 1
            d_ = self.data
            data, decay, out = net.evaluate(d_.x, d_.y, net.from_host(th), grad, d_.w)
            d, r = float(data), float(decay)
            g = to_numpy(grad).astype(np.float64)  # a fresh array: scipy keeps the last one
            if not (math.isfinite(d + r) and np.all(np.isfinite(g))):
                raise _NonFinite
            last.update(
                x=th.copy(), data=d, decay=r, acc=accuracy(xp, net.cost.name, out, self.data.y)
            )
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
        from .io import load_checkpoint

        saved, arrays, state = load_checkpoint(path)
        if saved.layer_sizes != self.net.layer_sizes or repr(saved) != repr(self.net):
            raise ValueError(f"resume: {path} holds {saved!r}, but the network is {self.net!r}")
        config = state.get("config", {})
        if config.get("optimizer") != self.cfg.optimizer:
            raise ValueError(
                f"resume: {path} was trained with optimizer {config.get('optimizer')!r}, "
                f"this run asks for {self.cfg.optimizer!r}"
            )
        self.theta[...] = self.net.from_host(to_numpy(saved.params))
        for key, value in arrays.items():
            if key.startswith("opt/"):
                self.state[key[4:]] = self.net.xp.asarray(value, device=self.net.device)
        self.state.update(state.get("opt_scalars", {}))
        if "best_params" in arrays:
            self.best_theta = self.net.from_host(arrays["best_params"])
        self.rng.bit_generator.state = state["rng"]
        self.history = History.from_dict(state["history"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.best_loss, self.wait = float(state["best_loss"]), int(state["wait"])
        self.elapsed = float(state["elapsed"])


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
