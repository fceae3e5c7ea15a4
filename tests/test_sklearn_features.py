"""What deltaprop's estimators add to scikit-learn's: Poisson, class weights, loss-based
early stopping, callbacks, and scikit-learn's own divergence and convergence rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_sample_weight

import deltaprop as dp
from deltaprop.sklearn import MLPClassifier, MLPRegressor, load


def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def counts(seed=0, m=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 3))
    return X, rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.2)).astype(float)


# --- the Poisson cost -----------------------------------------------------------------------


@pytest.mark.parametrize("lam,depth", [(0.0, 1), (1e-3, 2), (0.1, 3)])
def test_poisson_cost_passes_the_gradient_check(lam, depth):
    X, y = counts(depth, m=8)
    Y = np.column_stack([y, y[::-1]])  # two count outputs, zeros among them
    net = dp.Network([3, *([4] * depth), 2], activation="tanh", cost="poisson", seed=depth)
    net.weight_decay = lam
    assert net.output_activation.name == "exp"
    res = dp.check_gradient(net, X, Y, epsilon=1e-5)
    assert res.relative_error < 1e-9 and res.ok


def test_poisson_cost_is_half_the_poisson_deviance():
    # J(x, y) = y log(y/μ) − y + μ with μ = e^z, summed over outputs: at y = 0 it is μ;
    # at y = 2, z = log 2 it is 0 (its minimum); at y = 1, z = 0 it is 0 as well.
    cost = dp.costs.COSTS["poisson"]
    z = np.array([[0.3], [math.log(2.0)], [0.0]])
    y = np.array([[0.0], [2.0], [1.0]])
    rows = cost.loss_rows(np, z, np.exp(z), y)
    np.testing.assert_allclose(rows, [math.exp(0.3), 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(cost.output_delta(np, None, z, np.exp(z), y), np.exp(z) - y)


def test_poisson_trains_with_train_and_refuses_negative_counts():
    X, y = counts()
    net = dp.Network([3, 5, 1], cost="poisson", activation="tanh", seed=0)
    before = net.cost_and_grad(X, y[:, None])[0]
    dp.train(net, X, y[:, None], optimizer="lbfgs", epochs=30)
    assert net.cost_and_grad(X, y[:, None])[0] < before
    with pytest.raises(ValueError, match="poisson needs targets ≥ 0"):
        net.cost_and_grad(X, -y[:, None] - 1)


def test_poisson_regressor_predicts_rates_and_saves(tmp_path):
    X, y = counts()
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), solver="lbfgs", random_state=0)
    est.fit(X, y)
    assert est.out_activation_ == "exp" and est.network_.cost.name == "poisson"
    assert np.all(est.predict(X) > 0)
    est.save(tmp_path / "p.safetensors")
    np.testing.assert_array_equal(load(tmp_path / "p.safetensors").predict(X), est.predict(X))
    with pytest.raises(ValueError, match="loss='poisson' and cost='squared_error'"):
        MLPRegressor(loss="poisson", cost="squared_error").fit(X, y)


# --- divergence and convergence, as scikit-learn has them ------------------------------------


def test_nan_validation_scores_are_recorded_and_the_best_parameters_kept():
    X, y = iris()
    est = MLPRegressor(
        hidden_layer_sizes=(20,),
        solver="sgd",
        learning_rate_init=1.0,
        max_iter=15,
        early_stopping=True,
        activation="identity",
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    scores = np.array(est.validation_scores_)
    assert np.isnan(scores[-1]) and len(scores) == 15  # trains on, as scikit-learn does
    assert np.all(np.isfinite(est.network_.params))
    assert est.best_validation_score_ == np.nanmax(scores)
    assert math.isfinite(est.score(X, y))


def test_train_keeps_training_diverged():
    X, y = iris()
    net = dp.Network([4, 8, 1], activation="identity", output_activation="identity", seed=0)
    with pytest.raises(dp.TrainingDiverged):
        dp.train(net, X, y[:, None] * 1e200, optimizer="sgd", learning_rate=10.0, epochs=5)


def test_lbfgs_warm_start_of_a_converged_model_does_not_move():
    X, y = iris()
    est = MLPClassifier((5,), solver="lbfgs", tol=1e-3, max_iter=2000, random_state=0)
    est.fit(X, y)
    theta = est.network_.params.copy()
    est.set_params(warm_start=True).fit(X, y)
    assert est.n_iter_ == 0
    np.testing.assert_array_equal(est.network_.params, theta)


def test_lbfgs_start_that_meets_tol_is_kept_as_in_scikit_learn():
    # scipy tests the gradient at θ₀ before its first step: tol=1 stops there.
    from sklearn.neural_network import MLPClassifier as Theirs

    X, y = iris()
    ours = MLPClassifier((5,), solver="lbfgs", tol=1.0, random_state=0).fit(X, y)
    theirs = Theirs((5,), solver="lbfgs", tol=1.0, random_state=0).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 0 and ours.loss_curve_ == []
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("limit", [dict(max_iter=3), dict(max_fun=5)])
def test_lbfgs_warns_whenever_a_budget_ends_the_run(limit):
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match="max_"):
        MLPClassifier((5,), solver="lbfgs", tol=0.0, random_state=0, **limit).fit(X, y)


# --- class weights -------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_balanced_class_weight_equals_the_matching_sample_weight(solver):
    X, y = iris()
    keep = np.r_[0:50, 50:70, 100:150]  # 50, 20 and 50 examples
    X, y = X[keep], y[keep]
    kw = dict(hidden_layer_sizes=(6,), solver=solver, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        by_class = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
        w = compute_sample_weight("balanced", y)  # n / (3 n_c): 0.8, 2.0, 0.8
        np.testing.assert_allclose(np.unique(w), [0.8, 2.0])
        by_sample = MLPClassifier(**kw).fit(X, y, sample_weight=w)
        sw = np.linspace(0.5, 1.5, len(y))
        both = MLPClassifier(class_weight={0: 1.0, 1: 3.0, 2: 0.5}, **kw).fit(X, y, sw)
        product = MLPClassifier(**kw).fit(X, y, sw * np.array([1.0, 3.0, 0.5])[y])
    np.testing.assert_array_equal(by_class.network_.params, by_sample.network_.params)
    np.testing.assert_allclose(both.network_.params, product.network_.params, rtol=1e-12)


def test_class_weight_dict_is_saved_with_its_keys_and_partial_fit_refuses_balanced(tmp_path):
    X, y = iris()
    est = MLPClassifier((4,), class_weight={0: 1.0, 2: 2.5}, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    est.save(tmp_path / "c.safetensors")
    assert load(tmp_path / "c.safetensors").class_weight == {0: 1.0, 2: 2.5}
    with pytest.raises(ValueError, match="partial_fit does not see"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


# --- early stopping on the validation loss, callbacks ---------------------------------------


def test_early_stopping_on_the_validation_loss_restores_the_best_parameters():
    X, y = load_diabetes(return_X_y=True)
    thetas = []
    est = MLPRegressor(
        hidden_layer_sizes=(10,),
        learning_rate_init=0.05,
        early_stopping=True,
        early_stopping_metric="loss",
        n_iter_no_change=5,
        max_iter=300,
        random_state=0,
    )
    seen = []

    def keep(info):
        thetas.append(info.net.params.copy())
        seen.append(info.history.val_loss[-1])  # the callbacks see the validation J too

    est.fit(X, y / 100, callbacks=[keep])
    curve = np.array(est.val_loss_curve_)
    np.testing.assert_array_equal(seen, curve)
    best = int(np.argmin(curve))
    assert len(curve) == est.n_iter_ == best + 5 + 2  # best, then n_iter_no_change + 1 more
    assert est.best_val_loss_ == curve[best]
    np.testing.assert_array_equal(est.network_.params, thetas[best])
    by_score = MLPRegressor(**{**est.get_params(), "early_stopping_metric": "score"})
    by_score.fit(X, y / 100)
    assert by_score.best_validation_score_ == max(by_score.validation_scores_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_callback_that_returns_true_stops_cleanly(solver):
    X, y = iris()
    seen = []

    def stop_after_three(info: dp.EpochEnd) -> bool:
        seen.append(len(info.history.train_loss))
        return info.epoch == 2

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a clean stop: no warning
        est = MLPClassifier((5,), solver=solver, random_state=0)
        est.fit(X, y, callbacks=[stop_after_three])
    assert seen == [1, 2, 3] and est.n_iter_ == 3 and len(est.loss_curve_) == 3
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        est.fit(X, y, callbacks=["stop"])


@pytest.mark.skipif(
    not hasattr(MLPClassifier(), "set_callbacks"), reason="scikit-learn < 1.9: no sklearn.callback"
)
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_scikit_learns_fit_callback_sees_each_epoch_and_can_stop(solver):
    X, y = iris()

    class StopAtThree:
        def __init__(self):
            self.events, self.scores = [], []

        def setup(self, estimator, context):
            self.events.append("setup")

        def teardown(self, estimator, context):
            self.events.append("teardown")

        def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
            self.events.append(f"begin {context.task_name}")

        def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator=None):
            self.events.append(f"end {context.task_name}")
            if context.task_name == "epoch" and fitted_estimator is not None:
                self.scores.append(fitted_estimator.score(X, y))
                return len(self.scores) == 3
            return False

    callback = StopAtThree()
    est = MLPClassifier((5,), solver=solver, random_state=0).set_callbacks(callback)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(callback.scores) == 3
    assert callback.scores[-1] == est.score(X, y)  # the fitted copy is the epoch's network
    epochs = ["begin epoch", "end epoch"] * 4  # the fourth begun, ended empty after the stop
    assert callback.events == ["setup", "begin fit", *epochs, "end fit", "teardown"]


def test_bad_poisson_targets_and_class_weights_are_named():
    with pytest.raises(ValueError, match=r"y\[1\] is -0\.5: loss='poisson' needs targets ≥ 0"):
        MLPRegressor(loss="poisson").fit(np.eye(3), [1.0, -0.5, 2.0])
    with pytest.raises(ValueError, match="class_weight must be 'balanced', a dict or None"):
        MLPClassifier(class_weight=np.array([1.0, 2.0])).fit(np.eye(2), [0, 1])


def test_output_only_activations_are_refused_on_hidden_layers():
    with pytest.raises(ValueError, match="activation: unknown activation 'exp'"):
        MLPClassifier(activation="exp").fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="'exp' is an output activation; hidden layers take"):
        dp.Network([2, 3, 1], activation="exp")
    assert "exp" not in dp.activations.HIDDEN_ACTIVATIONS and "exp" in dp.ACTIVATIONS
