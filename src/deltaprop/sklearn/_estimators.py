"""MLPClassifier, scikit-learn's estimator computed by deltaprop (MLPRegressor: ``_regressor``),
and ``load`` for either."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from .._arrays import namespace_of, to_numpy
from .._sparse import SPARSE_FORMATS
from ._base import BaseMLP, stochastic_only
from ._regressor import MLPRegressor


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's MLPClassifier, trained by deltaprop.

    Minimises, on each batch B of examples (x⁽ⁱ⁾, y⁽ⁱ⁾) with weights wᵢ (1 by default),

        J(W,b) = Σ_{i∈B} wᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) / Σ_{i∈B} wᵢ + (λ/2) Σ_l ‖W⁽ˡ⁾‖²,
        λ = alpha / Σ_{i∈B} wᵢ   (or λ = weight_decay, for every batch),

    with J(W,b; x,y) the cross-entropy of a softmax output for several classes,
    the binary cross-entropy of sigmoid outputs for two classes and for
    multi-label targets. That is scikit-learn's objective, so changing the
    import is enough; see :mod:`deltaprop.sklearn` for what differs.

    Parameters (scikit-learn's, same names and meanings):
      hidden_layer_sizes: units of each hidden layer, e.g. (100,) or (64, 32).
      activation: hidden activation, "identity", "logistic", "tanh" or "relu"
        (or deltaprop's "sigmoid", "leaky_relu", "softplus").
      solver: "adam", "sgd" (with momentum) or "lbfgs" (full batch).
      alpha: the L2 penalty per example, λ = alpha / batch size (see above);
        None is scikit-learn's 0.0001 unless weight_decay is given.
      batch_size: examples per update, or "auto" = min(200, n_samples).
      learning_rate: "constant", "invscaling" (α = learning_rate_init / (t+1)^power_t,
        t the examples seen, updated after each epoch) or "adaptive" (α / 5
        whenever n_iter_no_change epochs fail to improve by tol); "sgd" only.
      learning_rate_init: the initial α ("sgd", "adam").
      power_t: the exponent of "invscaling".
      max_iter: epochs ("sgd", "adam") or iterations ("lbfgs").
      shuffle: reshuffle the examples every epoch.
      random_state: seeds the initial θ, the shuffles and the validation split.
      tol: the improvement below which an epoch counts as no improvement; for
        "lbfgs", the gradient tolerance max |∂J/∂θ| ≤ tol.
      verbose: print progress to stdout.
      warm_start: fit continues from the fitted parameters.
      momentum, nesterovs_momentum: μ of "sgd", and Nesterov's form.
      early_stopping: hold out validation_fraction of the data and stop when
        the validation score has not improved by tol for n_iter_no_change
        epochs; the best epoch's parameters are kept.
      validation_fraction: the held-out fraction for early_stopping.
      beta_1, beta_2, epsilon: Adam's β₁, β₂, ε.
      n_iter_no_change: epochs without improvement before stopping.
      max_fun: the most evaluations of J that "lbfgs" makes.

    Parameters (deltaprop's own):
      dtype: float32 or float64; None (default) keeps float32 data in float32
        and computes in float64 otherwise, as scikit-learn does.
      weight_decay: λ itself, the same for every batch (the seed's λ); give
        this or alpha, not both.
      output_activation: the output layer's activation (deltaprop name);
        None: the one the cost needs, else softmax for several classes and
        sigmoid for two classes or multi-label targets.
      cost: "cross_entropy", "binary_cross_entropy" or "squared_error"; None:
        chosen from the targets as above.
      dropout: the probability p of dropping each hidden unit at each training
        step (inverted dropout, kept units scaled by 1/(1 − p)), one rate for
        every hidden layer or one per hidden layer; None (default) or 0: off.
        Masks are drawn from random_state; "sgd" and "adam" only. loss_curve_
        then holds the thinned networks' loss; predictions, scores and the
        validation score use the whole network.

    ``activation`` may also be a tuple of one activation per hidden layer, e.g.
    ``activation=("relu", "tanh")`` with ``hidden_layer_sizes=(64, 32)``. X may
    be a scipy.sparse CSR, CSC or COO matrix or array: only the first layer's
    products are sparse, and nothing is densified.
      early_stopping_metric: what early_stopping watches: "score" (default,
        scikit-learn's: accuracy, R² for the regressor) or "loss" (J on the
        held-out data, val_loss_curve_; improving means falling by tol).
      class_weight: "balanced" (wᵢ = n_samples / (n_classes · n_{yᵢ})) or a dict
        {label: weight}; multiplies any sample_weight. partial_fit takes a dict only.
      device: where to compute: None (numpy on the CPU; under scikit-learn's
        array_api_dispatch, X's namespace and device), or "cpu", "cuda",
        "cuda:1" (torch there, or X's namespace under array_api_dispatch). fit
        checks the inputs on the host (one copy) and moves them to the device
        once; predict_proba returns numpy, or X's namespace and device under
        array_api_dispatch (predict's labels are decoded on the host).

    Attributes:
      network_: the fitted deltaprop.Network; coefs_ and intercepts_ are views
        into its θ (coefs_[k] = network_.W[k].T).
      coefs_, intercepts_: weights (s_k, s_{k+1}) and biases per layer.
      classes_: the class labels.
      loss_: J after the last epoch or iteration.
      loss_curve_: J per epoch (the mean of the batch J's, as scikit-learn
        records it) or, for "lbfgs", per iteration.
      best_loss_: the lowest loss_curve_ value (None with early_stopping).
      validation_scores_, best_validation_score_: accuracy on the held-out
        data per epoch, and the best (early_stopping only, else None).
      val_loss_curve_: J on the held-out data per epoch (early_stopping only).
      best_val_loss_: J on the held-out data at the kept θ (early_stopping only).
      n_iter_, t_: epochs or iterations run in the last fit; examples seen.
      n_features_in_, feature_names_in_, n_layers_, n_outputs_, out_activation_:
        as scikit-learn.

    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((10,), solver="lbfgs", max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]), clf.coefs_[0].shape
    (array([0, 0, 0]), (4, 10))
    """

    classes_: np.ndarray

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
        class_weight: str | Mapping[Any, float] | None = None,
        device: Any = None,
    ) -> None:
        self.class_weight = class_weight
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

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, callbacks: Any = None
    ) -> MLPClassifier:
        """Fit to inputs X (n_samples, n_features) and labels y (n_samples,), or a
        label-indicator matrix (n_samples, n_labels) for multi-label targets.

        ``callbacks``: functions called with a :class:`deltaprop.EpochEnd` (the
        epoch, the network, the History so far) after each epoch (L-BFGS: each
        iteration); one that returns True stops the fit there, cleanly.
        """
        self._fit(X, y, sample_weight, incremental=False, callbacks=callbacks)
        return self

    @available_if(stochastic_only)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None, classes: Any = None
    ) -> MLPClassifier:
        """One epoch over (X, y), continuing the parameters and the solver's state.

        ``classes`` (all labels that will ever come) is required on the first call.
        """
        if classes is None and not hasattr(self, "classes_"):
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None:
            if hasattr(self, "classes_"):
                if not np.array_equal(self.classes_, unique_labels(classes)):
                    raise ValueError(
                        f"classes={classes!r} is not the same as on the last call to "
                        f"partial_fit, was: {self.classes_!r}"
                    )
            else:
                self.classes_ = unique_labels(classes)
                multilabel = type_of_target(y).startswith("multilabel")
                self._label_binarizer = LabelBinarizer().fit(y if multilabel else classes)
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
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y), y

    def _class_weights(self, y: Any, incremental: bool) -> np.ndarray | None:
        """compute_sample_weight(class_weight, y): "balanced" is n / (n_classes · n_c)."""
        cw = self.class_weight
        if cw is None:
            return None
        balanced = isinstance(cw, str) and cw == "balanced"
        if not (balanced or isinstance(cw, Mapping)):
            raise ValueError(f"class_weight must be 'balanced', a dict or None, got {cw!r}")
        if incremental and balanced:
            raise ValueError(
                "class_weight='balanced' needs all the data at once, which partial_fit does not "
                "see; give a dict of class weights, e.g. computed with compute_class_weight"
            )
        try:
            return np.asarray(compute_sample_weight(cw, y), dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"class_weight: {exc}") from None

    def _task_output(self) -> tuple[str, str]:
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax", "cross_entropy"
        return "sigmoid", "binary_cross_entropy"

    def _decode(self, out: np.ndarray) -> Any:
        return self._label_binarizer.inverse_transform(out.ravel() if out.shape[1] == 1 else out)

    def _score_output(self, out: np.ndarray, y: Any, sample_weight: Any) -> float:
        return float(accuracy_score(y, self._decode(out), sample_weight=sample_weight))

    def predict(self, X: Any) -> Any:
        """The predicted label of each row of X (an indicator row for multi-label targets),
        decoded on the host: ``classes_`` may be strings."""
        return self._decode(np.asarray(to_numpy(self._output(X))))

    def predict_proba(self, X: Any) -> Any:
        """p(class | x), shape (n_samples, n_classes), columns ordered as ``classes_``.

        For two classes, the columns are 1 − σ(z) and σ(z) of the single
        sigmoid output; for multi-label targets, σ(z) of each label. numpy, or
        under ``array_api_dispatch`` an array of X's namespace on X's device.
        """
        out = self._output(X)
        if out.shape[1] == 1:
            xp = namespace_of(out)
            p = xp.reshape(out, (-1,))
            return xp.stack([1 - p, p], axis=1)
        return out

    def predict_log_proba(self, X: Any) -> Any:
        """log p(class | x): the log of :meth:`predict_proba`, as scikit-learn defines it."""
        proba = self.predict_proba(X)
        return namespace_of(proba).log(proba)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def load(path: str | PathLike[str]) -> MLPClassifier | MLPRegressor:
    """The estimator saved at ``path`` by ``save``, whichever of the two it is.

    Raises:
      deltaprop.ModelFileError: the file is missing, not a saved estimator, or
        inconsistent; the message names the file and the fault.
    """
    from ._modelfile import read_estimator

    est = read_estimator(path, {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor})
    assert isinstance(est, MLPClassifier | MLPRegressor)
    return est
