"""The training loop: one loop for every optimizer and every objective, an epoch at a time.

A :class:`Trainer` holds one run: the objective (``deltaprop.objective``), the
training examples, the configuration, the history so far. ``run_epoch()`` runs
one epoch — for a step-based optimizer, one pass over the (shuffled) examples
in mini-batches, one update θ := θ + Δθ(∇J) each; for L-BFGS, one iteration —
and records it; ``run()`` runs epochs until the run is finished. A caller that
holds the trainer (the playground) can advance it an epoch at a time, or with
``step_once()`` one update at a time (the step that ends an epoch records it).
``deltaprop.train`` builds a trainer and runs it to the end; so do the autoencoders
and the scikit-learn estimators, with their own objectives, orders and callbacks.

Per epoch the loop records J's parts (the mean over the epoch's batches, at the
θ each batch's update started from; for L-BFGS, at the iterate), accuracy,
validation figures at the θ the epoch ended with, the learning rate and the
time; then early stopping, the callbacks and the checkpoint. With dropout, each
step's batch carries masks drawn from the run's generator after the epoch's
shuffle (``deltaprop.dropout``), so the generator's state in a checkpoint
resumes them too. J becoming non-finite ends the run with ``TrainingDiverged``
and θ put back to the last finite state (a step-based run configured with
``diverge=False`` trains on, as scikit-learn does); Ctrl-C with
``TrainingInterrupted`` and θ at the last completed epoch (checkpointed when asked).
"""

from __future__ import annotations

import math
import time
import weakref
from collections.abc import Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import compiled
from ._arrays import Array, to_numpy
from .dropout import run_masks
from .fused import tally, whole_epoch
from .history import Callback, EpochEnd, History, TrainingDiverged, TrainingInterrupted
from .objective import AccuracyCount, Batch, Objective, Terms, own_method
from .optim.lbfgs import LbfgsResult, LbfgsSteps, NonFinite, weakly
from .runconfig import LoopConfig, Order, shuffled
from .runstate import EpochStart, copy_state, restore_run, rewind, save_run
from .tally import EpochSums

if TYPE_CHECKING:
    from .distributed import DataParallel


class Trainer:
    """One training run over an objective, advanced an epoch at a time.

    Args:
      objective: what to minimise; its ``params`` (θ) change in place.
      data: the training examples, as arrays of the objective's namespace.
      cfg: the run's configuration.
      val: validation examples, measured after every epoch, or None.
      rng: the Generator that draws every epoch's order (and is checkpointed).
      callbacks: called with an EpochEnd after every epoch; True stops the run.
      checkpoint: a path to write checkpoints to (``net`` is the network saved).
      dp: data-parallel sums over MPI ranks; ``data`` is then this rank's shard.
      history: the History to fill (a subclass may add columns).
      order: the epoch order, ``shuffled`` by default when mini-batches are used.
      net: the network that callbacks see and checkpoints store.
    """

    def __init__(
        self,
        objective: Objective,
        data: Batch,
        cfg: LoopConfig,
        *,
        rng: np.random.Generator,
        net: Any,
        val: Batch | None = None,
        callbacks: Sequence[Callback] = (),
        checkpoint: str | None = None,
        dp: DataParallel | None = None,
        history: History | None = None,
        order: Order | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.objective, self.data, self.cfg, self.val = objective, data, cfg, val
        self.rng, self.net, self.hooks = rng, net, callbacks
        self.checkpoint, self.dp = checkpoint, dp
        self.xp = objective.xp
        self.theta = objective.params
        m = data.m
        self.m_global, self.offset = m, 0
        if dp is not None:  # rows of the global training set, and where this rank's start
            counts = dp.comm.allgather(m)
            self.m_global, self.offset = sum(counts), sum(counts[: dp.rank])
        # A given order is asked every epoch; deltaprop's own shuffles only for mini-batches.
        self.order, self._own_order = order or shuffled, order is not None
        self.state: dict[str, Any] = (
            state
            if state is not None
            else ({} if cfg.opt is None else cfg.opt.init(self.xp, self.theta))
        )
        if history is None:  # an objective may keep columns of its own (new_history)
            history = getattr(objective, "new_history", History)()
        self.history = history
        self.epoch = 0  # the next epoch to run
        self.step = 0
        self.best_loss = math.inf
        self.best_theta: Array | None = None
        self.wait = 0
        self.elapsed = 0.0
        self.finished = False
        self._grad = self.xp.empty_like(self.theta)
        self._previous: EpochStart | None = None  # the last completed epoch's start
        self._start: EpochStart | None = None  # the latest epoch's start
        self._lbfgs: LbfgsSteps | None = None
        self.lbfgs_result: LbfgsResult | None = None  # scipy's, once an L-BFGS run has ended
        self._epoch_run: Generator[None, None, bool] | None = None  # the epoch under way
        self._fast = getattr(objective, "engine", "reference") == "numpy" and dp is None
        self._gather: compiled.Gather | None = None
        self._order: Array | None = None
        self._labels: np.ndarray | None = None
        self._masks = run_masks(cfg, objective, net)  # dropout's, or None
        device = self.xp is not np and dp is None and not self._fast  # J's parts stay there
        self._on_device = (
            own_method(objective, "evaluate_on_device", "evaluate") if device else None
        )

    # --- driving ---------------------------------------------------------------------------

    def run(self) -> History:
        """Run epochs until the run is finished; the History."""
        try:
            while self.run_epoch():
                pass
        except KeyboardInterrupt:  # between two epochs
            raise self._on_interrupt() from None
        return self.history

    def run_epoch(self) -> bool:
        """Run (the rest of) one epoch — for L-BFGS, one iteration; True while epochs remain."""
        with np.errstate(over="ignore", invalid="ignore"):
            self._advance(whole_epoch=True)
        return not self.finished

    def step_once(self) -> bool:
        """One update (for L-BFGS, one iteration): True if it made one, False when none is left.

        The step that ends an epoch also records it (history, early stopping,
        callbacks, checkpoint), so stepping through a run records what running it does.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return self._advance(whole_epoch=False)

    def _advance(self, whole_epoch: bool) -> bool:
        """One update, or the rest of the epoch; whether anything was done.

        Overflow is caught by the finiteness checks, which end the run with
        TrainingDiverged: the callers silence numpy's own warnings about it.
        """
        if self.finished:
            return False
        epoch = self.epoch
        try:
            if self._epoch_run is None:
                if self._budget_spent():
                    return self.finish()
                if self.cfg.opt is None:  # an L-BFGS iteration is a whole epoch
                    stop = self._lbfgs_epoch()
                    if stop or self._budget_spent():
                        self.finish()
                    return self.epoch > epoch
                self._epoch_run = self._steps_epoch(whole_epoch)
            next(self._epoch_run)
            while whole_epoch:
                next(self._epoch_run)
            return True
        except StopIteration as done:
            self._epoch_run = None
            if done.value or self._budget_spent():
                self.finish()
        except KeyboardInterrupt:  # wherever it lands: inside the epoch or between its steps
            raise self._on_interrupt() from None
        return self.epoch > epoch  # the epoch's last step, recorded with it

    def _budget_spent(self) -> bool:
        """Whether the epoch budget (or max_steps, for a step-based run) is used up."""
        cfg = self.cfg
        if self.epoch >= cfg.epochs:
            return True
        if cfg.opt is not None and cfg.max_steps is not None and self.step >= cfg.max_steps:
            self.history.stop_reason = self.history.stop_reason or (
                f"max_steps={cfg.max_steps} reached"
            )
            return True
        return False

    def close(self) -> None:
        """End the run here: stop L-BFGS's worker, close the callbacks that can be closed."""
        self.finished = True
        if self._lbfgs is not None:
            self._lbfgs.close()
        for hook in self.hooks:
            close = getattr(hook, "close", None)
            if close is not None:
                close()

    def finish(self) -> bool:
        """End the run: best θ back (early stopping), the stop reason set; False."""
        if self._lbfgs is not None:
            if self.epoch >= self.cfg.epochs:
                self._lbfgs.next()  # scipy ends by itself after its last iteration: its result
            self._lbfgs.close()
            self.lbfgs_result = self._lbfgs.result
        if self.best_theta is not None:
            self.theta[...] = self.best_theta
        if not self.history.stop_reason:
            self.history.stop_reason = "epoch budget reached"
        self.finished = True
        return False

    # --- step-based optimizers ------------------------------------------------------------

    def _epoch_order(self) -> int:
        """Draw the epoch's order (``_order``; None keeps the examples' own); the batch size."""
        cfg, xp, m = self.cfg, self.xp, self.m_global
        bs = m if cfg.batch_size is None else min(cfg.batch_size, m)
        self._order = None
        if bs < m or self._own_order:
            host = self.order(self.rng, m)
            if host is None and bs < m:
                host = np.arange(m)  # mini-batches in the examples' own order
            if host is not None:
                self._order = xp.asarray(host, device=getattr(self.net, "device", None))
        if self._order is not None and self._fast and self._gather is None:
            self._gather = compiled.Gather(self.data.x, self.data.y, self.data.w, bs)
        return bs

    def _steps_epoch(self, whole: bool = False) -> Generator[None, None, bool]:
        """One epoch of updates, yielding after each but the last; returns whether to stop.

        Each mini-batch's J (its parts, at the θ its update started from) is summed
        weighted by the batch's size; the epoch's J is that sum over the epoch's
        examples (scikit-learn's rule, which counts a skipped batch's examples too).
        One generator, so that the hot loop's state stays in local variables; an
        interrupted epoch is put back to its start (``_on_interrupt``).
        """
        t0 = time.perf_counter()
        cfg, xp, theta, grad, opt = self.cfg, self.xp, self.theta, self._grad, self.cfg.opt
        assert cfg.schedule is not None and opt is not None
        lr = cfg.schedule(self.epoch)
        start = EpochStart(
            xp.asarray(theta, copy=True),
            copy_state(xp, self.state),
            self.rng.bit_generator.state,
            self.step,
            self.epoch,
        )
        self._start = start  # where an interrupt puts the run back to
        count = self._counter()
        m, bs = self.m_global, self._epoch_order()
        sums = EpochSums(len(self.objective.part_names), xp, self._on_device is not None)
        end = 0  # the examples of the epoch's order up to the last batch run
        run = (opt, self.state, lr, grad, self.step, self._masks, self.rng, self._order)
        fused = whole_epoch(self.objective, self.data, bs, run, cfg, whole and self._fast)
        if fused is not None:  # the compiled whole-epoch call ran the epoch
            self.step += fused.steps
            if fused.diverged:
                raise self._diverged_in(start, self.step)
            end = tally(fused, sums, count, bs, self.data.y, self._order)
        for first in range(0, m if fused is None else 0, bs):
            batch = self._batch(self._order, first, bs)
            if cfg.skip_empty and batch.w is not None and not float(xp.sum(batch.w)) > 0:
                continue
            terms = self._evaluate(batch, theta, self._on_device)
            n = min(bs, m - first)
            if not sums.add(terms, n) and cfg.diverge:
                raise self._diverged_in(start, self.step)
            if self._fast:
                compiled.update(opt, theta, grad, self.state, lr)
            else:
                opt.update(xp, theta, grad, self.state, lr)
            self.step += 1
            count.add(terms.output, batch.y, first, n)
            end = first + n
            if cfg.max_steps is not None and self.step >= cfg.max_steps:
                break
            if end < m:
                yield
        bad = sums.close()  # on a device: the epoch's one copy of J to the host
        if cfg.diverge and bad is not None:
            raise self._diverged_in(start, start.step + bad)
        if cfg.diverge and not bool(xp.all(xp.isfinite(theta))):
            raise self._diverged(f"epoch {self.epoch}, step {self.step}", start.theta)
        if cfg.skip_empty and self.step > start.step:
            end = m
        means, extra = sums.means(end)
        stop = self._record(means, extra, count.result(self._order), lr, t0)
        self._previous = start
        return stop

    def _counter(self) -> AccuracyCount | compiled.ArgmaxCount:
        """The epoch's accuracy count: the numpy engine's for softmax outputs."""
        if self._fast and getattr(self.objective, "argmax_accuracy", False):
            if self._labels is None:
                self._labels = np.argmax(self.data.y, axis=1)
            return compiled.ArgmaxCount(self._labels)
        return AccuracyCount(self.objective, self.dp, self._on_device is not None)

    def _batch(self, order: Array | None, first: int, bs: int) -> Batch:
        """This rank's rows of the mini-batch order[first : first + bs] (all rows: None).

        With dropout, the batch carries masks drawn for the whole (global) batch,
        so that every rank, and one process, draws the same.
        """
        batch = self._rows(order, first, bs)
        if self._masks is None:
            return batch
        idx = None if order is None else order[first : min(first + bs, order.shape[0])]
        rows: Any = None  # this rank's rows of the global batch
        if self.dp is not None:
            lo, hi = self.offset, self.offset + self.data.m
            rows = slice(lo, hi) if idx is None else (idx >= lo) & (idx < hi)
        n = self.m_global if idx is None else int(idx.shape[0])
        return batch._replace(masks=self._masks.draw(self.rng, n, rows))

    def _rows(self, order: Array | None, first: int, bs: int) -> Batch:
        """This rank's rows of the mini-batch order[first : first + bs] (all rows: None)."""
        if order is None:
            return self.data
        idx = order[first : min(first + bs, order.shape[0])]
        if self.dp is not None:  # global row numbers that fall in this rank's shard
            lo = self.offset
            hi = lo + self.data.m
            idx = idx[(idx >= lo) & (idx < hi)] - lo
        elif self._gather is not None:
            return Batch(*self._gather.take(idx))
        return self.data.take(self.xp, idx)

    def _evaluate(self, batch: Batch, theta: Array, on_device: Any = None) -> Terms:
        """J's parts and ∇J (into the loop's gradient) over the batch: all ranks' rows under MPI
        (``on_device``: the objective's ``evaluate_on_device``, its parts left on the device)."""
        if on_device is not None:
            return on_device(theta, batch, self._grad)
        if self.dp is None:
            return self.objective.evaluate(theta, batch, self._grad)
        return self.dp.evaluate(self.objective, theta, batch, self._grad)

    # --- L-BFGS ---------------------------------------------------------------------------

    def _lbfgs_epoch(self) -> bool:
        """One L-BFGS iteration, recorded as an epoch; whether to stop."""
        objective, theta = self.objective, self.theta
        if self._lbfgs is None:
            if self.dp is not None:
                self.dp.check_threads("L-BFGS")
            self._lbfgs = LbfgsSteps(
                weakly(self._lbfgs_fun), to_numpy(theta).astype(np.float64),
                max_iter=self.cfg.epochs - self.epoch, tol=self.cfg.tol,
                max_fun=self.cfg.max_steps, n_fev=self.step,
            )  # fmt: skip
            weakref.finalize(self, self._lbfgs.close)  # a trainer dropped mid-run stops it
        run = self._lbfgs
        t0 = time.perf_counter()
        try:
            it = run.next()
        except NonFinite:
            good = objective.from_host(run.last_finite)
            raise self._diverged(f"iteration {self.epoch}", good) from None
        self.step = run.n_fev
        if it is None:  # scipy stopped before the budget: converged, or could not go on
            res = run.result
            if res is not None:
                theta[...] = objective.from_host(res.x)
                reason = f"converged: {res.message}" if res.success else res.message
                self.history.stop_reason = reason
            return True
        theta[...] = objective.from_host(it.theta)
        terms: Terms = it.info
        acc = objective.accuracy(terms.output, self.data.y)
        if self.dp is not None:
            m_local = self.data.m
            acc = self.dp.sum([acc * m_local if m_local else 0.0])[0] / self.m_global
        return self._record(terms.parts, terms.extra or {}, acc, math.nan, t0, it.grad)

    def _lbfgs_fun(self, th: np.ndarray) -> tuple[float, Array, Terms]:
        terms = self._evaluate(self.data, self.objective.from_host(th))
        return terms.total, to_numpy(self._grad), terms

    # --- what every epoch ends with ---------------------------------------------------------

    def _record(
        self,
        parts: tuple[float, ...],
        extra: Mapping[str, float],
        acc: float,
        lr: float,
        t0: float,
        gradient: Array | None = None,
    ) -> bool:
        """Append the epoch to the history, run early stopping and callbacks; True = stop."""
        h, names = self.history, self.objective.part_names
        val_loss = val_acc = math.nan
        if self.val is not None:
            val_loss, val_acc = self._validate()
        named = dict(zip(names, parts, strict=True))
        h.epoch.append(self.epoch)
        h.train_loss.append(sum(parts))
        h.train_data.append(parts[0])
        h.train_decay.append(named.get("decay", 0.0))
        for name in names[1:]:
            column = getattr(h, f"train_{name}", None)
            if name != "decay" and isinstance(column, list):
                column.append(named[name])
        for key, value in extra.items():
            column = getattr(h, key, None)
            if isinstance(column, list):
                column.append(value)
        h.train_accuracy.append(acc)
        h.val_loss.append(val_loss)
        h.val_accuracy.append(val_acc)
        h.learning_rate.append(lr)
        h.wall_time.append(self.elapsed + (time.perf_counter() - t0))
        h.steps.append(self.step)
        self.elapsed = h.wall_time[-1]
        self.epoch += 1
        stop = self._early_stopping(val_loss)
        info = EpochEnd(self.epoch - 1, self.cfg.epochs, self.net, h, gradient)
        asked = any([hook(info) is True for hook in self.hooks])  # every hook sees every epoch
        if self.dp is not None:  # every rank stops together, or none does
            asked = self.dp.sum([float(asked)])[0] > 0
        if asked:
            stop = True
            h.stop_reason = h.stop_reason or "stopped by a callback"
        every = self.cfg.checkpoint_every
        if self.checkpoint and every and self.epoch % every == 0:
            self.save_checkpoint()
        return stop

    def _validate(self) -> tuple[float, float]:
        """J and accuracy on the validation examples at the θ the epoch ended with."""
        v, xp = self.val, self.xp
        assert v is not None
        terms = self.objective.value(self.theta, v)
        n = v.weight(xp)
        acc = self.objective.accuracy(terms.output, v.y)
        sums = [terms.parts[0] * n, n, acc * v.m, float(v.m)]
        if self.dp is not None:
            sums = self.dp.sum(sums)
        return sums[0] / sums[1] + sum(terms.parts[1:]), sums[2] / sums[3]

    def _early_stopping(self, val_loss: float) -> bool:
        patience, h = self.cfg.early_stopping, self.history
        if patience is None:
            return False
        if val_loss < self.best_loss:
            self.best_loss, self.wait = val_loss, 0
            self.best_theta = self.xp.asarray(self.theta, copy=True)
            h.best_epoch = self.epoch - 1
            return False
        self.wait += 1
        if self.wait < patience:
            return False
        h.stopped_early = True
        h.stop_reason = f"validation loss did not improve for {patience} epochs"
        return True

    def _diverged_in(self, start: EpochStart, step: int) -> TrainingDiverged:
        """J was not finite at ``step`` of the epoch that began at ``start``.

        J was finite where this epoch started, unless it failed at the epoch's
        first step: then go back to where the previous one started.
        """
        first_step = step == start.step and self._previous is not None
        back = self._previous if first_step else start
        assert back is not None
        return self._diverged(f"epoch {self.epoch}, step {step}", back.theta)

    def _diverged(self, where: str, good: Array) -> TrainingDiverged:
        self.theta[...] = good
        self.finished = True
        return TrainingDiverged(
            f"training diverged at {where}: J or its gradient is not finite; the parameters "
            "were put back to their last finite values. Try a smaller learning_rate.",
            self.history,
        )

    def _on_interrupt(self) -> TrainingInterrupted:
        """Ctrl-C, wherever it landed: back to the last whole epoch (``runstate.rewind``)."""
        return rewind(self)

    # --- checkpoints ----------------------------------------------------------------------

    def save_checkpoint(self) -> str:
        """Write the run's state to ``checkpoint`` (rank 0 alone under MPI); its path."""
        assert self.checkpoint is not None
        if self.dp is None or self.dp.is_root:
            save_run(self)
        return self.checkpoint

    def restore(self, path: str) -> None:
        """Continue the run stored in the checkpoint at ``path``; every field is checked."""
        restore_run(self, path)
