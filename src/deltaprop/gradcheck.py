"""Gradient checking: backpropagation's ∇J against central differences.

For each checked coordinate θ_p of the flat parameter vector,

    ĝ_p = (J(θ + ε e_p) − J(θ − ε e_p)) / (2ε),

and the verdict compares the analytic gradient g with ĝ by the relative
difference ‖g − ĝ‖ / ‖g + ĝ‖, overall and for each W⁽ˡ⁾ and b⁽ˡ⁾ apart. UFLDL
uses ε = 1e-4 and expects the overall difference below 1e-9 for smooth
activations in float64. The per-array figures localise a wrong layer that the
overall norm could hide; they get a looser threshold of their own because the
finite difference's own error, O(ε²) truncation plus rounding of J, is measured
against each array's norm, and a small array (the biases, or a deep sigmoid
layer's vanishing gradient) sits higher even when backpropagation is exact. A
real mistake, such as f′ off by 1 %, gives 1e-3 or more in both.

The check always evaluates in float64, whatever the network's dtype, so that it
tests the mathematics rather than float32 rounding.

``check_deltas`` tests the definition of the error terms themselves,
δ_i⁽ˡ⁾ = ∂J(W,b; x,y)/∂z_i⁽ˡ⁾, by perturbing one z_i⁽ˡ⁾ of one example at a time
and finishing the forward pass from there.

References: UFLDL Tutorial, "Gradient checking and advanced optimization".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import backprop
from ._arrays import Array, to_numpy
from ._validate import check_optional_count
from .network import Network, make_rng
from .objective import Batch, NetworkObjective, Objective, float64_copy


@dataclass(frozen=True)
class ParamCheck:
    """The check of one parameter array, W⁽ˡ⁾ or b⁽ˡ⁾."""

    name: str  # "W1", "b1", … (W1 is the seed's W⁽¹⁾)
    relative_error: float
    n_checked: int
    n_total: int
    ok: bool


@dataclass(frozen=True)
class GradientCheck:
    """The result of :func:`check_gradient`.

    Attributes:
      relative_error: ‖g − ĝ‖ / ‖g + ĝ‖ over every checked coordinate.
      per_layer: one :class:`ParamCheck` per W⁽ˡ⁾ and b⁽ˡ⁾, in θ's order.
      ok: relative_error is below ``threshold`` and every per-layer error below
        ``layer_threshold``.
      indices: the checked coordinates of θ.
      analytic, numeric: g and ĝ at those coordinates (float64 numpy arrays).
    """

    relative_error: float
    per_layer: tuple[ParamCheck, ...]
    ok: bool
    threshold: float
    layer_threshold: float
    epsilon: float
    indices: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray

    @property
    def n_checked(self) -> int:
        return int(self.indices.size)


def relative_difference(g: np.ndarray, g_hat: np.ndarray) -> float:
    """‖g − ĝ‖ / ‖g + ĝ‖; 0 when both are exactly zero, inf when only the sum is."""
    num = float(np.linalg.norm(g - g_hat))
    den = float(np.linalg.norm(g + g_hat))
    if num == 0.0:
        return 0.0
    return math.inf if den == 0.0 else num / den


def check_gradient(
    net: Network | Objective,
    X: Any,
    Y: Any,
    *,
    params: Any = None,
    epsilon: float = 1e-4,
    threshold: float = 1e-9,
    layer_threshold: float = 1e-6,
    max_coords: int | None = None,
    seed: int | np.random.Generator | None = 0,
) -> GradientCheck:
    """Compare backpropagation's gradient with central differences of J.

    (One function: the arguments' checks, the analytic gradient, the finite
    differences and the verdict, each a few lines, read in order.)

    Args:
      net: the network, or an objective (``deltaprop.objective``): one with a
        ``float64()`` method giving its float64 twin, as every objective of
        deltaprop has; its parameters are not changed.
      X, Y: a batch, as for ``net.cost_and_grad``.
      params: check at this θ instead of the network's own.
      epsilon: ε of the central difference (UFLDL: 1e-4).
      threshold: the largest overall relative difference that passes (UFLDL: 1e-9).
      layer_threshold: the largest relative difference of one W⁽ˡ⁾ or b⁽ˡ⁾ that passes.
      max_coords: check at most this many coordinates of each W⁽ˡ⁾ and b⁽ˡ⁾,
        chosen at random by ``seed``; None checks all of them.
      seed: chooses the subset when max_coords is set.

    >>> import numpy as np
    >>> net = Network([3, 4, 2], seed=0)
    >>> rng = np.random.default_rng(1)
    >>> X, Y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    >>> res = check_gradient(net, X, Y, epsilon=1e-5)  # ε = 1e-4's O(ε²) error: 1.3e-9 here
    >>> res.ok, res.relative_error < 1e-9
    (True, True)
    """
    if isinstance(epsilon, bool) or not (isinstance(epsilon, float | int) and epsilon > 0):
        raise ValueError(f"epsilon must be a positive number, got {epsilon!r}")
    check_optional_count("max_coords", max_coords)
    base = NetworkObjective(net) if isinstance(net, Network) else net
    objective: Objective = base.float64()  # type: ignore[attr-defined]
    twin: Network = objective.net  # type: ignore[attr-defined]
    if params is not None:
        twin.params = params
    x, y = twin.check_data(X, Y)
    batch = Batch(x, y)
    xp, theta = twin.xp, twin.params

    grad = xp.empty_like(theta)
    objective.evaluate(theta, batch, grad)
    analytic_all = to_numpy(grad).copy()

    def J() -> float:
        return objective.value(theta, batch).total

    groups = _coordinates(twin, max_coords, make_rng(seed))
    indices = np.concatenate([idx for _, idx, _ in groups])
    numeric = np.empty(indices.size)
    for n, p in enumerate(indices):
        old = float(theta[int(p)])
        theta[int(p)] = old + epsilon
        j_plus = J()
        theta[int(p)] = old - epsilon
        j_minus = J()
        theta[int(p)] = old
        numeric[n] = (j_plus - j_minus) / (2 * epsilon)
    analytic = analytic_all[indices]

    per_layer, pos = [], 0
    for name, idx, total in groups:
        g, g_hat = analytic[pos : pos + idx.size], numeric[pos : pos + idx.size]
        err = relative_difference(g, g_hat)
        per_layer.append(ParamCheck(name, err, int(idx.size), total, err < layer_threshold))
        pos += idx.size
    overall = relative_difference(analytic, numeric)
    ok = overall < threshold and all(p.ok for p in per_layer)
    eps = float(epsilon)
    return GradientCheck(
        overall, tuple(per_layer), ok, threshold, layer_threshold, eps, indices, analytic, numeric
    )


def _coordinates(
    net: Network, max_coords: int | None, rng: np.random.Generator
) -> list[tuple[str, np.ndarray, int]]:
    """(name, checked indices into θ, size) for every W⁽ˡ⁾ and b⁽ˡ⁾, at most ``max_coords`` each."""
    groups = []
    for name, start, stop, _ in net.layout.spans():
        idx = np.arange(start, stop)
        if max_coords is not None and idx.size > max_coords:
            idx = np.sort(rng.choice(idx, size=max_coords, replace=False))
        groups.append((name, idx, stop - start))
    return groups


@dataclass(frozen=True)
class DeltaCheck:
    """δ⁽ˡ⁾ from backpropagation against ∂J(W,b; x,y)/∂z⁽ˡ⁾ measured by perturbation."""

    layer: int  # the seed's l, 2 … n_l
    relative_error: float
    delta: np.ndarray  # (m, s_l), from the δ recursion
    measured: np.ndarray  # (m, s_l), from central differences


def check_deltas(net: Network, X: Any, Y: Any, *, epsilon: float = 1e-5) -> list[DeltaCheck]:
    """Check δ_i⁽ˡ⁾ = ∂J(W,b; x,y)/∂z_i⁽ˡ⁾ for every layer l ≥ 2, unit i and example.

    For example k, the per-example cost J(W,b; x⁽ᵏ⁾,y⁽ᵏ⁾) is changed only through
    that example's own z⁽ˡ⁾, so perturbing z_i⁽ˡ⁾ of row k alone and finishing the
    forward pass measures δ_i⁽ˡ⁾ of that example. Weight decay does not depend on z.
    """
    twin = float64_copy(net)
    x, y = twin.check_data(X, Y)
    xp, W, b, f, cost = twin.xp, twin.W, twin.b, twin.activations, twin.cost
    trace = backprop.forward(xp, W, b, f, x)
    deltas = backprop.backward(xp, W, f, trace, backprop.output_delta(xp, cost, f[-1], trace, y))

    def loss_from(k: int, z_k: Array) -> np.ndarray:
        """Per-example data terms when layer k+1's weighted input is z_k."""
        a_k = f[k - 1].f(xp, z_k)
        zs, acts = backprop.propagate(xp, W, b, f, a_k, k)
        z_out, a_out = (zs[-1], acts[-1]) if zs else (z_k, a_k)
        rows = [
            cost.loss_sum(xp, z_out[r : r + 1], a_out[r : r + 1], y[r : r + 1])
            for r in range(z_out.shape[0])
        ]
        return np.array([float(v) for v in rows])

    results = []
    for k in range(1, len(trace.a)):
        z = to_numpy(trace.z[k]).astype(np.float64)
        measured = np.empty_like(z)
        for i in range(z.shape[1]):
            bump = np.zeros_like(z)
            bump[:, i] = epsilon  # every row at once: rows do not interact
            plus = loss_from(k, twin.from_host(z + bump))
            minus = loss_from(k, twin.from_host(z - bump))
            measured[:, i] = (plus - minus) / (2 * epsilon)
        delta = to_numpy(deltas[k]).astype(np.float64)
        results.append(DeltaCheck(k + 1, relative_difference(delta, measured), delta, measured))
    return results
