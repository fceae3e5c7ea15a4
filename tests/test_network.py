"""The network: flat parameter layout, initialisation, dtypes and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deltaprop as dp
from deltaprop.network import Layout, init_params

sizes_st = st.lists(st.integers(1, 7), min_size=2, max_size=5)


@settings(max_examples=60, deadline=None)
@given(sizes=sizes_st, dtype=st.sampled_from([np.float32, np.float64]))
def test_views_share_theta_and_have_the_seed_shapes(sizes, dtype):
    net = dp.Network(sizes, dtype=dtype, seed=0)
    theta = net.params
    assert theta.ndim == 1 and theta.dtype == dtype and theta.flags.c_contiguous
    assert theta.size == sum(o * i + o for i, o in zip(sizes[:-1], sizes[1:]))
    for k, (W, b) in enumerate(zip(net.W, net.b)):
        assert W.shape == (sizes[k + 1], sizes[k])  # W⁽ˡ⁾: (s_{l+1}, s_l)
        assert b.shape == (sizes[k + 1],)
        assert np.shares_memory(W, theta) and np.shares_memory(b, theta)
    # Writing θ is seen through the views, and the other way round.
    net.params = np.arange(theta.size, dtype=np.float64)
    assert net.W[0][0, 0] == 0 and net.b[-1][-1] == theta.size - 1
    net.W[-1][...] = 7
    assert np.all(theta[: net.layout.n_weights][-net.W[-1].size :] == 7)


@settings(max_examples=60, deadline=None)
@given(sizes=sizes_st, seed=st.integers(0, 2**32 - 1))
def test_pack_unpack_round_trip(sizes, seed):
    layout = Layout(tuple(sizes))
    theta = np.random.default_rng(seed).normal(size=layout.n_params)
    W, b = layout.unpack(np, theta)
    np.testing.assert_array_equal(layout.pack(np, W, b), theta)
    # Weights first, so the weight-decay part of θ is its prefix.
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in W]), theta[: layout.n_weights])


@settings(max_examples=40, deadline=None)
@given(
    sizes=sizes_st,
    m=st.integers(1, 6),
    dtype=st.sampled_from([np.float32, np.float64]),
    data=st.data(),
)
def test_cost_and_grad_shapes_and_dtypes(sizes, m, dtype, data):
    net = dp.Network(sizes, activation="tanh", output_activation="identity", dtype=dtype, seed=1)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    X = rng.normal(size=(m, sizes[0]))  # float64 data is converted to the network's dtype
    Y = rng.normal(size=(m, sizes[-1]))
    J, grad = net.cost_and_grad(X, Y)
    assert isinstance(J, float) and math.isfinite(J)
    assert grad.shape == net.params.shape and grad.dtype == dtype
    trace = net.forward(X)
    assert trace.z[0] is None and trace.a[0].dtype == dtype
    assert [a.shape for a in trace.a] == [(m, s) for s in sizes]
    assert net.predict(X).shape == (m, sizes[-1])


def test_cost_and_grad_at_given_params_leaves_network_unchanged():
    net = dp.Network([3, 4, 2], seed=0)
    X, Y = np.ones((2, 3)), np.full((2, 2), 0.5)
    before = net.params.copy()
    other = before + 0.1
    J_other, g_other = net.cost_and_grad(X, Y, params=other)
    np.testing.assert_array_equal(net.params, before)
    twin = net.copy()
    twin.params = other
    J_twin, g_twin = twin.cost_and_grad(X, Y)
    assert J_other == J_twin
    np.testing.assert_array_equal(g_other, g_twin)
    np.testing.assert_array_equal(net.params, before)  # copy() is independent


def test_cost_terms_are_data_term_and_weight_decay():
    net = dp.Network([3, 4, 2], weight_decay=0.1, seed=0)
    X, Y = np.ones((2, 3)), np.full((2, 2), 0.5)
    data, decay = net.cost_terms(X, Y)
    assert decay == pytest.approx(0.05 * sum(float(np.sum(W**2)) for W in net.W), rel=1e-14)
    J, _ = net.cost_and_grad(X, Y)
    assert J == pytest.approx(data + decay, rel=1e-15)
    # Biases are never decayed.
    net.b[0][...] = 100.0
    assert net.cost_terms(X, Y)[1] == pytest.approx(decay, rel=1e-15)


def test_weight_decay_gradient_is_lambda_W_on_weights_only():
    X, Y = np.ones((2, 3)), np.full((2, 2), 0.5)
    plain = dp.Network([3, 4, 2], seed=0)
    decayed = dp.Network([3, 4, 2], weight_decay=0.3, seed=0)
    _, g0 = plain.cost_and_grad(X, Y)
    _, g1 = decayed.cost_and_grad(X, Y)
    n_w = plain.layout.n_weights
    np.testing.assert_allclose(g1[:n_w] - g0[:n_w], 0.3 * plain.params[:n_w], rtol=1e-12)
    np.testing.assert_array_equal(g1[n_w:], g0[n_w:])


def test_initialisation_ranges_and_seeding():
    rng_net = dp.Network([64, 25, 64], seed=np.random.default_rng(5))
    same = dp.Network([64, 25, 64], seed=np.random.default_rng(5))
    np.testing.assert_array_equal(rng_net.params, same.params)
    assert not np.array_equal(dp.Network([64, 25, 64], seed=6).params, rng_net.params)
    # UFLDL: W ~ U[−r, r], r = √6/√(s_l + s_{l+1} + 1); b = 0.
    r = math.sqrt(6) / math.sqrt(64 + 25 + 1)
    assert rng_net.init == "ufldl"
    assert np.max(np.abs(rng_net.W[0])) <= r and np.max(np.abs(rng_net.W[0])) > 0.9 * r
    assert all(np.all(b == 0) for b in rng_net.b)
    glorot = init_params([100, 50], "glorot", np.random.default_rng(0))
    assert np.max(np.abs(glorot)) <= math.sqrt(6 / 150)
    he = init_params([400, 300], "he", np.random.default_rng(0))[: 400 * 300]
    assert np.std(he) == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert dp.Network([3, 3], activation="relu", seed=0).init == "he"
    assert dp.Network([3, 3], activation="tanh", seed=0).init == "glorot"


def test_default_output_activation_follows_cost():
    assert dp.Network([2, 3]).output_activation.name == "sigmoid"
    assert dp.Network([2, 3], cost="cross_entropy").output_activation.name == "softmax"
    assert dp.Network([2, 1], cost="binary_cross_entropy").output_activation.name == "sigmoid"


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"layer_sizes": [3]}, "need at least an input and an output layer"),
        ({"layer_sizes": [3, 0, 2]}, "layer_sizes[1] is 0; every layer needs at least 1 unit"),
        ({"layer_sizes": [3, 2.5]}, "layer_sizes[1] must be a whole number"),
        ({"layer_sizes": 5}, "layer_sizes: expected a sequence"),
        ({"activation": "swish"}, "unknown activation 'swish'; choose one of: sigmoid, tanh"),
        ({"activation": "softmax"}, "allowed on the output layer only"),
        ({"cost": "hinge"}, "unknown cost 'hinge'; choose one of: squared_error, cross_entropy"),
        (
            {"cost": "cross_entropy", "output_activation": "sigmoid"},
            "cost 'cross_entropy' needs output_activation='softmax', got 'sigmoid'",
        ),
        ({"layer_sizes": [3, 1], "output_activation": "softmax"}, "at least 2 output units"),
        ({"weight_decay": -1.0}, "weight_decay must be a finite number at least 0.0, got -1.0"),
        ({"weight_decay": float("nan")}, "weight_decay must be a finite number"),
        ({"dtype": np.float16}, "dtype: expected float32 or float64"),
        ({"init": "zeros"}, "init: unknown method 'zeros'"),
        ({"seed": -3}, "seed: expected a non-negative int"),
        ({"xp": "no_such_array_lib"}, "xp: cannot import the array library"),
    ],
)
def test_bad_network_arguments_name_what_was_wrong(kwargs, words):
    kwargs = {"layer_sizes": [3, 4, 2], **kwargs}
    with pytest.raises(ValueError) as err:
        dp.Network(**kwargs)
    assert words in str(err.value)


@pytest.mark.parametrize(
    "X,Y,words",
    [
        (np.ones((2, 63)), np.ones((2, 2)), "X has 63 features, the network's input layer has 64"),
        (np.ones(64), np.ones((1, 2)), "X must be a 2-D array"),
        (np.ones((0, 64)), np.ones((0, 2)), "X has no rows"),
        (np.ones((2, 64)), np.ones((2, 3)), "Y has 3 columns, the network's output layer has 2"),
        (np.ones((2, 64)), np.ones((3, 2)), "Y has 3 rows but X has 2"),
        (
            np.array([[1.0] * 63 + [np.nan]] * 2),
            np.ones((2, 2)),
            "X contains NaN at row 0, column 63",
        ),
        (
            np.ones((2, 64)),
            np.array([[0.5, np.inf], [0.5, 0.5]]),
            "Y contains infinity at row 0, column 1",
        ),
        (np.array([["a"] * 64] * 2), np.ones((2, 2)), "X must hold real numbers"),
        ([[1, 2], [3]], np.ones((2, 2)), "X is not a rectangular array of numbers"),
    ],
)
def test_bad_data_names_what_was_wrong(X, Y, words):
    net = dp.Network([64, 5, 2], seed=0)
    with pytest.raises(ValueError) as err:
        net.cost_and_grad(X, Y)
    assert words in str(err.value)


def test_targets_must_suit_the_cost():
    ce = dp.Network([2, 3], cost="cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"Y row 1 sums to 1\.5; cross_entropy needs each row"):
        ce.cost_and_grad(np.ones((2, 2)), [[0, 1, 0], [0.5, 1, 0]])
    with pytest.raises(ValueError, match=r"Y\[0, 2\] is -1; cross_entropy needs targets"):
        ce.cost_and_grad(np.ones((2, 2)), [[1, 1, -1], [0, 1, 0]])
    bce = dp.Network([2, 1], cost="binary_cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"Y\[1, 0\] is 2; binary_cross_entropy needs"):
        bce.cost_and_grad(np.ones((2, 2)), [0, 2])
    J, _ = bce.cost_and_grad(np.ones((2, 2)), [0, 1])  # 1-D Y for one output is accepted
    assert math.isfinite(J)


def test_bad_params():
    net = dp.Network([3, 2], seed=0)
    X, Y = np.ones((1, 3)), np.ones((1, 2)) / 2
    with pytest.raises(
        ValueError, match=r"params must be a flat vector of 8 numbers .* got shape \(7,\)"
    ):
        net.cost_and_grad(X, Y, params=np.zeros(7))
    bad = np.zeros(8)
    bad[5] = np.nan
    with pytest.raises(ValueError, match="params contains NaN at index 5"):
        net.cost_and_grad(X, Y, params=bad)
    with pytest.raises(ValueError, match="params contains NaN at index 5"):
        net.params = bad
    with pytest.raises(ValueError, match="epsilon must be a positive number"):
        dp.check_gradient(net, X, Y, epsilon=0)


def test_repr_names_the_architecture():
    assert repr(dp.Network([64, 25, 64], weight_decay=1e-4)) == (
        "Network(64-25-64, activation='sigmoid', output_activation='sigmoid', "
        "cost='squared_error', weight_decay=0.0001, dtype=float64)"
    )


@pytest.mark.parametrize("xp", [None, "array_api_strict"])
def test_pickle_and_deepcopy_rebuild_the_views(xp):
    import copy
    import pickle

    from deltaprop._arrays import to_numpy

    net = dp.Network(
        [3, 4, 2], activation="tanh", weight_decay=0.1, dtype=np.float32, seed=0, xp=xp
    )
    for twin in (pickle.loads(pickle.dumps(net)), copy.deepcopy(net)):
        assert repr(twin) == repr(net)
        np.testing.assert_array_equal(to_numpy(twin.params), to_numpy(net.params))
        twin.W[0][...] = 1.0  # the views point into the twin's own θ
        assert float(to_numpy(twin.params)[0]) == 1.0
        assert float(to_numpy(net.params)[0]) != 1.0
