"""scikit-learn's MLP estimators, trained by deltaprop: change one import, keep the pipeline.

>>> from deltaprop.sklearn import MLPClassifier      # was: from sklearn.neural_network import ...

The estimators take scikit-learn's parameters with scikit-learn's meanings and
reproduce its training loops step for step: the same initial θ, shuffles and
validation split from the same ``random_state``, the same batches, learning-rate
schedules, stopping rules and ``ConvergenceWarning``. Every J(W,b) and ∇J is
deltaprop's (``deltaprop.backprop``), every update a deltaprop optimizer. On top:
float32 end to end (``dtype``), a validation-loss curve (``val_loss_curve_``) and
early stopping on it (``early_stopping_metric="loss"``), ``class_weight``,
``dropout``, one activation per hidden layer, callbacks in ``fit``,
the fitted ``network_`` for deltaprop's tools (gradient checks, explain), the
exact multi-output gradient, and safe model files (``save`` / :func:`load`).

alpha and λ. scikit-learn adds, to each batch B with example weights wᵢ
(1 without weights), the penalty (alpha / (2 Σ_{i∈B} wᵢ)) Σ W²: its ``alpha`` is
a penalty per example, so the seed's λ in J(W,b) = data term + (λ/2) Σ W² is

    λ = alpha / Σ_{i∈B} wᵢ        (alpha / |B| unweighted; alpha / n_samples for "lbfgs").

That is what these estimators use, batch by batch (a smaller last batch gets
a larger λ, as in scikit-learn). ``weight_decay`` sets λ directly instead, the
same for every batch; giving both is an error. ``network_.weight_decay`` holds
λ for the whole training set, so ``network_.cost_and_grad(X, Y)`` is the
full-batch J that "lbfgs" minimises.

The loss values. ``loss_``, ``loss_curve_`` and ``val_loss_curve_`` report J
itself, the function whose exact gradient trains the network. For
classification and single-output regression that equals scikit-learn's loss.
For k > 1 regression outputs scikit-learn reports ½·mean over samples *and*
outputs while its gradient is that of the sum over outputs (its issue #8349;
its L-BFGS line search sees the mismatched pair). Here J = (1/m) Σᵢ ½‖h(x⁽ⁱ⁾) −
y⁽ⁱ⁾‖², the sum over outputs, whose gradient is the one computed: the data
term is k times scikit-learn's reported one, the trained model is what
scikit-learn's gradient aims at.

Adam. scikit-learn's is Kingma & Ba's "efficient" form, θ −= α √(1 − β₂ᵗ) /
(1 − β₁ᵗ) · m / (√v + ε); deltaprop's is their Algorithm 1, θ −= α m̂ / (√v̂ + ε').
The two are the same step when ε' = ε / √(1 − β₂ᵗ), which is what is passed at
step t, so ``epsilon`` means what it means in scikit-learn.

Other differences from scikit-learn, all deliberate:

- The binary cross-entropy is computed from z (softplus), not from p clipped
  to [eps, 1 − eps].
- The log-loss is not clipped, so a stopping rule sees the loss that is
  minimised. scikit-learn clips p to [eps, 1 − eps] (eps = 2.2e-16), so while
  a network is saturated its recorded loss sits at the clip and
  ``n_iter_no_change`` counts those epochs as no improvement; here J keeps
  falling and training goes on. Measured with scikit-learn 1.9.1 on a
  4-column table with an unscaled column near 4000::

      rng = numpy.random.default_rng(0)
      y = rng.integers(0, 3, size=200)
      X = rng.normal(size=(200, 4)) + numpy.eye(4)[y]
      X[:, 3] = 4000 + 50 * rng.normal(size=200) + 100 * y

  ``MLPClassifier(random_state=2).fit(X, y)`` (Adam, the defaults): scikit-learn's
  ``loss_curve_`` is 24.149 (clipped) in every one of its 12 epochs, so it stops
  there; deltaprop's J falls and it stops after 48 epochs, at 10.74 (with
  ``random_state=5``: 12 epochs against 82). After ``StandardScaler`` the two
  ``loss_curve_`` agree to 1e-15 over 500 epochs.
- "lbfgs" stops by scikit-learn's tests (max |∂J/∂θ| ≤ tol, also at θ₀ before
  any step, as scipy does; or scipy's default relative decrease) and also
  records ``loss_curve_`` and ``best_loss_`` per iteration. It warns
  (ConvergenceWarning) whenever max_iter or max_fun ended the run, also when
  the tolerance was met in that same iteration.
- Sparse X (CSR, CSC, COO) is taken as scikit-learn takes it, and more
  frugally: only the first layer's products are sparse, nothing is densified.
- Beyond scikit-learn's parameters: ``dropout`` (one rate, or one per hidden
  layer; "sgd" and "adam"), ``activation`` as one name per hidden layer,
  e.g. ``("relu", "tanh")``, ``class_weight``, ``early_stopping_metric="loss"``,
  ``device`` ("cuda": torch on the card; scikit-learn's ``array_api_dispatch``
  convention for inputs of another namespace) and ``callbacks`` in ``fit``.
- Divergence follows scikit-learn, not ``deltaprop.train``: the stochastic
  solvers train on through a non-finite J; with early stopping the NaN
  validation scores are recorded and the best θ kept; a θ still non-finite at
  the end raises scikit-learn's ValueError (without early stopping, as soon as
  θ is non-finite, since nothing can then bring it back). L-BFGS keeps its last
  finite iterate and warns.
- A mini-batch whose example weights are all 0 is skipped.
- ``alpha`` defaults to None (meaning scikit-learn's 0.0001), so that giving
  both alpha and weight_decay can be told from leaving alpha alone.
- MLPRegressor: ``partial_fit`` exists for the stochastic solvers only, as
  for the classifier.

References: scikit-learn's ``neural_network/_multilayer_perceptron.py`` (1.9);
Glorot & Bengio 2010 (initialisation); Kingma & Ba 2014 (Adam).
"""

from __future__ import annotations

try:
    import sklearn as _sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "deltaprop.sklearn needs scikit-learn ≥ 1.6: pip install 'scikit-learn>=1.6'"
    ) from exc

from ..autoencoder.estimator import SparseAutoencoder
from ._estimators import MLPClassifier, MLPRegressor, load

__all__ = ["MLPClassifier", "MLPRegressor", "SparseAutoencoder", "load"]
