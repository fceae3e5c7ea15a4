"""Data terms of the cost J, each owning the output-layer δ.

For one example (x, y) with output-layer weighted input z = z⁽ⁿˡ⁾ and output
a = a⁽ⁿˡ⁾ = h_{W,b}(x), a cost gives the per-example data term J(W,b; x,y) and

    δ⁽ⁿˡ⁾ = ∂J(W,b; x,y) / ∂z⁽ⁿˡ⁾,

the error term that starts the backward pass. The network's cost averages the
data term over the m examples and adds the weight decay (see ``backprop``).

Values are computed from z where that is the stable formula (log-sum-exp for
softmax, softplus for the sigmoid), so no log of 0 and no overflow occurs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._arrays import Array, Namespace
from .activations import Activation, exp, sigmoid, softmax


@dataclass(frozen=True)
class Cost:
    """A data term and its output δ.

    Attributes:
      name: the name used in model files and on the command line.
      output_activation: the output activation this cost requires, or None for any.
    """

    name: str
    output_activation: str | None = None

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        """The per-example data terms J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾), shape (m,)."""
        raise NotImplementedError

    def loss_sum(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        """Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) over the m examples (a 0-d array)."""
        return xp.sum(self.loss_rows(xp, z, a, y))

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        """δ⁽ⁿˡ⁾ = ∂J(W,b; x,y)/∂z⁽ⁿˡ⁾ for every example, shape (m, s_nl)."""
        raise NotImplementedError

    def output_terms(
        self, xp: Namespace, act: Activation, z: Array, y: Array
    ) -> tuple[Array, Array, Array]:
        """(a⁽ⁿˡ⁾, Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾), δ⁽ⁿˡ⁾) from the output layer's z = z⁽ⁿˡ⁾.

        a = f(z), then :meth:`loss_sum` and :meth:`output_delta`; a cost whose
        three share work (an exponential) computes them together instead.
        """
        a = act.f(xp, z)
        return a, self.loss_sum(xp, z, a, y), self.output_delta(xp, act, z, a, y)

    def check_targets(self, y: np.ndarray) -> None:
        """Raise ValueError if the targets ``y`` (m, s_nl) do not suit this cost."""


class SquaredError(Cost):
    """The seed's J(W,b; x,y) = ½‖h_{W,b}(x) − y‖².

    Output δ by the chain rule through a = f(z):

        δ_i⁽ⁿˡ⁾ = ∂J/∂a_i · ∂a_i/∂z_i = −(y_i − a_i) · f′(z_i),

    the ½ cancelling the 2 from differentiating the square. With several outputs
    J sums over them, and so does its exact gradient.
    """

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        r = a - y
        return 0.5 * xp.sum(r * r, axis=1)

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        return act.vjp(xp, z, a, -(y - a))  # ∂J/∂a = −(y − a), then times ∂a/∂z


class CrossEntropy(Cost):
    """J(W,b; x,y) = −Σ_k y_k log a_k with a = softmax(z).

    log a_k = z_k − log Σ_j e^(z_j) (log-sum-exp, shifted by max z). Because
    Σ_k y_k = 1, the softmax Jacobian collapses and δ⁽ⁿˡ⁾ = a − y.
    """

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        shifted = z - xp.max(z, axis=1, keepdims=True)
        log_a = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        return -xp.sum(y * log_a, axis=1)

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        return a - y

    def output_terms(
        self, xp: Namespace, act: Activation, z: Array, y: Array
    ) -> tuple[Array, Array, Array]:
        """Softmax, the loss and δ⁽ⁿˡ⁾ = a − y from one exponential of the shifted z."""
        if type(self) is not CrossEntropy or act is not softmax:  # else compose the parts
            return super().output_terms(xp, act, z, y)
        shifted = z - xp.max(z, axis=1, keepdims=True)
        e = xp.exp(shifted)
        total = xp.sum(e, axis=1, keepdims=True)
        a = e / total  # a_k = e^(z_k) / Σ_j e^(z_j)
        log_a = shifted - xp.log(total)  # log a_k = z_k − log Σ_j e^(z_j)
        return a, -xp.sum(xp.sum(y * log_a, axis=1)), a - y  # summed as loss_sum sums

    def check_targets(self, y: np.ndarray) -> None:
        _check_unit_interval(self.name, y)
        sums = y.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-6 * y.shape[1])
        if bad.size:
            raise ValueError(
                f"Y row {bad[0]} sums to {sums[bad[0]]:g}; cross_entropy needs each row of Y "
                "to be a probability distribution (non-negative, summing to 1), e.g. one-hot"
            )


class BinaryCrossEntropy(Cost):
    """J(W,b; x,y) = −Σ_k [y_k log a_k + (1 − y_k) log(1 − a_k)] with a = σ(z).

    In terms of z this is Σ_k softplus(z_k) − y_k z_k, computed as
    max(z, 0) + log1p(e^(−|z|)) − y z. Since σ′ = a(1 − a) cancels the
    denominators, δ⁽ⁿˡ⁾ = a − y.
    """

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        softplus = xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))
        return xp.sum(softplus - y * z, axis=1)

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        return a - y

    def output_terms(
        self, xp: Namespace, act: Activation, z: Array, y: Array
    ) -> tuple[Array, Array, Array]:
        """σ(z), the loss and δ⁽ⁿˡ⁾ = a − y from one exponential e^(−|z|)."""
        if type(self) is not BinaryCrossEntropy or act is not sigmoid:  # else compose the parts
            return super().output_terms(xp, act, z, y)
        e = xp.exp(-xp.abs(z))
        s = 1.0 / (1.0 + e)
        a = xp.where(z >= 0, s, e * s)  # σ(z), as activations.sigmoid computes it
        softplus = xp.maximum(z, 0.0) + xp.log1p(e)
        return a, xp.sum(xp.sum(softplus - y * z, axis=1)), a - y  # summed as loss_sum sums

    def check_targets(self, y: np.ndarray) -> None:
        _check_unit_interval(self.name, y)


class PoissonDeviance(Cost):
    """J(W,b; x,y) = Σ_k [y_k log(y_k / a_k) − y_k + a_k] with a = e^z: half the Poisson deviance.

    scikit-learn's ``loss="poisson"``: the mean a_k = e^(z_k) of a Poisson count y_k
    through the log link, so log a_k = z_k and the data term is
    Σ_k [y_k log y_k − y_k z_k + e^(z_k) − y_k] (y log y = 0 at y = 0). Its minimum
    over a is 0, at a = y. Since ∂a_k/∂z_k = a_k cancels the 1/a_k of
    ∂J/∂a_k = 1 − y_k/a_k, δ⁽ⁿˡ⁾ = a − y.
    """

    def loss_rows(self, xp: Namespace, z: Array, a: Array, y: Array) -> Array:
        return xp.sum(_xlogx(xp, y) - y * z + xp.exp(z) - y, axis=1)

    def output_delta(self, xp: Namespace, act: Activation, z: Array, a: Array, y: Array) -> Array:
        return a - y

    def output_terms(
        self, xp: Namespace, act: Activation, z: Array, y: Array
    ) -> tuple[Array, Array, Array]:
        """e^z, the loss and δ⁽ⁿˡ⁾ = a − y from one exponential."""
        if type(self) is not PoissonDeviance or act is not exp:  # else compose the parts
            return super().output_terms(xp, act, z, y)
        a = xp.exp(z)
        rows = xp.sum(_xlogx(xp, y) - y * z + a - y, axis=1)
        return a, xp.sum(rows), a - y  # summed as loss_sum sums

    def check_targets(self, y: np.ndarray) -> None:
        negative = np.argwhere(y < 0)
        if negative.size:
            r, c = negative[0]
            raise ValueError(
                f"Y[{r}, {c}] is {y[r, c]:g}; poisson needs targets ≥ 0 (counts or rates)"
            )


def _xlogx(xp: Namespace, y: Array) -> Array:
    """y log y elementwise, 0 where y = 0 (its limit)."""
    positive = y > 0
    return xp.where(positive, y * xp.log(xp.where(positive, y, xp.ones_like(y))), 0.0)


def _check_unit_interval(cost: str, y: np.ndarray) -> None:
    outside = np.argwhere((y < 0) | (y > 1))
    if outside.size:
        r, c = outside[0]
        raise ValueError(
            f"Y[{r}, {c}] is {y[r, c]:g}; {cost} needs targets that are probabilities in [0, 1]"
        )


squared_error = SquaredError("squared_error")
cross_entropy = CrossEntropy("cross_entropy", output_activation="softmax")
binary_cross_entropy = BinaryCrossEntropy("binary_cross_entropy", output_activation="sigmoid")
poisson = PoissonDeviance("poisson", output_activation="exp")

COSTS: dict[str, Cost] = {
    c.name: c for c in (squared_error, cross_entropy, binary_cross_entropy, poisson)
}


def get_cost(value: str | Cost) -> Cost:
    """The cost named ``value`` (or ``value`` itself)."""
    if isinstance(value, Cost):
        return value
    if isinstance(value, str) and value in COSTS:
        return COSTS[value]
    raise ValueError(f"cost: unknown cost {value!r}; choose one of: {', '.join(COSTS)}")
