"""What the two estimators share: parameters, the network, fitting and predicting.

Fitting follows scikit-learn's ``BaseMultilayerPerceptron`` step for step, through
deltaprop's one training loop (``_fitting`` says how); every J(W,b) and ∇J comes
from deltaprop's backprop and every update from deltaprop's optimizers. Where the
two differ, the package docstring says how and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from os import PathLike
from typing import Any, TypeVar

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._arrays import first_nonfinite, resolve_namespace, to_numpy
from .._devices import array_place, host_to, resolve_device
from .._sparse import SPARSE_FORMATS
from ..costs import COSTS
from ..history import Callback
from ..network import Network
from ._fitting import Part, SolverState, fit_lbfgs, fit_stochastic
from ._params import STOCHASTIC_SOLVERS, Settings, settings
from ._skcallbacks import MIXINS, EpochTasks, callback_management_context, has_sklearn_callbacks

SKLEARN_NAMES = {"sigmoid": "logistic"}
"""deltaprop activation names that scikit-learn spells differently (``out_activation_``)."""

_E = TypeVar("_E", bound="BaseMLP")


@dataclass(frozen=True)
class NetworkState:
    """A Network as plain data, for pickling (a Network holds its array module)."""

    layer_sizes: tuple[int, ...]
    activation: str | tuple[str, ...]
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
            net.activation_name,
            net.output_activation.name,
            net.cost.name,
            net.weight_decay,
            net.dtype,
            net.init,
            np.array(to_numpy(net.params), copy=True),
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


def new_network(
    sizes: Sequence[int],
    *,
    activation: str | tuple[str, ...],
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
    as scikit-learn's MLP. With one activation per hidden layer, c is that of
    the hidden layer the weights feed (the output layer's: the last hidden one's).
    """
    hidden = net.hidden_activations
    for k, (fan_in, fan_out) in enumerate(pairwise(net.layer_sizes)):
        act = hidden[min(k, len(hidden) - 1)] if hidden else net.activation
        factor = 2.0 if getattr(act, "name", "") == "sigmoid" else 6.0
        bound = math.sqrt(factor / (fan_in + fan_out))
        net.W[k][...] = rs.uniform(-bound, bound, (fan_in, fan_out)).T  # coefs_[k] is W[k]ᵀ
        net.b[k][...] = rs.uniform(-bound, bound, fan_out)


class BaseMLP(*MIXINS, BaseEstimator):  # type: ignore[misc]
    """Shared machinery of MLPClassifier and MLPRegressor; not for direct use."""

    _regression = False
    network_: Network  # set by fit

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
        dropout: float | Sequence[float] | None = None,
        early_stopping_metric: str = "score",
        device: Any = None,
    ) -> None:
        self.device = device
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
        self.dropout = dropout
        self.early_stopping_metric = early_stopping_metric

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

    def _class_weights(self, y: Any, incremental: bool) -> np.ndarray | None:
        """Per-example weights from ``class_weight`` (the classifier's), or None."""
        return None

    # --- parameters as scikit-learn names them -----------------------------------------

    @property
    def coefs_(self) -> list[np.ndarray]:
        """coefs_[k], shape (s_k, s_{k+1}): W⁽ᵏ⁺¹⁾ᵀ, a view into ``network_.params``
        (an array of the fit's namespace, on its device)."""
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

    def _fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        *,
        incremental: bool,
        callbacks: Sequence[Callback] | None = None,
    ) -> BaseMLP:
        cfg = self._settings()
        first_pass = not hasattr(self, "network_") or (not cfg.warm_start and not incremental)
        place = self._place(X)  # checked before the data is
        X, Y, y = self._validate_input(host(X), y, incremental=incremental, reset=first_pass)
        w = _sample_weight(sample_weight, X.shape[0])
        class_w = self._class_weights(y, incremental)
        if class_w is not None:  # class weights multiply any sample weights
            w = class_w if w is None else w * class_w
        hooks = _check_callbacks(callbacks)
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
        net: Network = self._placed(self.network_, place)
        self.network_ = net
        x, Yn = net.check_data(host_to(net, X), host_to(net, Y))
        data = Part(x, Yn, y, None if w is None else net.from_host(w))
        # J's weight decay on the whole of these data, as L-BFGS minimises it.
        net.weight_decay = cfg.lam(data.weight_sum)
        if not has_sklearn_callbacks(self):
            self._solve(cfg, data, rs, incremental, hooks)
            return self
        with callback_management_context(self):  # scikit-learn's set_callbacks
            meta = None if w is None else {"sample_weight": w}
            tasks = EpochTasks(self, X, y, meta, lambda: {"network_": NetworkState.of(net).build()})
            try:
                self._solve(cfg, data, rs, incremental, [*hooks, tasks])
            finally:
                tasks.finish()
        return self

    def _solve(
        self,
        cfg: Settings,
        data: Part,
        rs: np.random.RandomState,
        incremental: bool,
        hooks: Sequence[Callback],
    ) -> None:
        # Overflow shows up as a non-finite J or θ, which the fit reports (scikit-learn's
        # ValueError, or a ConvergenceWarning for L-BFGS); numpy's warnings would repeat it.
        with np.errstate(over="ignore", invalid="ignore"):
            if cfg.stochastic:
                fit_stochastic(self, cfg, data, rs, incremental, hooks)
            else:
                fit_lbfgs(self, cfg, data, hooks)

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
        self.network_ = net  # moved to the fit's device by _fit
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
            self.best_val_loss_: float | None = math.inf
            self.best_loss_: float | None = None
        else:
            self.validation_scores_ = self.val_loss_curve_ = self.best_validation_score_ = None
            self.best_val_loss_ = None
            self.best_loss_ = math.inf

    # --- predicting ------------------------------------------------------------------------

    def _output(self, X: Any) -> Any:
        """h_{W,b}(x) for every row of X, in the network's dtype: numpy, or under scikit-learn's
        ``array_api_dispatch`` an array of X's namespace on X's device."""
        check_is_fitted(self)
        net: Network = self._placed(self.network_, self._place(X))
        self.network_ = net
        keep = dispatching() and array_place(X) is not None
        X = validate_data(
            self, host(X), accept_sparse=SPARSE_FORMATS, reset=False, dtype=(np.float64, np.float32)
        )
        out = net.predict(host_to(net, X))
        return out if keep and array_place(out) is not None else np.asarray(to_numpy(out))

    def _place(self, X: Any) -> tuple[Any, Any]:
        """(xp, device) to compute with, resolved (a ValueError naming ``device`` if unusable).

        ``device`` None: numpy on the CPU, or, under ``array_api_dispatch``, X's own
        namespace and device. A device ("cpu", "cuda", "cuda:1"): torch there (or X's
        namespace under ``array_api_dispatch``, e.g. CuPy).
        """
        place = array_place(X) if dispatching() else None
        if self.device is None:
            return (np, None) if place is None else place
        xp = resolve_namespace("torch" if place is None else place[0])
        return xp, resolve_device(xp, self.device)

    @staticmethod
    def _placed(net: Network, place: tuple[Any, Any]) -> Network:
        """``net``, moved once to ``place`` if it is elsewhere (a loaded or re-placed model)."""
        xp, device = place
        same = net.xp is xp and str(net.device) == str(device)
        return net if same else net.to(xp, device)

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
        tags.input_tags.sparse = True
        return tags


def _check_callbacks(callbacks: Any) -> list[Callback]:
    """``fit``'s callbacks as a list: None, or a sequence of callables."""
    if callbacks is None:
        return []
    hooks = [callbacks] if callable(callbacks) else list(callbacks)
    for k, hook in enumerate(hooks):
        if not callable(hook):
            raise TypeError(
                f"callbacks[{k}] must be a function of a deltaprop.EpochEnd, got {hook!r}"
            )
    return hooks


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


def stochastic_only(est: BaseMLP) -> bool:
    """``partial_fit``'s condition: a stochastic solver, else an AttributeError saying so."""
    if est.solver not in STOCHASTIC_SOLVERS:
        raise AttributeError(
            "partial_fit is only available for the stochastic solvers 'sgd' and 'adam'; "
            f"solver={est.solver!r} is not stochastic"
        )
    return True


def dispatching() -> bool:
    """Whether scikit-learn's ``array_api_dispatch`` is on (inputs keep their namespace)."""
    return bool(get_config().get("array_api_dispatch", False))


def host(X: Any) -> Any:
    """X for scikit-learn's checks, which are numpy's: an array API array copied to the host
    (once per call); anything else (numpy, lists, sparse, data frames) as it is."""
    return X if array_place(X) is None else to_numpy(X)
