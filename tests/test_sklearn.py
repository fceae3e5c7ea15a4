"""deltaprop.sklearn: scikit-learn's estimator contract, its MLP's numbers, and what it gets wrong.

The estimators reproduce scikit-learn's MLP step for step (same initial θ,
shuffles, batches and stopping rules from the same random_state), so on
single-output problems the fitted parameters agree with scikit-learn's to
rounding; the multi-output regression is where they part, by design (#8349).
"""

from __future__ import annotations

import doctest
import pickle
import warnings
from copy import deepcopy

import numpy as np
import pytest
from sklearn import neural_network as sk_nn
from sklearn.base import clone
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import deltaprop as dp
import deltaprop.sklearn as dps
from deltaprop.sklearn import MLPClassifier, MLPRegressor
from deltaprop.sklearn._modelfile import estimator_metadata

no_convergence_warning = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def digits(m=300):
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X[:m]), y[:m]


def diabetes(m=200):
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X[:m]), (y[:m] - y.mean()) / y.std()


def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# --- scikit-learn's own estimator checks ------------------------------------------------------

_FLOAT32_ROUNDING = (
    "float32 arithmetic: fitting with integer weights and with repeated rows agree to float32 "
    "rounding (~6e-7 relative); the check asks for 1e-7"
)


def _expected_failed_checks(estimator):
    # Only the instances that opt into float32 fail anything, and only on precision they
    # do not promise: the default (float64) instances pass every check.
    if estimator.dtype is not np.float32:
        return {}
    failing = {
        "check_sample_weight_equivalence_on_dense_data": _FLOAT32_ROUNDING,
        "check_sample_weight_equivalence_on_sparse_data": _FLOAT32_ROUNDING,
    }
    if isinstance(estimator, MLPRegressor):
        failing["check_regressor_multioutput"] = (
            "dtype=float32 asks for float32 predictions; the check wants float64 ones "
            "from float64 X"
        )
    return failing


@parametrize_with_checks(
    [
        MLPClassifier(max_iter=100),
        MLPRegressor(max_iter=100),
        MLPClassifier(solver="lbfgs", max_iter=100),
        MLPRegressor(solver="lbfgs", max_iter=100),
        MLPClassifier(max_iter=100, dtype=np.float32),
        MLPRegressor(solver="sgd", max_iter=100, dtype=np.float32),
    ],
    expected_failed_checks=_expected_failed_checks,
)
@no_convergence_warning
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# --- the same numbers as scikit-learn's MLP ---------------------------------------------------

SAME_AS_SKLEARN = {
    "sgd nesterov": ("MLPClassifier", digits, dict(solver="sgd", max_iter=8)),
    "sgd momentum invscaling": (
        "MLPClassifier",
        digits,
        dict(
            solver="sgd",
            nesterovs_momentum=False,
            learning_rate="invscaling",
            learning_rate_init=0.5,
            max_iter=8,
        ),
    ),
    "sgd adaptive, no momentum": (
        "MLPClassifier",
        digits,
        dict(
            solver="sgd",
            momentum=0.0,
            learning_rate="adaptive",
            learning_rate_init=2.0,
            n_iter_no_change=1,
            tol=0.05,
            max_iter=15,
        ),
    ),
    # 300 = 4·64 + 44: the last batch's λ = alpha / 44, not alpha / 64.
    "adam ragged batches": (
        "MLPClassifier",
        digits,
        dict(batch_size=64, alpha=0.05, max_iter=6, activation="tanh"),
    ),
    "adam unshuffled, logistic": (
        "MLPClassifier",
        digits,
        dict(shuffle=False, activation="logistic", max_iter=6),
    ),
    "sgd early stopping, binary": (
        "MLPClassifier",
        lambda: (digits()[0], digits()[1] % 2),
        dict(solver="sgd", early_stopping=True, validation_fraction=0.2, max_iter=12),
    ),
    "lbfgs": ("MLPClassifier", digits, dict(solver="lbfgs", max_iter=40)),
    "lbfgs to tol": ("MLPClassifier", iris, dict(solver="lbfgs", tol=1e-3, max_iter=500)),
    "multi-label": (
        "MLPClassifier",
        lambda: make_multilabel_classification(120, 8, n_classes=4, random_state=0),
        dict(solver="sgd", batch_size=32, max_iter=6),
    ),
    "regression adam": ("MLPRegressor", diabetes, dict(max_iter=6, batch_size=50)),
    "regression early stopping": (
        "MLPRegressor",
        diabetes,
        dict(solver="sgd", learning_rate_init=0.01, early_stopping=True, max_iter=10),
    ),
    "regression lbfgs": ("MLPRegressor", diabetes, dict(solver="lbfgs", max_iter=30)),
}


def _fit_both(kind, data, params, sample_weight=None):
    X, y = data()
    fits = []
    for module in (dps, sk_nn):
        est = getattr(module, kind)(hidden_layer_sizes=(12,), random_state=0, **params)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est.fit(X, y, sample_weight=sample_weight)
        fits.append((est, [type(w.message) for w in caught]))
    return fits


@pytest.mark.parametrize("case", SAME_AS_SKLEARN)
def test_fits_as_scikit_learn_does(case):
    kind, data, params = SAME_AS_SKLEARN[case]
    (ours, our_warnings), (theirs, their_warnings) = _fit_both(kind, data, params)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-10)
    assert our_warnings == their_warnings  # the same ConvergenceWarnings, or none
    if params.get("solver") != "lbfgs":  # scikit-learn keeps no curves for L-BFGS
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        if params.get("early_stopping"):
            assert ours.best_loss_ is theirs.best_loss_ is None
            np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
            # to rounding: the compiled engine sums small products in its own order
            assert ours.best_validation_score_ == pytest.approx(
                theirs.best_validation_score_, rel=1e-12
            )
        else:
            assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-10)


def test_sample_weights_as_scikit_learn_weighs_them():
    w = np.random.default_rng(0).uniform(0, 2, size=300)
    params = dict(batch_size=64, alpha=0.1, max_iter=5)
    (ours, _), (theirs, _) = _fit_both("MLPClassifier", digits, params, sample_weight=w)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


# Side by side with scikit-learn: 5-fold cross-validation, seeded, same hyper-parameters.
SIDE_BY_SIDE = {
    "digits": (
        load_digits,
        "MLPClassifier",
        dict(hidden_layer_sizes=(32,), solver="adam", learning_rate_init=0.01, max_iter=15),
    ),
    "wine": (
        load_wine,
        "MLPClassifier",
        dict(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.01, max_iter=200),
    ),
    "breast_cancer": (
        load_breast_cancer,
        "MLPClassifier",
        dict(hidden_layer_sizes=(32,), solver="lbfgs", alpha=1e-2, max_iter=200),
    ),
    "diabetes": (
        load_diabetes,
        "MLPRegressor",
        dict(
            hidden_layer_sizes=(16,),
            alpha=1.0,
            learning_rate_init=0.01,
            early_stopping=True,
            max_iter=200,
        ),
    ),
}


def side_by_side(name):
    """(deltaprop's, scikit-learn's) 5-fold scores: accuracy, or R² for diabetes."""
    loader, kind, params = SIDE_BY_SIDE[name]
    X, y = loader(return_X_y=True)
    regression = kind == "MLPRegressor"
    cv = (KFold if regression else StratifiedKFold)(5, shuffle=True, random_state=0)
    scores = []
    for module in (dps, sk_nn):
        est = getattr(module, kind)(random_state=0, **params)
        if regression:
            est = TransformedTargetRegressor(est, transformer=StandardScaler())
        scores.append(cross_val_score(make_pipeline(StandardScaler(), est), X, y, cv=cv))
    return scores[0], scores[1]


@pytest.mark.parametrize("name", SIDE_BY_SIDE)
@no_convergence_warning
def test_side_by_side_scores_within_one_and_a_half_points(name):
    ours, theirs = side_by_side(name)
    assert abs(ours.mean() - theirs.mean()) <= 0.015, (ours, theirs)


# --- alpha, weight_decay and the loss reported -------------------------------------------------


def test_alpha_is_lambda_times_the_batch_size():
    # Full batch (L-BFGS): λ = alpha / n. Mini-batches of B: λ = alpha / B.
    X, y = iris()
    n, alpha = X.shape[0], 0.3
    kw = dict(hidden_layer_sizes=(5,), solver="lbfgs", max_iter=300, random_state=0)
    by_alpha = MLPClassifier(alpha=alpha, **kw).fit(X, y)
    by_lambda = MLPClassifier(weight_decay=alpha / n, **kw).fit(X, y)
    np.testing.assert_allclose(by_alpha.network_.params, by_lambda.network_.params, rtol=1e-10)
    assert by_alpha.network_.weight_decay == pytest.approx(alpha / n)
    # loss_ is J(W,b) = data term + (alpha / 2n) Σ W², and network_ computes it.
    Y = np.eye(3)[y]
    assert by_alpha.loss_ == pytest.approx(by_alpha.network_.cost_and_grad(X, Y)[0], rel=1e-12)
    log_p = by_alpha.predict_log_proba(X)
    decay = alpha / (2 * n) * sum(np.sum(c**2) for c in by_alpha.coefs_)
    assert by_alpha.loss_ == pytest.approx(-np.mean(log_p[np.arange(n), y]) + decay, rel=1e-9)

    kw = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=30, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        by_alpha = MLPClassifier(alpha=alpha, **kw).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        by_lambda = MLPClassifier(weight_decay=alpha / 30, **kw).fit(X, y)
    np.testing.assert_allclose(by_alpha.network_.params, by_lambda.network_.params, rtol=1e-12)


def test_multi_output_gradient_is_the_derivative_of_the_reported_loss():
    # scikit-learn's #8349: its MLPRegressor reports ½·mean over samples and outputs but
    # returns the gradient of the sum over outputs. Here the loss reported is the function
    # the gradient differentiates.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = np.column_stack([X[:, 0] * X[:, 1], np.sin(X[:, 2]), X.sum(axis=1)])
    n, k, alpha = 40, 3, 0.1
    kw = dict(hidden_layer_sizes=(5,), activation="tanh", solver="lbfgs", alpha=alpha)
    with pytest.warns(ConvergenceWarning):
        est = MLPRegressor(max_iter=5, random_state=0, **kw).fit(X, Y)
    net = est.network_
    theta = net.params.copy()

    def J(th):
        return net.cost_and_grad(X, Y, params=th)[0]

    def decay():
        return alpha / (2 * n) * sum(np.sum(c**2) for c in est.coefs_)

    # The reported loss is J = (1/n) Σᵢ ½‖h(x⁽ⁱ⁾) − y⁽ⁱ⁾‖² + (alpha / 2n) Σ W², at θ.
    assert est.loss_ == pytest.approx(J(theta), rel=1e-12)
    half_sse = 0.5 * np.sum((est.predict(X) - Y) ** 2) / n
    assert est.loss_ == pytest.approx(half_sse + decay(), rel=1e-12)

    _, grad = net.cost_and_grad(X, Y)
    h = 1e-6
    basis = np.eye(theta.size)
    fd = np.array([(J(theta + h * e) - J(theta - h * e)) / (2 * h) for e in basis])
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)

    # scikit-learn's reported loss at the same θ: the data term divided by k outputs. Its
    # derivative is not that gradient (the check the issue asks for, failed as #8349 says).
    def sklearn_loss(th):
        out = net.cost_and_grad(X, Y, params=th)[0] - decay()  # the data term, θ's decay fixed
        return out / k + decay()

    fd_sk = np.array(
        [(sklearn_loss(theta + h * e) - sklearn_loss(theta - h * e)) / (2 * h) for e in basis]
    )
    assert not np.allclose(grad, fd_sk, rtol=1e-2)
    with pytest.warns(ConvergenceWarning):
        theirs = sk_nn.MLPRegressor(max_iter=5, random_state=0, **kw).fit(X, Y)
    their_half_mse = 0.5 * np.mean((theirs.predict(X) - Y) ** 2)
    their_decay = alpha / (2 * n) * sum(np.sum(c**2) for c in theirs.coefs_)
    assert theirs.loss_ == pytest.approx(their_half_mse + their_decay, rel=1e-9)


def test_validation_loss_curve_is_J_on_the_held_out_rows():
    from sklearn.model_selection import train_test_split

    X, y = diabetes()
    alpha = 0.5
    est = MLPRegressor(
        hidden_layer_sizes=(6,),
        solver="sgd",
        alpha=alpha,
        early_stopping=True,
        max_iter=1,
        random_state=3,
    )
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    # scikit-learn's split: the same RandomState, after drawing W and b of each layer.
    rs = np.random.RandomState(3)
    for fan_in, fan_out in [(10, 6), (6, 1)]:
        rs.uniform(size=(fan_in, fan_out))
        rs.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rs, test_size=0.1)
    # One epoch: its parameters are the best, so they are the ones kept.
    m = X_val.shape[0]
    data = 0.5 * np.mean((est.predict(X_val) - y_val) ** 2)
    decay = alpha / (2 * m) * sum(np.sum(c**2) for c in est.coefs_)
    assert est.val_loss_curve_ == [pytest.approx(data + decay, rel=1e-12)]
    assert est.validation_scores_ == [pytest.approx(est.score(X_val, y_val), rel=1e-12)]


# --- partial_fit, warm_start, dtype ---------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_continues_where_it_stopped(solver):
    # k partial_fit calls over unshuffled data are k epochs of one fit: the optimizer's
    # state (Adam's moments and step count, the momentum) carries from call to call.
    X, y = digits(150)
    kw = dict(hidden_layer_sizes=(8,), solver=solver, shuffle=False, batch_size=40)
    with pytest.warns(ConvergenceWarning):
        whole = MLPClassifier(max_iter=4, random_state=0, **kw).fit(X, y)
    parts = MLPClassifier(random_state=0, **kw)
    for _ in range(4):
        parts.partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_array_equal(parts.network_.params, whole.network_.params)
    assert parts.loss_curve_ == whole.loss_curve_
    assert parts.t_ == whole.t_ == 4 * 150
    assert parts.n_iter_ == 1  # as scikit-learn: one epoch per call
    theirs = sk_nn.MLPClassifier(random_state=0, **kw)
    for _ in range(4):
        theirs.partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_allclose(parts.coefs_[0], theirs.coefs_[0], rtol=1e-9, atol=1e-12)


def test_warm_start_continues_from_the_fitted_parameters():
    X, y = iris()
    est = MLPClassifier((6,), solver="lbfgs", max_iter=5, warm_start=True, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    first = est.loss_
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.loss_ < first
    assert len(est.loss_curve_) == 10
    est.set_params(hidden_layer_sizes=(7,))
    with pytest.raises(ValueError, match="layer sizes"):
        est.fit(X, y)


@no_convergence_warning
def test_float32_data_stays_float32():
    X, y = iris()
    X32 = X.astype(np.float32)
    kw = dict(hidden_layer_sizes=(6,), max_iter=5, random_state=0)
    est = MLPClassifier(**kw).fit(X32, y)
    assert est.network_.dtype == "float32"
    assert all(c.dtype == np.float32 for c in est.coefs_ + est.intercepts_)
    assert est.predict_proba(X32).dtype == np.float32
    # scikit-learn keeps float32 too, and takes the same steps.
    theirs = sk_nn.MLPClassifier(**kw).fit(X32, y)
    np.testing.assert_allclose(est.coefs_[0], theirs.coefs_[0], rtol=1e-4, atol=1e-5)
    # dtype overrides the data's.
    assert MLPClassifier(dtype=np.float32, **kw).fit(X, y).coefs_[0].dtype == np.float32
    assert MLPClassifier(dtype="float64", **kw).fit(X32, y).coefs_[0].dtype == np.float64
    regressor = MLPRegressor(solver="lbfgs", dtype=np.float32, **kw).fit(X, X[:, :2])
    assert regressor.predict(X).dtype == np.float32


# --- the scikit-learn API around the estimators ----------------------------------------------


@no_convergence_warning
def test_pipeline_grid_search_cross_validation_clone():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((5,), solver="lbfgs", max_iter=200, random_state=0)
    )
    grid = GridSearchCV(
        pipe,
        {"mlpclassifier__alpha": [1e-4, 1.0], "mlpclassifier__hidden_layer_sizes": [(3,), (5,)]},
        cv=3,
    ).fit(X, y)
    assert grid.best_score_ > 0.9
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.9
    est = grid.best_estimator_[-1]
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "network_") and not hasattr(copy, "coefs_")


def test_get_params_set_params_round_trip():
    est = MLPRegressor(
        "squared_error",
        (7, 3),
        "tanh",
        solver="sgd",
        weight_decay=1e-3,
        dtype=np.float32,
        output_activation="identity",
        cost="squared_error",
    )
    params = est.get_params()
    other = MLPRegressor().set_params(**params)
    assert other.get_params() == params
    assert repr(other) == repr(est)
    assert params["alpha"] is None and params["weight_decay"] == 1e-3


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: MLPClassifier(alpha=0.1, weight_decay=0.01), "alpha=0.1 and weight_decay=0.01"),
        (lambda: MLPClassifier(solver="newton"), "solver: unknown solver 'newton'"),
        (lambda: MLPClassifier(activation="swish"), "activation: unknown activation 'swish'"),
        (lambda: MLPClassifier(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes"),
        (lambda: MLPClassifier(learning_rate="cyclic"), "learning_rate: unknown"),
        (lambda: MLPClassifier(output_activation="cube"), "output_activation: unknown"),
        (lambda: MLPClassifier(cost="hinge"), "cost: unknown cost 'hinge'"),
        (lambda: MLPClassifier(dtype="float16"), "dtype"),
        (lambda: MLPClassifier(momentum=1.5), "momentum"),
        (lambda: MLPClassifier(batch_size=0), "batch_size"),
        (lambda: MLPClassifier(max_iter=0), "max_iter"),
        (lambda: MLPClassifier(random_state="seed"), "random_state: 'seed' cannot be used"),
        (lambda: MLPRegressor(loss="huber"), "loss: unknown loss 'huber'"),
        (lambda: MLPClassifier(early_stopping_metric="r2"), "early_stopping_metric"),
        (lambda: MLPClassifier(class_weight="auto"), "class_weight must be"),
    ],
)
def test_parameter_errors_name_the_argument(make, match):
    X, y = iris()
    with pytest.raises(ValueError, match=match):
        make().fit(X, y)


def test_other_errors():
    X, y = iris()
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as error:
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1, 2])
    assert "partial_fit is only available for the stochastic solvers" in str(error.value.__cause__)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    for weights, match in [
        (np.zeros(150), "every weight is zero"),
        (-np.ones(150), "must be ≥ 0"),
        (np.ones(149), r"shape \(150,\)"),
    ]:
        with pytest.raises(ValueError, match=f"sample_weight.*{match}"):
            MLPClassifier().fit(X, y, sample_weight=weights)
    with pytest.raises(ValueError, match="cost 'cross_entropy' needs output_activation"):
        MLPClassifier(cost="cross_entropy", output_activation="sigmoid").fit(X, y)


def test_convergence_warning_when_max_iter_is_reached():
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((4,), solver="sgd", max_iter=2, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 2"):
        MLPClassifier((4,), solver="lbfgs", max_iter=2, random_state=0).fit(X, y)
    # Converged runs stay silent (warnings are errors here).
    MLPClassifier((4,), solver="lbfgs", tol=1e-2, max_iter=1000, random_state=0).fit(X, y)
    MLPClassifier((4,), solver="sgd", tol=10.0, random_state=0).fit(X, y)


def test_multi_label_uses_sigmoid_outputs_and_binary_cross_entropy():
    X, Y = make_multilabel_classification(100, 6, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    est = MLPClassifier((8,), solver="lbfgs", max_iter=500, random_state=0).fit(X, Y)
    assert est.out_activation_ == "logistic"
    assert est.network_.cost.name == "binary_cross_entropy"
    assert est.predict(X).shape == Y.shape and set(np.unique(est.predict(X))) <= {0, 1}
    assert est.predict_proba(X).shape == Y.shape
    assert est.score(X, Y) > 0.9  # subset accuracy: every label of a row right


def test_coefs_and_intercepts_are_views_into_theta():
    X, y = iris()
    est = MLPClassifier((4,), solver="lbfgs", tol=1e-2, random_state=0).fit(X, y)
    assert all(np.shares_memory(c, est.network_.params) for c in est.coefs_ + est.intercepts_)
    assert est.coefs_[0].shape == (4, 4) and est.coefs_[1].shape == (4, 3)
    np.testing.assert_array_equal(est.coefs_[0], est.network_.W[0].T)
    est.coefs_ = [np.zeros((4, 4)), np.zeros((4, 3))]
    est.intercepts_ = [np.zeros(4), np.array([0.0, 5.0, 0.0])]
    assert np.all(est.predict(X) == 1)
    with pytest.raises(ValueError, match=r"coefs_\[1\] must have shape \(4, 3\)"):
        est.coefs_ = [np.zeros((4, 4)), np.zeros((3, 4))]


def test_prints_only_when_verbose(capsys):
    X, y = iris()
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", tol=10.0, random_state=0)
    MLPClassifier(**kw).fit(X, y)
    assert capsys.readouterr().out == ""
    MLPClassifier(verbose=True, **kw).fit(X, y)
    assert capsys.readouterr().out.startswith("Iteration 1, loss = ")


def test_divergence_raises_scikit_learns_value_error():
    # scikit-learn's rule, not train's TrainingDiverged: the fit that leaves θ
    # non-finite raises ValueError with scikit-learn's message.
    X, y = diabetes()
    est = MLPRegressor(
        hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e6, random_state=0
    )
    with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
        est.fit(X, y * 1e10)


# --- pickling and model files ----------------------------------------------------------------


def _fitted_examples():
    X, y = iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    Xm, Ym = make_multilabel_classification(80, 5, n_classes=3, random_state=0)
    kw = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [
            (MLPClassifier(dtype=np.float32, early_stopping=True, **kw).fit(X, names), X),
            (MLPClassifier(solver="sgd", **kw).fit(Xm, Ym), Xm),
            (MLPRegressor(solver="lbfgs", weight_decay=1e-3, **kw).fit(X, X[:, :2]), X),
        ]


FITTED_ATTRIBUTES = (
    "n_features_in_",
    "n_outputs_",
    "n_layers_",
    "out_activation_",
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "val_loss_curve_",
)


def _same_estimator(a, b, X):
    assert type(a) is type(b)
    assert a.get_params() == b.get_params()
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    for name in FITTED_ATTRIBUTES:
        assert getattr(a, name) == getattr(b, name), name
    if hasattr(a, "classes_"):
        np.testing.assert_array_equal(a.classes_, b.classes_)
        assert a.classes_.dtype == b.classes_.dtype
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_pickle_and_deepcopy_round_trip():
    for est, X in _fitted_examples():
        for copy in (pickle.loads(pickle.dumps(est)), deepcopy(est)):
            _same_estimator(est, copy, X)
            assert np.shares_memory(copy.coefs_[0], copy.network_.params)
    assert pickle.loads(pickle.dumps(MLPClassifier(alpha=1.0))).alpha == 1.0


def test_model_file_round_trip(tmp_path):
    for i, (est, X) in enumerate(_fitted_examples()):
        path = tmp_path / f"model{i}.safetensors"
        est.save(path)
        for loaded in (type(est).load(path), dps.load(path)):
            _same_estimator(est, loaded, X)
        assert dp.load_metadata(path)["extra"]["sklearn"]["estimator"] == type(est).__name__
        np.testing.assert_array_equal(dp.load(path).params, est.network_.params)
    # A loaded estimator goes on learning: partial_fit starts its solver afresh.
    loaded = MLPClassifier.load(tmp_path / "model1.safetensors")
    Xm, Ym = make_multilabel_classification(80, 5, n_classes=3, random_state=0)
    before = loaded.network_.params.copy()
    loaded.partial_fit(Xm, Ym)
    assert not np.array_equal(before, loaded.network_.params)


def test_model_file_errors(tmp_path):
    est, _ = _fitted_examples()[2]
    path = tmp_path / "regressor.safetensors"
    est.save(path)
    with pytest.raises(dp.ModelFileError, match="holds a 'MLPRegressor', expected MLPClassifier"):
        MLPClassifier.load(path)
    plain = tmp_path / "plain.safetensors"
    est.network_.save(plain)
    with pytest.raises(dp.ModelFileError, match="not a saved scikit-learn estimator"):
        dps.load(plain)
    record = estimator_metadata(est)
    record["sklearn"]["fitted"]["n_features_in_"] = 5
    bad = tmp_path / "bad.safetensors"
    est.network_.save(bad, metadata=record)
    with pytest.raises(dp.ModelFileError, match=r"bad\.safetensors: .*n_features_in_=5"):
        dps.load(bad)
    with pytest.raises(dp.ModelFileError, match="no such file"):
        dps.load(tmp_path / "missing.safetensors")


def test_an_estimator_file_from_before_the_newer_parameters_loads(tmp_path):
    from deltaprop.sklearn._modelfile import ADDED_PARAMS

    for i, (est, X) in enumerate(_fitted_examples()[:3]):
        record = estimator_metadata(est)
        params = record["sklearn"]["params"]
        for name in ADDED_PARAMS:
            params.pop(name, None)  # a file written before these parameters existed
        old = tmp_path / f"old{i}.safetensors"
        est.network_.save(old, metadata=record)
        loaded = dps.load(old)
        _same_estimator(est, loaded, X)
        fresh = type(est)().get_params()
        assert all(loaded.get_params()[n] == fresh[n] for n in ADDED_PARAMS if n in fresh)


def test_pandas_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = iris()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = MLPClassifier((4,), solver="lbfgs", tol=1e-2, random_state=0).fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c", "d"])
    assert est.score(frame, y) > 0.9
    path = tmp_path / "frame.safetensors"
    est.save(path)
    np.testing.assert_array_equal(dps.load(path).feature_names_in_, est.feature_names_in_)
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        est.predict(frame.rename(columns={"a": "z"}))


def test_docstring_examples():
    import deltaprop.sklearn._estimators as estimators
    import deltaprop.sklearn._regressor as regressor

    for module in (dps, estimators, regressor):
        assert doctest.testmod(module).failed == 0


def test_a_batch_whose_weights_are_all_zero_still_counts_its_examples():
    # The epoch's loss is Σ_B J_B n_B / m over all m examples, as scikit-learn averages
    # it, a skipped (all-zero-weight) batch's examples included. Here the first two
    # batches weigh nothing: the updates are those of a fit without those 200 rows,
    # and the loss is that fit's times (m − 200) / m.
    X, y = digits()
    w = np.ones(len(y))
    w[:200] = 0.0
    kw = dict(hidden_layer_sizes=(12,), solver="sgd", batch_size=100, max_iter=3)
    kw.update(shuffle=False, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        zero = dps.MLPClassifier(**kw).fit(X, y, sample_weight=w)
        rest = dps.MLPClassifier(**kw).fit(X[200:], y[200:])
    np.testing.assert_allclose(zero.coefs_[0], rest.coefs_[0], rtol=1e-12)
    ratio = (len(y) - 200) / len(y)
    np.testing.assert_allclose(zero.loss_curve_, np.multiply(rest.loss_curve_, ratio), rtol=1e-12)
