"""The compiled kernels' own exponential (``kernels.exp_block``) against numpy's.

The whole-network comparisons live in tests/test_compiled.py; here the vector-code
e^x and the sigmoid built on it are held to numpy's numbers, ulp by ulp, including
the numbers that send a block to math.exp (below −708, −∞, NaN) and float32.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deltaprop.activations import sigmoid
from deltaprop.compiled import codes, kernels


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got − want| in units of the last place of want (normal numbers)."""
    return np.abs(got - want) / np.spacing(np.abs(want))


def exp_of(x: np.ndarray) -> np.ndarray:
    out = x.copy()
    kernels.exp_block(out, 0, out.size, np.empty_like(out), 0)
    return out


def test_exp_within_one_ulp_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [-rng.uniform(0, 708, 100_000), -rng.uniform(0, 1, 100_000), -rng.exponential(2, 100_000)]
    )
    x = np.concatenate([x, [0.0, -0.0, -1e-300, -np.log(2) / 2, -np.log(2), -708.0]])
    got, want = exp_of(x), np.exp(x)
    assert ulps(got, want).max() <= 1.0
    assert np.mean(got == want) > 0.8  # mostly the very bits numpy gives


@pytest.mark.parametrize("odd", [-708.5, -745.2, -800.0, -np.inf, np.nan])
def test_exp_blocks_past_its_range_take_math_exp(odd):
    x = -np.linspace(0, 5, 33)
    x[7] = odd
    np.testing.assert_array_equal(exp_of(x), [math.exp(v) for v in x])


def test_exp_in_float32_is_libms():
    x = -np.linspace(0, 20, 50, dtype=np.float32)
    np.testing.assert_allclose(exp_of(x), np.exp(x), rtol=2e-7)


def test_sigmoid_within_two_ulps_of_the_activation():
    rng = np.random.default_rng(1)
    z = np.concatenate([rng.normal(0, 5, 50_000), rng.uniform(-700, 700, 1000), [0.0, -0.0]])
    got = z.copy()
    scratch = np.empty(2 * z.size)
    kernels.apply(codes.SIGMOID, got, 0, z.size, scratch, 0, z.size)
    want = sigmoid.f(np, z)
    normal = want > np.finfo(float).tiny
    assert ulps(got[normal], want[normal]).max() <= 2.0
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=1e-300)
    for odd in (np.nan, np.inf, -np.inf, 1000.0, -1000.0):  # the block takes math.exp
        z2 = z[:9].copy()
        z2[4] = odd
        got2 = z2.copy()
        kernels.apply(codes.SIGMOID, got2, 0, 9, np.empty(18), 0, 9)
        e = [math.exp(-abs(v)) for v in z2]
        want2 = [1 / (1 + ev) if v >= 0 else ev * (1 / (1 + ev)) for v, ev in zip(z2, e)]
        np.testing.assert_allclose(got2, want2, rtol=1e-15, atol=0)
