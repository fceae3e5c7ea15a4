"""scikit-learn's MLP estimators, trained by deltaprop: change one import, keep the pipeline.

>>> from deltaprop.sklearn import MLPClassifier      # was: from sklearn.neural_network import ...

The estimators take scikit-learn's parameters with scikit-learn's meanings and
reproduce its training loops step for step: the same initial θ, shuffles and
validation split from the same ``random_state``, the same batches, learning-rate
schedules, stopping rules and ``ConvergenceWarning``. Every J(W,b) and ∇J is
deltaprop's (``deltaprop.backprop``), every update a deltaprop optimizer. On top:
float32 end to end (``dtype``), a validation-loss curve (``val_loss_curve_``),
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
- "lbfgs" stops by scikit-learn's tests (max |∂J/∂θ| ≤ tol, or scipy's default
  relative decrease) and also records ``loss_curve_`` and ``best_loss_`` per
  iteration; when the tolerance is met at iteration ``max_iter`` it does not
  warn, where scikit-learn does.
- Sparse X is refused (TypeError): the network computes densely; call
  ``.toarray()`` if it fits in memory.
- A non-finite J raises ``deltaprop.TrainingDiverged`` with θ put back to
  where the epoch began, instead of training on and failing at the end.
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
