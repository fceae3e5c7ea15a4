"""scikit-learn's training rules on deltaprop's one training loop.

The estimators reproduce ``BaseMultilayerPerceptron`` step for step (same
initialisation and shuffles from the same ``random_state``, same batches, same
stopping rules, same warnings), but they train through ``deltaprop.loop.Trainer``
like everything else. What is scikit-learn's is said here, as the loop's parts:

- the objective, :class:`SklearnObjective`: the network's J with the penalty
  λ = alpha / Σ_{i∈B} wᵢ of each batch B (scikit-learn scales alpha by the batch);
- the epoch order: ``sklearn.utils.shuffle`` of the previous order with the
  estimator's RandomState;
- the learning rate, :class:`SolverState`: a schedule whose value the epoch's
  callback changes ("invscaling" after every epoch, "adaptive" on a plateau),
  carried with the optimizer's state across ``partial_fit`` calls;
- Adam as scikit-learn writes it, :class:`SklearnAdam`;
- ``n_iter_no_change``, validation scoring, ``verbose`` and the warnings: the
  callbacks :func:`stochastic_callback` and the one of :func:`fit_lbfgs`;
- divergence as scikit-learn has it: the loop trains on through a non-finite J
  (``LoopConfig.diverge=False``), early stopping records NaN scores and keeps the
  best θ, and a θ left non-finite raises scikit-learn's ValueError
  (:func:`check_finite`).

The user's own callbacks (``fit(..., callbacks=[...])``) run after scikit-learn's
bookkeeping of each epoch, with the same :class:`~deltaprop.EpochEnd` as
``deltaprop.train``'s; returning True stops the fit there, without a warning.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing, shuffle

from .. import backprop
from .._arrays import Array, Namespace, to_numpy
from .._devices import array_place
from ..history import Callback, EpochEnd, History, TrainingDiverged, TrainingInterrupted
from ..loop import Trainer
from ..network import Network
from ..objective import Batch, NetworkObjective, Terms, float64_copy
from ..optim import Adam, get_optimizer
from ..optim.base import Optimizer
from ..runconfig import LoopConfig
from ._params import Settings

BaseMLP = Any
"""The estimator being fitted (``_base.BaseMLP``, which imports this module)."""

STOPPED = "stopped by a callback"
"""The loop's stop reason when a callback (here: scikit-learn's plateau rule) stopped it."""

NONFINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values "
    "and need to be preprocessed."
)
"""scikit-learn's ValueError message when a fit leaves θ non-finite."""

FTOL = 1e7 * np.finfo(float).eps
"""scipy's default relative-decrease tolerance for L-BFGS-B (factr = 1e7), which
scikit-learn leaves in place: it sets only the gradient tolerance, to ``tol``."""


@dataclass(frozen=True)
class Part:
    """Examples as the network computes with them, and the targets as the user gave them."""

    x: Any  # inputs, network dtype: a numpy array or a scipy.sparse CSR matrix
    Y: np.ndarray  # encoded targets, (m, s_nl), network dtype
    y: Any  # targets as given (labels for a classifier), for scores
    w: np.ndarray | None  # example weights, network dtype

    @property
    def weight_sum(self) -> float:
        return float(self.x.shape[0] if self.w is None else self.w.sum())

    @property
    def batch(self) -> Batch:
        return Batch(self.x, self.Y, self.w)


class SklearnObjective(NetworkObjective):
    """J_B(W,b) = data term over B + (λ_B/2) Σ W², λ_B = alpha / Σ_{i∈B} wᵢ, per batch B.

    Not separable: the penalty depends on the batch's examples (their weight).
    """

    separable = False

    def __init__(self, net: Network, cfg: Settings, engine: str = "auto") -> None:
        super().__init__(net, engine)
        self.cfg = cfg

    def float64(self) -> SklearnObjective:
        """The same objective over a float64 copy of the network, by the reference engine."""
        return SklearnObjective(float64_copy(self.net), self.cfg, engine="reference")

    def evaluate(self, theta: Array, batch: Batch, grad: Array) -> Terms:
        terms = self.evaluate_on_device(theta, batch, grad)
        return terms._replace(parts=tuple(float(part) for part in terms.parts))

    def evaluate_on_device(self, theta: Array, batch: Batch, grad: Array) -> Terms:
        """``evaluate`` with J's parts left where they were computed (see NetworkObjective)."""
        lam = self.cfg.lam(batch.weight(self.xp))
        data, decay, out = self._cost_and_grad(theta, batch, grad, lam)
        return Terms((data, decay), out)

    def epoch_rule(self) -> tuple[Any, float, float | None] | None:
        """(engine, λ, α) for the whole-epoch call: λ, or λ_B = α / Σ_B wᵢ (``Settings.lam``)."""
        engine = self._compiled if type(self) is SklearnObjective else None
        return None if engine is None else (engine, *self.cfg.lam_rule())

    def value(self, theta: Array, batch: Batch) -> Terms:
        net, xp = self.net, self.xp
        W, b = self._views(theta)
        trace = backprop.forward(xp, W, b, net.activations, batch.x, batch.masks)
        data = backprop.data_term(xp, net.cost, trace, batch.y, batch.w)
        decay = backprop.weight_decay(xp, W, self.cfg.lam(batch.weight(xp)))
        return Terms((float(data), float(decay)), trace.output)


@dataclass(frozen=True)
class SklearnAdam:
    """scikit-learn's Adam: Kingma & Ba's "efficient" form of Algorithm 1.

    θ −= α √(1 − β₂ᵗ) / (1 − β₁ᵗ) · m / (√v + ε) is deltaprop's Adam,
    θ −= α m̂ / (√v̂ + ε'), with ε' = ε / √(1 − β₂ᵗ); so ``epsilon`` keeps
    scikit-learn's meaning, step for step.
    """

    adam: Adam

    name = "adam"

    def init(self, xp: Namespace, theta: Array) -> dict[str, Any]:
        return self.adam.init(xp, theta)

    def update(
        self, xp: Namespace, theta: Array, grad: Array, state: dict[str, Any], lr: float
    ) -> None:
        replace(self.adam, eps=self.adam_eps(state["t"] + 1)).update(xp, theta, grad, state, lr)

    def adam_eps(self, t: int) -> float:
        """ε' = ε / √(1 − β₂ᵗ) at step t (the compiled engine's Adam asks it per step)."""
        return self.adam.eps / math.sqrt(1.0 - self.adam.beta2**t)

    def config(self) -> dict[str, Any]:
        return {**self.adam.config(), "form": "scikit-learn"}


@dataclass
class SolverState:
    """What a stochastic solver carries from one epoch, or one partial_fit, to the next.

    It is also the run's learning-rate schedule: α is ``learning_rate``, whatever
    the epoch, and the callbacks change it between epochs.
    """

    optimizer: Optimizer
    state: dict[str, Any]
    learning_rate: float

    def __call__(self, epoch: int) -> float:
        return self.learning_rate

    def config(self) -> dict[str, Any]:
        return {"name": "scikit-learn", "lr": self.learning_rate}


def new_solver(cfg: Settings, theta: Array, xp: Namespace = np) -> SolverState:
    """deltaprop's optimizer for scikit-learn's solver settings, with a fresh state."""
    opt: Optimizer
    if cfg.solver == "adam":
        adam = get_optimizer("adam", beta1=cfg.beta_1, beta2=cfg.beta_2, eps=cfg.epsilon)
        assert isinstance(adam, Adam)
        opt = SklearnAdam(adam)
    elif cfg.momentum > 0:
        opt = get_optimizer(
            "nesterov" if cfg.nesterovs_momentum else "momentum", momentum=cfg.momentum
        )
    else:
        opt = get_optimizer("sgd")
    return SolverState(opt, opt.init(xp, theta), cfg.learning_rate_init)


# --- stochastic solvers ------------------------------------------------------------------------


def fit_stochastic(
    est: BaseMLP,
    cfg: Settings,
    data: Part,
    rs: np.random.RandomState,
    incremental: bool,
    callbacks: Sequence[Callback] = (),
) -> None:
    """scikit-learn's epochs of mini-batch updates, as one run of deltaprop's loop.

    One function, as scikit-learn's ``_fit_stochastic`` is: the solver, the split,
    the order and the loop's configuration are set up together, then run.
    """
    net = est.network_
    theta = net.params
    if not incremental or getattr(est, "_solver", None) is None:
        est._solver = new_solver(cfg, theta, net.xp)
    solver = est._solver
    assert solver is not None
    if cfg.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    train, val = data, None
    if cfg.early_stopping:
        train, val = split(est, cfg, data, rs)
        if est.validation_scores_ is None:  # a warm start after a fit without early stopping
            est.validation_scores_, est.val_loss_curve_ = [], []
            est.best_validation_score_ = -math.inf
            est.best_val_loss_ = math.inf
    m = train.x.shape[0]
    order = np.arange(m)

    def epoch_order(rng: np.random.Generator, m: int) -> np.ndarray | None:
        nonlocal order
        if not cfg.shuffle:
            return None
        order = shuffle(order, random_state=rs)
        return order

    loop = LoopConfig(
        optimizer=solver.optimizer.name,
        schedule=solver,
        opt=solver.optimizer,
        epochs=1 if incremental else cfg.max_iter,
        batch_size=batch_size(cfg, m),
        checkpoint_every=0,
        skip_empty=True,
        dropout=cfg.dropout,
        diverge=False,  # scikit-learn trains on; check_finite judges θ at the end
    )
    objective = SklearnObjective(net, cfg)
    est.n_iter_ = 0
    run = Trainer(
        objective,
        train.batch,
        loop,
        rng=dropout_rng(est, cfg, rs),  # the order comes from ``rs``
        net=net,
        callbacks=[
            lambda info: stochastic_callback(est, cfg, objective, val, m, incremental, info),
            *callbacks,
        ],
        order=epoch_order,
        state=solver.state,
    )
    try:
        history = run.run()
        if not incremental and est.n_iter_ == cfg.max_iter and history.stop_reason != STOPPED:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({cfg.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
    except TrainingInterrupted:
        warnings.warn("Training interrupted by user.", stacklevel=4)
    finally:
        run.close()
    if cfg.early_stopping:
        theta[...] = net.from_host(est._best_theta)
    check_finite(theta)


def check_finite(theta: Array) -> None:
    """scikit-learn's ValueError when the fit left a weight or bias non-finite."""
    if not np.all(np.isfinite(to_numpy(theta))):
        raise ValueError(NONFINITE)


def dropout_rng(est: BaseMLP, cfg: Settings, rs: np.random.RandomState) -> np.random.Generator:
    """The Generator of the fit's dropout masks, seeded from ``rs`` (only with dropout on).

    The examples seen so far (``t_``) enter the seed, so that successive
    ``partial_fit`` calls with an int random_state draw fresh masks.
    """
    if cfg.dropout is None:
        return np.random.default_rng(0)  # unused: no masks, and the order comes from ``rs``
    return np.random.default_rng([int(rs.randint(2**31 - 1)), int(est.t_)])


def batch_size(cfg: Settings, m: int) -> int:
    """scikit-learn's batch size: min(200, m) by default, a larger one clipped with a warning."""
    if cfg.batch_size is None:
        return min(200, m)
    if cfg.batch_size > m:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped",
            stacklevel=5,
        )
    return min(cfg.batch_size, m)


def stochastic_callback(
    est: BaseMLP,
    cfg: Settings,
    objective: SklearnObjective,
    val: Part | None,
    m: int,
    incremental: bool,
    info: EpochEnd,
) -> bool:
    """After each epoch, scikit-learn's bookkeeping and stopping rules; True stops."""
    solver = est._solver
    assert solver is not None
    est.loss_ = info.history.train_loss[-1]
    est.n_iter_ += 1
    est.t_ += m
    est.loss_curve_.append(est.loss_)
    if cfg.verbose:
        print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
    update_no_improvement_count(est, cfg, objective, val, info.history)
    if cfg.solver == "sgd" and cfg.learning_rate == "invscaling":
        solver.learning_rate = cfg.learning_rate_init / (est.t_ + 1) ** cfg.power_t
    if val is None and not np.all(np.isfinite(to_numpy(est.network_.params))):
        return True  # no early stopping to fall back on: the fit ends in check_finite's error
    return est._no_improvement_count > cfg.n_iter_no_change and plateau(est, cfg)


def plateau(est: BaseMLP, cfg: Settings) -> bool:
    """No improvement for n_iter_no_change epochs: stop, or ("adaptive") divide α by 5."""
    solver = est._solver
    assert solver is not None
    what = "Validation score" if cfg.early_stopping else "Training loss"
    msg = (
        f"{what} did not improve more than tol={cfg.tol:f} "
        f"for {cfg.n_iter_no_change} consecutive epochs."
    )
    adaptive = cfg.solver == "sgd" and cfg.learning_rate == "adaptive"
    if adaptive and solver.learning_rate > 1e-6:
        solver.learning_rate /= 5.0
        est._no_improvement_count = 0
        if cfg.verbose:
            print(f"{msg} Setting learning rate to {solver.learning_rate:f}")
        return False
    if cfg.verbose:
        print(f"{msg}{' Learning rate too small.' if adaptive else ''} Stopping.")
    return True


def split(est: BaseMLP, cfg: Settings, data: Part, rs: np.random.RandomState) -> tuple[Part, Part]:
    """scikit-learn's hold-out split: stratified for one-output classifiers."""
    stratify = None if est._regression or data.Y.shape[1] != 1 else to_numpy(data.Y) > 0.5
    rows = np.arange(data.x.shape[0])  # the split depends on the count and stratify alone
    train, val = train_test_split(
        rows, random_state=rs, test_size=cfg.validation_fraction, stratify=stratify
    )
    if val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size "
            "of your dataset."
        )
    xp, device = est.network_.xp, est.network_.device

    def take(a: Any, idx: np.ndarray) -> Any:  # gathered where the data is
        if a is None or array_place(a) is None:
            return None if a is None else _safe_indexing(a, idx)
        return xp.take(a, xp.asarray(idx, device=device), axis=0)

    def part(i: np.ndarray) -> Part:
        return Part(take(data.x, i), take(data.Y, i), _safe_indexing(data.y, i), take(data.w, i))

    return part(train), part(val)


def update_no_improvement_count(
    est: BaseMLP,
    cfg: Settings,
    objective: SklearnObjective,
    val: Part | None,
    history: History | None = None,
) -> None:
    """The plateau count of the training loss or, with early stopping, of the validation
    score (or loss, with ``early_stopping_metric="loss"``); the best θ kept by the same."""
    if val is None:
        best = math.inf if est.best_loss_ is None else est.best_loss_
        if est.loss_curve_[-1] > best - cfg.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < best:
            est.best_loss_ = est.loss_curve_[-1]
        return
    net = est.network_
    terms = objective.value(net.params, val.batch)
    out = to_numpy(terms.output)
    w = None if val.w is None else to_numpy(val.w)
    score = est._score_output(out, val.y, w) if np.all(np.isfinite(out)) else math.nan
    loss = terms.parts[0] + terms.parts[1]
    loss = loss if math.isfinite(loss) else math.nan
    assert est.validation_scores_ is not None and est.val_loss_curve_ is not None
    est.validation_scores_.append(score)
    est.val_loss_curve_.append(loss)
    if history is not None:  # what the user's callbacks see of the epoch
        history.val_loss[-1] = loss
    if cfg.verbose:
        print(f"Validation score: {score:f}")
    best_score, best_loss = est.best_validation_score_, est.best_val_loss_
    assert best_score is not None and best_loss is not None
    if cfg.early_stopping_metric == "loss":  # NaN compares False: no improvement, no best
        est._no_improvement_count = (
            0 if loss < best_loss - cfg.tol else est._no_improvement_count + 1
        )
        better = loss < best_loss
    else:  # scikit-learn's rule, NaN resetting the count as it does there
        est._no_improvement_count = (
            est._no_improvement_count + 1 if score < best_score + cfg.tol else 0
        )
        better = score > best_score
    if better:
        est.best_validation_score_, est.best_val_loss_ = score, loss
        est._best_theta = np.array(to_numpy(net.params), copy=True)


# --- L-BFGS ------------------------------------------------------------------------------------


def fit_lbfgs(est: BaseMLP, cfg: Settings, data: Part, callbacks: Sequence[Callback] = ()) -> None:
    """L-BFGS on the full-batch J(θ), stopping by scikit-learn's two tests.

    scikit-learn runs scipy's L-BFGS-B with gtol = ``tol`` and scipy's default
    ftol; the callback applies both tests, so ``tol`` keeps its meaning:
    stop when max |∂J/∂θ| ≤ tol or when J's relative decrease
    (J_{k−1} − J_k) / max(|J_{k−1}|, |J_k|, 1) ≤ ftol. As in scipy, the gradient
    test is also made at θ₀ before any step: a start that meets it is kept
    (n_iter_ = 0; a warm start of a converged model does not move). A
    ConvergenceWarning follows whenever max_iter or max_fun ended the run, or
    scipy stopped without converging (a non-finite J included: θ is then the
    last finite iterate, as scipy's line search leaves it).
    """
    net, batch = est.network_, data.batch
    objective = SklearnObjective(net, cfg)
    grad = net.xp.empty_like(net.params)
    start = objective.evaluate(net.params, batch, grad)
    est.n_iter_ = 0
    if math.isfinite(start.total) and float(np.max(np.abs(to_numpy(grad)))) <= cfg.tol:
        est.loss_ = start.total
        est.best_loss_ = min(est.loss_curve_, default=est.loss_)
        return
    previous = [start.total]  # J(θ₀)
    converged, user_stop = [False], [False]

    def callback(info: EpochEnd) -> bool:
        J = info.history.train_loss[-1]
        est.n_iter_ += 1
        est.loss_curve_.append(J)
        if cfg.verbose:
            print(f"Iteration {est.n_iter_}, loss = {J:.8f}")
        J_prev, previous[0] = previous[0], J
        assert info.gradient is not None
        small_gradient = float(np.max(np.abs(info.gradient))) <= cfg.tol
        small_decrease = J_prev - J <= FTOL * max(abs(J_prev), abs(J), 1.0)
        converged[0] = bool(small_gradient or small_decrease)
        user_stop[0] = any([hook(info) is True for hook in callbacks])
        return converged[0] or user_stop[0]

    loop = LoopConfig(
        optimizer="lbfgs", schedule=None, opt=None, epochs=cfg.max_iter, max_steps=cfg.max_fun,
        checkpoint_every=0, tol=0.0,
    )  # fmt: skip
    run = Trainer(
        objective, batch, loop, rng=np.random.default_rng(0), net=net, callbacks=[callback]
    )
    reason = None
    try:
        history = run.run()
    except TrainingDiverged:
        reason = "J or its gradient became non-finite; θ is the last finite iterate"
    finally:
        run.close()
    est.loss_ = previous[0]
    est.best_loss_ = min(est.loss_curve_, default=est.loss_)
    result = run.lbfgs_result
    if reason is None and est.n_iter_ >= cfg.max_iter:
        reason = f"max_iter={cfg.max_iter} iterations reached"
    elif reason is None and run.step >= cfg.max_fun:
        reason = f"max_fun={cfg.max_fun} evaluations of J reached"
    elif reason is None and not (converged[0] or user_stop[0] or (result and result.success)):
        reason = history.stop_reason if result is None else result.message
    if reason is not None:
        warnings.warn(
            f"lbfgs failed to converge after {est.n_iter_} iteration(s): {reason}\n"
            f"Increase the number of iterations (max_iter={cfg.max_iter}) or max_fun, "
            "or scale the data.",
            ConvergenceWarning,
            stacklevel=4,
        )
    check_finite(net.params)
