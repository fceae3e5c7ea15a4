"""Sparse input: scipy.sparse X equals dense X everywhere, and is never densified."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

import deltaprop as dp
from deltaprop.objective import Batch, NetworkObjective
from deltaprop.sklearn import MLPClassifier, MLPRegressor

FORMATS = [sp.csr_matrix, sp.csc_matrix, sp.coo_matrix, sp.csr_array, sp.csc_array, sp.coo_array]


class NoDense(sp.csr_array):
    """A CSR array that fails the test if anything makes a dense copy of it."""

    def toarray(self, *args, **kwargs):
        raise AssertionError("densified")

    def todense(self, *args, **kwargs):
        raise AssertionError("densified")

    def __array__(self, *args, **kwargs):
        raise AssertionError("densified")


def sparse_data(seed=0, m=90, n=12, classes=3):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, m)
    X = rng.normal(size=(m, n)) + 1.5 * np.eye(classes, n)[labels]
    X[rng.uniform(size=X.shape) < 0.6] = 0.0  # 60 % zeros
    return X, labels


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("engine", ["numpy", "reference"])
def test_network_computes_the_same_from_sparse_x(fmt, engine):
    X, labels = sparse_data()
    Y = np.eye(3)[labels]
    net = dp.Network(
        [12, 7, 5, 3], activation="tanh", cost="cross_entropy", weight_decay=0.01, seed=0
    )
    np.testing.assert_allclose(net.predict(fmt(X)), net.predict(X), rtol=1e-12, atol=1e-15)
    J_dense, g_dense = net.cost_and_grad(X, Y, sample_weight=np.linspace(0.5, 2, 90))
    J_sparse, g_sparse = net.cost_and_grad(fmt(X), Y, sample_weight=np.linspace(0.5, 2, 90))
    assert J_sparse == pytest.approx(J_dense, rel=1e-12)
    np.testing.assert_allclose(g_sparse, g_dense, rtol=1e-12, atol=1e-15)
    obj = NetworkObjective(net, engine=engine)
    x = net.check_X(fmt(X))
    assert sp.issparse(x) and x.format == "csr"
    g_obj, g_ref = np.empty(net.n_params), np.empty(net.n_params)
    terms = obj.evaluate(net.params, Batch(x, Y), g_obj)
    ref = NetworkObjective(net, engine="reference").evaluate(net.params, Batch(X, Y), g_ref)
    assert terms.parts[0] == pytest.approx(ref.parts[0], rel=1e-12)
    np.testing.assert_allclose(g_obj, g_ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("engine", ["numpy", "reference"])
@pytest.mark.parametrize(
    "optimizer,batch_size",
    [("gd", None), ("sgd", 16), ("adam", 10), ("nesterov", 32), ("lbfgs", None)],
)
def test_training_on_sparse_x_equals_training_on_dense_x(engine, optimizer, batch_size):
    X, labels = sparse_data()
    Y = np.eye(3)[labels]
    nets = []
    for data in (X, sp.csr_matrix(X), sp.coo_array(X)):
        net = dp.Network(
            [12, 8, 3], activation="relu", cost="cross_entropy", weight_decay=1e-3, seed=1
        )
        h = dp.train(
            NetworkObjective(net, engine=engine),
            data,
            Y,
            optimizer=optimizer,
            batch_size=batch_size,
            learning_rate=0.05,
            epochs=8,
            validation=0.2,
            seed=4,
        )
        nets.append((net.params.copy(), h))
    for params, h in nets[1:]:
        np.testing.assert_allclose(params, nets[0][0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(h.train_loss, nets[0][1].train_loss, rtol=1e-12)
        np.testing.assert_allclose(h.val_loss, nets[0][1].val_loss, rtol=1e-12)


def test_mini_batches_are_gathered_as_sparse_rows_and_nothing_is_densified():
    X, labels = sparse_data()
    Y = np.eye(3)[labels]
    seen = []

    class Spy(NetworkObjective):
        def evaluate(self, theta, batch, grad):
            seen.append(type(batch.x))
            return super().evaluate(theta, batch, grad)

    for dtype in ("float64", "float32"):
        net = dp.Network([12, 8, 3], cost="cross_entropy", dtype=dtype, seed=0)
        dp.train(
            Spy(net),
            NoDense(X),
            Y,
            optimizer="adam",
            batch_size=20,
            epochs=2,
            validation=0.1,
            dropout=0.2,
        )
        assert net.params.dtype == np.dtype(dtype)
        assert net.predict(NoDense(X)).dtype == np.dtype(dtype)
        assert net.check_X(NoDense(X)).dtype == np.dtype(dtype)
    assert seen and all(issubclass(kind, sp.sparray | sp.spmatrix) for kind in seen)


def test_sparse_x_errors_name_x():
    net = dp.Network([4, 3, 2], seed=0)
    X = sp.csr_array(np.eye(5, 4))
    with pytest.raises(ValueError, match=r"X has 5 features, the network's input layer has 4"):
        net.predict(sp.csr_array(np.eye(5)))
    bad = X.copy()
    bad.data[2] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN at row 2, column 2"):
        net.predict(bad)
    with pytest.raises(
        ValueError, match=r"X is a scipy.sparse 'bsr' .* expected one of csr, csc, coo"
    ):
        net.predict(sp.bsr_array(np.eye(5, 4)))
    with pytest.raises(ValueError, match=r"X must hold real numbers, got dtype complex"):
        net.predict(X.astype(complex))
    with pytest.raises(ValueError, match=r"Y is a scipy.sparse .* targets must be dense"):
        net.cost_and_grad(X, sp.csr_array(np.ones((5, 2))))
    f32 = dp.Network([4, 3, 2], dtype="float32", seed=0)
    with pytest.raises(ValueError, match=r"X has 1e\+300 at row 0, column 0, beyond .* float32"):
        f32.predict(sp.csr_array(np.eye(5, 4) * 1e300))


def test_sparse_x_needs_the_numpy_namespace():
    pytest.importorskip("array_api_strict")
    net = dp.Network([4, 3, 2], seed=0, xp="array_api_strict")
    with pytest.raises(
        ValueError, match=r"X is a scipy.sparse csr_array; sparse input needs the numpy"
    ):
        net.predict(sp.csr_array(np.eye(5, 4)))


def test_integer_sparse_x_is_converted_not_refused():
    net = dp.Network([4, 3, 2], seed=0)
    counts = sp.csr_array(np.array([[0, 2, 0, 1], [3, 0, 0, 0]]))
    np.testing.assert_allclose(net.predict(counts), net.predict(counts.toarray().astype(float)))


# --- the estimators: each solver, fit, partial_fit, predict ------------------------------------


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_estimators_fit_sparse_x_as_dense_x(solver, kind):
    X, labels = sparse_data(seed=1)
    if kind == "classifier":
        make, y = MLPClassifier, labels
    else:
        make, y = MLPRegressor, X[:, :2].sum(1) + 0.5 * labels
    kw = dict(
        hidden_layer_sizes=(9, 6),
        solver=solver,
        max_iter=15,
        random_state=0,
        learning_rate_init=0.01,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = make(**kw).fit(X, y)
        for fmt in (sp.csr_matrix, sp.csc_array, sp.coo_matrix):
            est = make(**kw).fit(fmt(X), y)
            for a, b in zip(est.coefs_ + est.intercepts_, dense.coefs_ + dense.intercepts_):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(est.loss_curve_, dense.loss_curve_, rtol=1e-12)
            if kind == "regressor":
                np.testing.assert_allclose(est.predict(fmt(X)), dense.predict(X), rtol=1e-12)
            else:
                np.testing.assert_array_equal(est.predict(fmt(X)), dense.predict(X))
                np.testing.assert_allclose(
                    est.predict_proba(NoDense(X)), dense.predict_proba(X), rtol=1e-12, atol=1e-14
                )


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_partial_fit_and_early_stopping_on_sparse_x(kind):
    X, labels = sparse_data(seed=2, m=120)
    make = MLPClassifier if kind == "classifier" else MLPRegressor
    y = labels if kind == "classifier" else X[:, 0] - X[:, 3]
    extra = {"classes": [0, 1, 2]} if kind == "classifier" else {}
    dense, sparse = (
        make(hidden_layer_sizes=(8,), random_state=0),
        make(hidden_layer_sizes=(8,), random_state=0),
    )
    for _ in range(3):
        dense.partial_fit(X, y, **extra)
        sparse.partial_fit(sp.csr_array(X), y, **extra)
    for a, b in zip(sparse.coefs_, dense.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    kw = dict(hidden_layer_sizes=(8,), random_state=0, early_stopping=True, max_iter=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        d = make(**kw).fit(X, y)
        s = make(**kw).fit(sp.csc_matrix(X), y)
    np.testing.assert_allclose(s.validation_scores_, d.validation_scores_, rtol=1e-10)
    # a model fitted on dense X predicts sparse X, and the other way round
    if kind == "classifier":
        np.testing.assert_array_equal(d.predict(sp.csr_matrix(X)), s.predict(X))
    else:
        np.testing.assert_allclose(d.predict(sp.csr_matrix(X)), s.predict(X), rtol=1e-10)


def test_estimators_declare_sparse_input():
    assert MLPClassifier().__sklearn_tags__().input_tags.sparse
    assert MLPRegressor().__sklearn_tags__().input_tags.sparse


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_sparse_x_stays_float32_in_the_estimators(solver):
    X, labels = sparse_data(seed=3)
    X32 = sp.csr_matrix(X.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((6,), solver=solver, max_iter=5, random_state=0).fit(X32, labels)
        dense = MLPClassifier((6,), solver=solver, max_iter=5, random_state=0).fit(
            X.astype(np.float32), labels
        )
    assert clf.network_.dtype == "float32" and clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X32).dtype == np.float32
    np.testing.assert_allclose(clf.coefs_[0], dense.coefs_[0], rtol=1e-4, atol=1e-5)


def test_gradient_check_and_dropout_on_sparse_x():
    X, labels = sparse_data(seed=4, m=20)
    Y = np.eye(3)[labels]
    net = dp.Network([12, 6, 3], activation="tanh", cost="cross_entropy", seed=0)
    assert dp.check_gradient(net, sp.csr_array(X), Y, epsilon=1e-5).ok
    runs = []
    for data in (X, sp.csr_array(X)):
        twin = dp.Network([12, 6, 3], activation="tanh", cost="cross_entropy", seed=0)
        dp.train(twin, data, Y, optimizer="sgd", batch_size=5, epochs=3, dropout=0.4, seed=1)
        runs.append(twin.params)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12, atol=1e-14)


def test_the_sparse_autoencoder_asks_for_dense_x():
    from deltaprop.autoencoder import SparseObjective

    X = sp.random(30, 6, density=0.3, format="csr", random_state=0)
    net = dp.Network([6, 3, 6], seed=0)
    with pytest.raises(ValueError, match=r"X: a sparse autoencoder reconstructs X, .* dense"):
        dp.train(SparseObjective(net), X, X.toarray(), optimizer="sgd", epochs=1)
