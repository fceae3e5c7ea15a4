"""MLPRegressor: scikit-learn's estimator, computed by deltaprop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from .._arrays import namespace_of
from .._sparse import SPARSE_FORMATS
from ._base import BaseMLP, stochastic_only
from ._params import Settings

LOSSES = ("squared_error", "poisson")
"""MLPRegressor's losses: ½‖h(x) − y‖², or half the Poisson deviance with h = e^z."""


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's MLPRegressor, trained by deltaprop.

    Minimises, on each batch B with example weights wᵢ (1 by default),

        J(W,b) = Σ_{i∈B} wᵢ ½‖h_{W,b}(x⁽ⁱ⁾) − y⁽ⁱ⁾‖² / Σ_{i∈B} wᵢ + (λ/2) Σ_l ‖W⁽ˡ⁾‖²,
        λ = alpha / Σ_{i∈B} wᵢ   (or λ = weight_decay, for every batch),

    with an identity output layer (``loss="squared_error"``), or with
    ``loss="poisson"`` half the Poisson deviance Σ_k [y_k log(y_k/a_k) − y_k + a_k]
    of an exponential output a = e^z (scikit-learn's; targets ≥ 0, for counts).
    ‖·‖² sums over the outputs, and J is exactly
    what the gradient is the gradient of. scikit-learn's gradient is the same,
    but the loss it reports (``loss_``, ``loss_curve_``, and the value its
    L-BFGS line search sees) divides the data term by the number of outputs
    (scikit-learn issue #8349); with k outputs the values here are k times
    theirs in the data term, identical for one output.

    Parameters: ``loss`` ("squared_error" or "poisson"), then those of
    :class:`MLPClassifier` but ``class_weight``, where ``cost`` defaults to the loss and
    ``output_activation`` to "identity" ("exp" for "poisson").

    Attributes: as :class:`MLPClassifier`'s, without ``classes_``;
    ``validation_scores_`` are R² scores.

    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> Y = np.hstack([X**2, np.sin(3 * X)])   # two outputs
    >>> reg = MLPRegressor(hidden_layer_sizes=(20,), activation="tanh", solver="lbfgs",
    ...                    max_iter=2000, random_state=0).fit(X, Y)
    >>> reg.predict(X[:2]).shape, bool(reg.score(X, Y) > 0.99)
    ((2, 2), True)
    """

    _regression = True

    def __init__(  # scikit-learn's parameters, one line each: get_params reads them from here
        self,
        loss: str = "squared_error",
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
        self.loss = loss
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dtype=dtype,
            weight_decay=weight_decay,
            output_activation=output_activation,
            cost=cost,
            dropout=dropout,
            early_stopping_metric=early_stopping_metric,
            device=device,
        )

    def _settings(self) -> Settings:
        if self.loss not in LOSSES:
            raise ValueError(
                f"loss: unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}"
            )
        if self.cost is not None and self.loss == "poisson" and self.cost != "poisson":
            raise ValueError(f"loss='poisson' and cost={self.cost!r} are both given: give one")
        return super()._settings()

    def fit(self, X: Any, y: Any, sample_weight: Any = None, callbacks: Any = None) -> MLPRegressor:
        """Fit to inputs X (n_samples, n_features) and targets y, (n_samples,) or
        (n_samples, n_outputs); ``callbacks`` as for :meth:`MLPClassifier.fit`."""
        self._fit(X, y, sample_weight, incremental=False, callbacks=callbacks)
        return self

    @available_if(stochastic_only)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over (X, y), continuing the parameters and the solver's state."""
        self._fit(X, y, sample_weight, incremental=True)
        return self

    def _validate_input(
        self, X: Any, y: Any, *, incremental: bool, reset: bool
    ) -> tuple[np.ndarray, np.ndarray, Any]:
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=SPARSE_FORMATS,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            at = np.argwhere(np.asarray(y) < 0)[0]
            raise ValueError(
                f"y{list(at.tolist())} is {y[tuple(at)]:g}: loss='poisson' needs targets ≥ 0 "
                "(counts or rates)"
            )
        return X, y.reshape(-1, 1) if y.ndim == 1 else y, y

    def _task_output(self) -> tuple[str, str]:
        return ("exp", "poisson") if self.loss == "poisson" else ("identity", "squared_error")

    def _score_output(self, out: np.ndarray, y: Any, sample_weight: Any) -> float:
        pred = out.ravel() if out.shape[1] == 1 else out
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def predict(self, X: Any) -> np.ndarray:
        """h_{W,b}(x) for each row of X: shape (n_samples,) for one output, else (n_samples, k)."""
        out = self._output(X)  # numpy, or X's namespace under array_api_dispatch
        return namespace_of(out).reshape(out, (-1,)) if out.shape[1] == 1 else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
