"""A scikit-learn transformer: the sparse autoencoder's hidden activations as features.

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.linear_model import LogisticRegression
>>> model = make_pipeline(SparseAutoencoder(n_hidden=50), LogisticRegression())
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._arrays import to_numpy
from .._validate import check_count, check_real
from ..network import Network
from .cost import autoencoder_network, check_sparsity, encode
from .fit import train_sparse_autoencoder


class SparseAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Sparse autoencoder features: ``fit`` learns W⁽¹⁾, b⁽¹⁾; ``transform`` gives a⁽²⁾.

    ``fit`` minimises, by L-BFGS over the rows x⁽ⁱ⁾ of X,

        J_sparse(W,b) = (1/m) Σᵢ ½‖h_{W,b}(x⁽ⁱ⁾) − x⁽ⁱ⁾‖² + (λ/2) Σ W² + β Σ_j KL(ρ ‖ ρ̂_j),

    and ``transform`` returns a⁽²⁾ = σ(W⁽¹⁾x + b⁽¹⁾), one column per hidden unit.

    Parameters:
      n_hidden: s₂, the number of hidden units (features out).
      sparsity_target: ρ, the mean activation each hidden unit is pushed toward.
      beta: β, the weight of the sparsity penalty.
      weight_decay: λ.
      max_iter: L-BFGS iterations; a ConvergenceWarning says when they ran out.
      random_state: seeds the initial weights (int, RandomState or None).
      linear_decoder: an identity output layer, for inputs outside [0, 1]; with
        the default sigmoid decoder, scale X into [0, 1] first (e.g. with
        MinMaxScaler).
      tol: L-BFGS's tolerance (None: scipy's defaults).

    Attributes:
      components_: W⁽¹⁾, (n_hidden, n_features_in_); row j is hidden unit j's filter.
      intercept_: b⁽¹⁾, (n_hidden,).
      params_: the whole θ of the network [n_features_in_, n_hidden, n_features_in_].
      mean_activation_: ρ̂ on the training data, (n_hidden,).
      loss_: the final J_sparse; loss_curve_: J_sparse after each iteration.
      n_iter_: iterations made.

    References: Ng, "Sparse autoencoder", CS294A lecture notes (2011).
    """

    def __init__(
        self,
        n_hidden: int = 25,
        sparsity_target: float = 0.01,
        beta: float = 3.0,
        weight_decay: float = 1e-4,
        max_iter: int = 400,
        random_state: Any = None,
        linear_decoder: bool = False,
        tol: float | None = None,
    ) -> None:
        self.n_hidden = n_hidden
        self.sparsity_target = sparsity_target
        self.beta = beta
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.random_state = random_state
        self.linear_decoder = linear_decoder
        self.tol = tol

    def fit(self, X: Any, y: Any = None) -> SparseAutoencoder:
        """Learn the autoencoder on X (m, n); y is ignored."""
        X = validate_data(self, X, dtype=np.float64, reset=True)
        check_count("n_hidden", self.n_hidden)
        check_sparsity(self.sparsity_target, self.beta)
        lam = check_real("weight_decay", self.weight_decay, low=0.0)
        net = autoencoder_network(
            X.shape[1],
            int(self.n_hidden),
            weight_decay=lam,
            linear_decoder=bool(self.linear_decoder),
            seed=_seed(self.random_state),
        )
        history = train_sparse_autoencoder(
            net,
            X,
            sparsity_target=self.sparsity_target,
            beta=self.beta,
            max_iter=self.max_iter,
            tol=self.tol,
        )
        self.params_: np.ndarray = np.array(to_numpy(net.params), dtype=np.float64)
        self.components_: np.ndarray = np.array(to_numpy(net.W[0]))
        self.intercept_ = np.array(to_numpy(net.b[0]))
        self.mean_activation_ = np.asarray(to_numpy(encode(net, X))).mean(axis=0)
        self.loss_curve_ = list(history.train_loss)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else float("nan")
        self.n_iter_ = len(history)
        self._n_features_out = int(self.n_hidden)
        if not history.converged:
            warnings.warn(
                f"SparseAutoencoder: L-BFGS stopped after {self.n_iter_} iterations without "
                f"converging ({history.stop_reason}); raise max_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """a⁽²⁾ = σ(X W⁽¹⁾ᵀ + b⁽¹⁾), (m, n_hidden)."""
        check_is_fitted(self, "params_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(encode(self.network_, X))

    @property
    def network_(self) -> Network:
        """The fitted autoencoder as a deltaprop Network (a new one on each access)."""
        check_is_fitted(self, "params_")
        net = autoencoder_network(
            self.n_features_in_,
            self.components_.shape[0],
            weight_decay=float(self.weight_decay),
            linear_decoder=bool(self.linear_decoder),
            seed=0,
        )
        net.params = self.params_
        return net


def _seed(random_state: Any) -> int | np.random.Generator | None:
    """An int seed or Generator for Network from scikit-learn's random_state."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return int(random_state)
    rs = check_random_state(random_state)  # None is numpy's global RandomState, as in sklearn
    return int(rs.randint(np.iinfo(np.int32).max))
