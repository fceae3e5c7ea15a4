"""What the two estimators share: parameters, the network, and scikit-learn's two training loops.

The loops reproduce scikit-learn's ``BaseMultilayerPerceptron`` step for step
(same initialisation and shuffles from the same ``random_state``, same batches,
same stopping rules, same warnings), but every J(W,b) and ∇J comes from
deltaprop's backprop and every update from deltaprop's optimizers. Where the
two differ, the package docstring says how and why.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from os import PathLike
from typing import Any, TypeVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, gen_batches, shuffle
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import backprop
from .._arrays import first_nonfinite
from ..costs import COSTS
from ..network import Network
from ..optim import Adam, get_optimizer, minimize_lbfgs
from ..optim.base import Optimizer
from ..training import History, TrainingDiverged
from ._params import Settings, settings

FTOL = 1e7 * np.finfo(float).eps
"""scipy's default relative-decrease tolerance for L-BFGS-B (factr = 1e7), which
scikit-learn leaves in place: it sets only the gradient tolerance, to ``tol``."""

SKLEARN_NAMES = {"sigmoid": "logistic"}
"""deltaprop activation names that scikit-learn spells differently (``out_activation_``)."""

_E = TypeVar("_E", bound="BaseMLP")


@dataclass
class SolverState:
    """What a stochastic solver carries from one epoch, or one partial_fit, to the next."""

    optimizer: Optimizer
    state: dict[str, Any]
    learning_rate: float

    def step(self, theta: np.ndarray, grad: np.ndarray) -> None:
        """One update of θ in place, as scikit-learn's solver makes it.

        scikit-learn's Adam is Kingma & Ba's "efficient" form,
        θ −= α √(1 − β₂ᵗ) / (1 − β₁ᵗ) · m / (√v + ε), which is Algorithm 1
        (deltaprop's Adam, θ −= α m̂ / (√v̂ + ε')) with ε' = ε / √(1 − β₂ᵗ);
        so ``epsilon`` keeps scikit-learn's meaning, step for step.
        """
        opt = self.optimizer
        if isinstance(opt, Adam):
            t = self.state["t"] + 1
            opt = replace(opt, eps=opt.eps / math.sqrt(1.0 - opt.beta2**t))
        opt.update(np, theta, grad, self.state, self.learning_rate)


@dataclass(frozen=True)
class NetworkState:
    """A Network as plain data, for pickling (a Network holds its array module)."""

    layer_sizes: tuple[int, ...]
    activation: str
    output_activation: str
    cost: str
    weight_decay: float
    dtype: str
    init: str
    params: np.ndarray

    @classmethod
    def of(cls, net: Network) -> NetworkState:
        """Snapshot ``net`` (its θ copied)."""
        return cls(
            net.layer_sizes,
            net.activation.name,
            net.output_activation.name,
            net.cost.name,
            net.weight_decay,
            net.dtype,
            net.init,
            np.array(net.params, copy=True),
        )

    def build(self) -> Network:
        """The Network again, θ and all."""
        net = new_network(
            self.layer_sizes,
            activation=self.activation,
            output_activation=self.output_activation,
            cost=self.cost,
            dtype=self.dtype,
            init=self.init,
        )
        net.weight_decay = self.weight_decay
        net.params = self.params
        return net


@dataclass(frozen=True)
class _Part:
    """Examples as the network computes with them, and the targets as the user gave them."""

    x: np.ndarray  # inputs, network dtype
    Y: np.ndarray  # encoded targets, (m, s_nl), network dtype
    y: Any  # targets as given (labels for a classifier), for scores
    w: np.ndarray | None  # example weights, network dtype

    @property
    def weight_sum(self) -> float:
        return float(self.x.shape[0] if self.w is None else self.w.sum())


def new_network(
    sizes: Sequence[int],
    *,
    activation: str,
    output_activation: str,
    cost: str,
    dtype: str,
    init: str | None = None,
) -> Network:
    """A numpy Network of this architecture; its θ is to be overwritten by the caller."""
    net = Network(
        sizes,
        activation=activation,
        output_activation=output_activation,
        cost=cost,
        init=init,
        dtype=dtype,
        seed=0,
    )
    net.seed = None  # θ does not come from a deltaprop seed
    return net


def sklearn_init(net: Network, rs: np.random.RandomState) -> None:
    """θ as scikit-learn initialises it, drawn from ``rs`` in scikit-learn's order.

    For each layer, W and b ~ U[−r, r] with r = √(c / (s_l + s_{l+1})), c = 2
    for a sigmoid hidden layer and 6 otherwise (Glorot & Bengio 2010); the
    biases are drawn too. The same ``random_state`` thus gives the same start
    as scikit-learn's MLP.
    """
    factor = 2.0 if net.activation.name == "sigmoid" else 6.0
    for k, (fan_in, fan_out) in enumerate(pairwise(net.layer_sizes)):
        bound = math.sqrt(factor / (fan_in + fan_out))
        net.W[k][...] = rs.uniform(-bound, bound, (fan_in, fan_out)).T  # coefs_[k] is W[k]ᵀ
        net.b[k][...] = rs.uniform(-bound, bound, fan_out)


class BaseMLP(BaseEstimator):
    """Shared machinery of MLPClassifier and MLPRegressor; not for direct use."""

    _regression = False

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float | None = None,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool | int = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int | float = 10,
        max_fun: int = 15000,
        dtype: Any = None,
        weight_decay: float | None = None,
        output_activation: str | None = None,
        cost: str | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.weight_decay = weight_decay
        self.output_activation = output_activation
        self.cost = cost

    # --- what each estimator defines -------------------------------------------------

    def _validate_input(
        self, X: Any, y: Any, *, incremental: bool, reset: bool
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        """(X, Y, y): checked inputs, targets encoded for the network (m, s_nl), y as given."""
        raise NotImplementedError

    def _task_output(self) -> tuple[str, str]:
        """The (output activation, cost) the task calls for, as deltaprop names."""
        raise NotImplementedError

    def _score_output(self, out: np.ndarray, y: Any, sample_weight: Any) -> float:
        """The estimator's score (accuracy, R²) of the network outputs ``out`` against y."""
        raise NotImplementedError

    def _settings(self) -> Settings:
        return settings(self.get_params(deep=False))

    # --- parameters as scikit-learn names them -----------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """coefs_[k], shape (s_k, s_{k+1}): W⁽ᵏ⁺¹⁾ᵀ, a view into ``network_.params``."""
        return [W.T for W in self._fitted_network().W]

    @coefs_.setter
    def coefs_(self, values: Sequence[Any]) -> None:
        self._set_views("coefs_", self._fitted_network().W, [np.asarray(v).T for v in values])

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """intercepts_[k], shape (s_{k+1},): b⁽ᵏ⁺¹⁾, a view into ``network_.params``."""
        return list(self._fitted_network().b)

    @intercepts_.setter
    def intercepts_(self, values: Sequence[Any]) -> None:
        self._set_views("intercepts_", self._fitted_network().b, [np.asarray(v) for v in values])

    def _fitted_network(self) -> Network:
        net = self.__dict__.get("network_")
        if net is None:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet")
        return net

    @staticmethod
    def _set_views(name: str, views: list[np.ndarray], values: list[np.ndarray]) -> None:
        if len(values) != len(views):
            raise ValueError(f"{name} needs {len(views)} arrays, got {len(values)}")
        for k, (view, value) in enumerate(zip(views, values, strict=True)):
            if value.shape != view.shape:
                shapes = (
                    (view.T.shape, value.T.shape) if name == "coefs_" else (view.shape, value.shape)
                )
                raise ValueError(f"{name}[{k}] must have shape {shapes[0]}, got {shapes[1]}")
        for view, value in zip(views, values, strict=True):
            view[...] = value

    # --- fitting ---------------------------------------------------------------------------

    def _fit(self, X: Any, y: Any, sample_weight: Any, *, incremental: bool) -> BaseMLP:
        cfg = self._settings()
        first_pass = not hasattr(self, "network_") or (not cfg.warm_start and not incremental)
        X, Y, y = self._validate_input(X, y, incremental=incremental, reset=first_pass)
        w = _sample_weight(sample_weight, X.shape[0])
        sizes = (X.shape[1], *cfg.hidden_layer_sizes, Y.shape[1])
        try:
            rs = check_random_state(self.random_state)
        except ValueError as exc:
            raise ValueError(f"random_state: {exc}") from None
        if first_pass:
            self._initialize(cfg, sizes, cfg.dtype or X.dtype.name, rs)
        elif self.network_.layer_sizes != sizes:
            raise ValueError(
                f"the fitted network has layer sizes {list(self.network_.layer_sizes)}, these "
                f"data and hidden_layer_sizes need {list(sizes)}; warm_start and partial_fit "
                "continue the fitted network, so its architecture cannot change"
            )
        net = self.network_
        x, Yn = net.check_data(X, Y)
        data = _Part(x, Yn, y, None if w is None else net.from_host(w))
        # J's weight decay on the whole of these data, as L-BFGS minimises it.
        net.weight_decay = cfg.lam(data.weight_sum)
        # Overflow shows up as a non-finite J, which stops training with TrainingDiverged;
        # numpy's own warnings about it would only repeat that.
        with np.errstate(over="ignore", invalid="ignore"):
            if cfg.stochastic:
                self._fit_stochastic(cfg, data, rs, incremental)
            else:
                self._fit_lbfgs(cfg, data)
        return self

    def _initialize(
        self, cfg: Settings, sizes: tuple[int, ...], dtype: str, rs: np.random.RandomState
    ) -> None:
        task_output, task_cost = self._task_output()
        cost = cfg.cost or task_cost
        output = cfg.output_activation or COSTS[cost].output_activation or task_output
        net = new_network(
            sizes, activation=cfg.activation, output_activation=output, cost=cost, dtype=dtype
        )
        sklearn_init(net, rs)
        self.network_ = net
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = sizes[-1]
        self.n_layers_ = len(sizes)
        self.out_activation_ = SKLEARN_NAMES.get(output, output)
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        self._solver: SolverState | None = None
        self._best_theta = np.array(net.params, copy=True)
        if cfg.stochastic and cfg.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.val_loss_curve_: list[float] | None = []
            self.best_validation_score_: float | None = -math.inf
            self.best_loss_: float | None = None
        else:
            self.validation_scores_ = self.val_loss_curve_ = self.best_validation_score_ = None
            self.best_loss_ = math.inf

    def _fit_stochastic(
        self, cfg: Settings, data: _Part, rs: np.random.RandomState, incremental: bool
    ) -> None:
        """scikit-learn's epochs of mini-batch updates, with deltaprop's J, ∇J and optimizers."""
        net = self.network_
        theta = net.params
        if not incremental or getattr(self, "_solver", None) is None:
            self._solver = _new_solver(cfg, theta)
        solver = self._solver
        assert solver is not None
        if cfg.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        train, val = data, None
        if cfg.early_stopping:
            train, val = self._split(cfg, data, rs)
            if self.validation_scores_ is None:  # a warm start after a fit without early stopping
                self.validation_scores_, self.val_loss_curve_ = [], []
                self.best_validation_score_ = -math.inf
        m = train.x.shape[0]
        if cfg.batch_size is None:
            batch_size = min(200, m)
        else:
            if cfg.batch_size > m:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. "
                    "It is going to be clipped",
                    stacklevel=4,
                )
            batch_size = min(cfg.batch_size, m)
        order = np.arange(m)
        self.n_iter_ = 0
        try:
            for _ in range(cfg.max_iter):
                if cfg.shuffle:
                    order = shuffle(order, random_state=rs)
                self.loss_ = self._epoch(cfg, train, order if cfg.shuffle else None, batch_size)
                self.n_iter_ += 1
                self.t_ += m
                self.loss_curve_.append(self.loss_)
                if cfg.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(cfg, val)
                if cfg.solver == "sgd" and cfg.learning_rate == "invscaling":
                    solver.learning_rate = cfg.learning_rate_init / (self.t_ + 1) ** cfg.power_t
                if self._no_improvement_count > cfg.n_iter_no_change and self._stop(cfg):
                    break
                if incremental:
                    break
                if self.n_iter_ == cfg.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({cfg.max_iter}) reached "
                        "and the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=4,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=4)
        if cfg.early_stopping:
            theta[...] = self._best_theta

    def _epoch(
        self, cfg: Settings, train: _Part, order: np.ndarray | None, batch_size: int
    ) -> float:
        """One pass over ``train`` in batches (in ``order``, if shuffled): the mean batch J.

        Each batch B is one update with J on B and λ = alpha / Σ_{i∈B} wᵢ; the
        epoch's loss is the batch J's averaged by batch size, as scikit-learn's.
        """
        net, solver = self.network_, self._solver
        assert solver is not None
        theta = net.params
        grad = np.empty_like(theta)
        dW, db = net.unpack(grad)
        start = np.array(theta, copy=True)
        m = train.x.shape[0]
        total = 0.0
        for batch in gen_batches(m, batch_size):
            idx = batch if order is None else order[batch]
            x, Y = train.x[idx], train.Y[idx]
            w = None if train.w is None else train.w[idx]
            weight_sum = float(x.shape[0] if w is None else w.sum())
            if weight_sum <= 0:  # every example weighs 0: nothing to learn here
                continue
            lam = cfg.lam(weight_sum)
            data_term, decay, _ = backprop.cost_and_grad(
                np, net.W, net.b, net.activations, net.cost, lam, x, Y, dW, db, w
            )
            J = float(data_term) + float(decay)
            if not math.isfinite(J):
                raise self._diverged(theta, start)
            solver.step(theta, grad)
            total += J * x.shape[0]
        if not np.all(np.isfinite(theta)):
            raise self._diverged(theta, start)
        return total / m

    def _stop(self, cfg: Settings) -> bool:
        """No improvement for n_iter_no_change epochs: stop, or ("adaptive") divide α by 5."""
        solver = self._solver
        assert solver is not None
        what = "Validation score" if cfg.early_stopping else "Training loss"
        msg = (
            f"{what} did not improve more than tol={cfg.tol:f} "
            f"for {cfg.n_iter_no_change} consecutive epochs."
        )
        adaptive = cfg.solver == "sgd" and cfg.learning_rate == "adaptive"
        if adaptive and solver.learning_rate > 1e-6:
            solver.learning_rate /= 5.0
            self._no_improvement_count = 0
            if cfg.verbose:
                print(f"{msg} Setting learning rate to {solver.learning_rate:f}")
            return False
        if cfg.verbose:
            print(f"{msg}{' Learning rate too small.' if adaptive else ''} Stopping.")
        return True

    def _split(self, cfg: Settings, data: _Part, rs: np.random.RandomState) -> tuple[_Part, _Part]:
        """scikit-learn's hold-out split: stratified for one-output classifiers."""
        stratify = None if self._regression or data.Y.shape[1] != 1 else data.Y > 0.5
        arrays = [data.x, data.Y, data.y] + ([] if data.w is None else [data.w])
        parts = train_test_split(
            *arrays, random_state=rs, test_size=cfg.validation_fraction, stratify=stratify
        )
        if parts[1].shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size "
                "of your dataset."
            )
        x_train, x_val, Y_train, Y_val, y_train, y_val, *weights = parts
        w_train, w_val = weights if weights else (None, None)
        return _Part(x_train, Y_train, y_train, w_train), _Part(x_val, Y_val, y_val, w_val)

    def _update_no_improvement_count(self, cfg: Settings, val: _Part | None) -> None:
        if val is None:
            best = math.inf if self.best_loss_ is None else self.best_loss_
            if self.loss_curve_[-1] > best - cfg.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < best:
                self.best_loss_ = self.loss_curve_[-1]
            return
        net = self.network_
        trace = backprop.forward(np, net.W, net.b, net.activations, val.x)
        data_term = float(backprop.data_term(np, net.cost, trace, val.Y, val.w))
        decay = float(backprop.weight_decay(np, net.W, cfg.lam(val.weight_sum)))
        out = trace.output
        score = self._score_output(out, val.y, val.w) if np.all(np.isfinite(out)) else math.nan
        assert self.validation_scores_ is not None and self.val_loss_curve_ is not None
        self.validation_scores_.append(score)
        self.val_loss_curve_.append(data_term + decay)
        if cfg.verbose:
            print(f"Validation score: {score:f}")
        best_score = self.best_validation_score_
        assert best_score is not None
        if score < best_score + cfg.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > best_score:
            self.best_validation_score_ = score
            self._best_theta = np.array(net.params, copy=True)

    def _diverged(self, theta: np.ndarray, start: np.ndarray) -> TrainingDiverged:
        theta[...] = start
        return TrainingDiverged(
            f"training diverged in epoch {self.n_iter_ + 1}: J or its gradient is not finite; "
            "the parameters were put back to where the epoch started (loss_curve_ holds the "
            "epochs before). Try a smaller learning_rate_init, or scale the data.",
            History(stop_reason="diverged"),
        )

    def _fit_lbfgs(self, cfg: Settings, data: _Part) -> None:
        """L-BFGS on the full-batch J(θ), stopping by scikit-learn's two tests.

        scikit-learn runs scipy's L-BFGS-B with gtol = ``tol`` and scipy's default
        ftol; the callback applies both tests, so ``tol`` keeps its meaning:
        stop when max |∂J/∂θ| ≤ tol or when J's relative decrease
        (J_{k−1} − J_k) / max(|J_{k−1}|, |J_k|, 1) ≤ ftol.
        """
        net = self.network_
        grad = np.empty_like(net.params)
        last: dict[str, Any] = {}

        def fun(th: np.ndarray) -> tuple[float, np.ndarray]:
            data_term, decay, _ = net.evaluate(data.x, data.Y, net.from_host(th), grad, data.w)
            J = float(data_term) + float(decay)
            g = grad.astype(np.float64)  # a fresh array: scipy keeps the last one
            if not (math.isfinite(J) and np.all(np.isfinite(g))):
                raise _NonFinite
            last.setdefault("J_prev", J)  # J(θ₀): the first evaluation is at θ₀
            last.update(x=th.copy(), J=J, g=g)
            return J, g

        good = np.asarray(net.params, dtype=np.float64)
        converged = False
        self.n_iter_ = 0

        def callback(th: np.ndarray, J: float) -> None:
            nonlocal converged, good
            good = th.copy()
            if not np.array_equal(last["x"], th):
                fun(th)
            self.n_iter_ += 1
            self.loss_curve_.append(J)
            if cfg.verbose:
                print(f"Iteration {self.n_iter_}, loss = {J:.8f}")
            J_prev = last["J_prev"]
            last["J_prev"] = J
            small_gradient = float(np.max(np.abs(last["g"]))) <= cfg.tol
            small_decrease = J_prev - J <= FTOL * max(abs(J_prev), abs(J), 1.0)
            if small_gradient or small_decrease:
                converged = True
                raise StopIteration

        try:
            res = minimize_lbfgs(
                fun, good, max_iter=cfg.max_iter, tol=0.0, callback=callback, max_fun=cfg.max_fun
            )
        except _NonFinite:
            net.params = good
            raise TrainingDiverged(
                f"L-BFGS diverged in iteration {self.n_iter_ + 1}: J or its gradient is not "
                "finite; the parameters were put back to the last iterate. Try scaling the data.",
                History(stop_reason="diverged"),
            ) from None
        net.params = res.x
        self.loss_ = res.fun
        self.best_loss_ = min(self.loss_curve_, default=res.fun)
        if not (converged or res.success):
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s): {res.message}\n"
                f"Increase the number of iterations (max_iter={cfg.max_iter}) or max_fun, "
                "or scale the data.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # --- predicting ------------------------------------------------------------------------

    def _output(self, X: Any) -> np.ndarray:
        """h_{W,b}(x) for every row of X, in the network's dtype."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return np.asarray(self.network_.predict(X))

    # --- pickling and model files -------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())
        if "network_" in state:
            state["network_"] = NetworkState.of(state["network_"])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state.get("network_"), NetworkState):
            state = {**state, "network_": state["network_"].build()}
        super().__setstate__(state)

    def save(self, path: str | PathLike[str], *, force: bool = True) -> None:
        """Write the fitted estimator to a deltaprop model file (safetensors + JSON; no pickle).

        The file holds θ and, as metadata, the constructor parameters and the
        fitted attributes (``classes_``, ``loss_curve_`` ...); :meth:`load` or
        :func:`deltaprop.sklearn.load` reads it back. The solver's momentum
        and Adam moments are not stored: ``partial_fit`` after loading starts
        them afresh. A ``random_state`` that is a RandomState instance is
        stored as None.

        Args:
          path: the file to write (conventionally ``*.safetensors``); written atomically.
          force: overwrite an existing file (default); if False, raise instead.
        """
        from ._modelfile import estimator_metadata

        check_is_fitted(self)
        self.network_.save(path, metadata=estimator_metadata(self), force=force)

    @classmethod
    def load(cls: type[_E], path: str | PathLike[str]) -> _E:
        """The estimator saved at ``path`` by :meth:`save`; every field is checked first.

        Raises:
          deltaprop.ModelFileError: the file is not a deltaprop model file of this
            estimator, or its contents are inconsistent.
        """
        from ._modelfile import read_estimator

        est = read_estimator(path, {cls.__name__: cls})
        assert isinstance(est, cls)
        return est

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class _NonFinite(Exception):
    """J or ∇J is NaN or infinite inside the L-BFGS objective."""


def _new_solver(cfg: Settings, theta: np.ndarray) -> SolverState:
    """deltaprop's optimizer for scikit-learn's solver settings, with a fresh state."""
    if cfg.solver == "adam":
        opt = get_optimizer("adam", beta1=cfg.beta_1, beta2=cfg.beta_2, eps=cfg.epsilon)
    elif cfg.momentum > 0:
        opt = get_optimizer(
            "nesterov" if cfg.nesterovs_momentum else "momentum", momentum=cfg.momentum
        )
    else:
        opt = get_optimizer("sgd")
    return SolverState(opt, opt.init(np, theta), cfg.learning_rate_init)


def _sample_weight(sample_weight: Any, m: int) -> np.ndarray | None:
    """Example weights as a float64 (m,) array (a scalar is every example's), or None."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        w = np.full(m, w)
    if w.shape != (m,):
        raise ValueError(
            f"sample_weight must have one weight per example, shape ({m},), got shape {w.shape}"
        )
    if w.dtype == np.bool_ or not np.issubdtype(w.dtype, np.number):
        raise ValueError(f"sample_weight must hold real numbers, got dtype {w.dtype}")
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError(f"sample_weight contains {first_nonfinite(w)}")
    if np.any(w < 0):
        i = int(np.argmax(w < 0))
        raise ValueError(f"sample_weight must be ≥ 0, got {w[i]:g} at index {i}")
    if not w.sum() > 0:
        raise ValueError("sample_weight: every weight is zero; at least one must be positive")
    return w
