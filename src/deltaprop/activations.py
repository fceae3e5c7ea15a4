"""Activation functions: each f beside its derivative f′.

A unit of layer l+1 computes a = f(z) from its weighted input z. Backpropagation
needs f′(z); where it is cheaper, f′ is computed from the activation a that the
forward pass already holds (sigmoid: f′ = a(1 − a); tanh: f′ = 1 − a²).

Every function takes the array namespace ``xp`` first, then z (and a), arrays of
shape (m, s) with one row per example.

Hidden layers use elementwise activations only. ``softmax`` couples the units of
a layer, so it is allowed on the output layer alone; its vector-Jacobian product
is written out in :meth:`Activation.vjp`.

The numpy engine (``deltaprop.compiled.kernels``) computes these activations in
compiled loops; the tests hold them equal to f and f′.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._arrays import Array, Namespace

LEAKY_SLOPE = 0.01
"""Slope of leaky_relu for z < 0."""


def _sigmoid(xp: Namespace, z: Array) -> Array:
    # σ(z) = 1 / (1 + e^(−z)), evaluated through e^(−|z|) so that no exp overflows.
    e = xp.exp(-xp.abs(z))
    s = 1.0 / (1.0 + e)
    return xp.where(z >= 0, s, e * s)


def _sigmoid_prime(xp: Namespace, z: Array, a: Array) -> Array:
    return a * (1.0 - a)  # σ′(z) = σ(z)(1 − σ(z))


def _tanh(xp: Namespace, z: Array) -> Array:
    return xp.tanh(z)


def _tanh_prime(xp: Namespace, z: Array, a: Array) -> Array:
    return 1.0 - a * a  # tanh′(z) = 1 − tanh²(z)


def _relu(xp: Namespace, z: Array) -> Array:
    return xp.maximum(z, 0.0)


def _relu_prime(xp: Namespace, z: Array, a: Array) -> Array:
    return xp.astype(z > 0, z.dtype)  # 1 for z > 0, else 0 (0 at the kink)


def _leaky_relu(xp: Namespace, z: Array) -> Array:
    return xp.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_relu_prime(xp: Namespace, z: Array, a: Array) -> Array:
    # 1 for z > 0, else the slope; written without scalars in where() to keep z's dtype.
    return LEAKY_SLOPE + (1.0 - LEAKY_SLOPE) * xp.astype(z > 0, z.dtype)


def _softplus(xp: Namespace, z: Array) -> Array:
    # log(1 + e^z) = max(z, 0) + log1p(e^(−|z|)): no overflow for large |z|.
    return xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))


def _softplus_prime(xp: Namespace, z: Array, a: Array) -> Array:
    # softplus′(z) = σ(z) = 1 − e^(−a), since e^(−a) = 1 / (1 + e^z).
    return -xp.expm1(-a)


def _identity(xp: Namespace, z: Array) -> Array:
    return z


def _identity_prime(xp: Namespace, z: Array, a: Array) -> Array:
    return xp.ones_like(z)


def _exp(xp: Namespace, z: Array) -> Array:
    return xp.exp(z)


def _exp_prime(xp: Namespace, z: Array, a: Array) -> Array:
    return a  # (e^z)′ = e^z


def _softmax(xp: Namespace, z: Array) -> Array:
    # a_i = e^(z_i) / Σ_k e^(z_k), shifted by max_k z_k so that no exp overflows.
    e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
    return e / xp.sum(e, axis=1, keepdims=True)


def _softmax_prime(xp: Namespace, z: Array, a: Array) -> Array:
    # The diagonal of the Jacobian, ∂a_i/∂z_i = a_i(1 − a_i); the full product is in vjp.
    return a * (1.0 - a)


@dataclass(frozen=True)
class Activation:
    """An activation function f with its derivative f′.

    Attributes:
      name: the name used in model files and on the command line.
      f: ``f(xp, z) -> a``.
      fprime: ``fprime(xp, z, a) -> f′(z)``, elementwise; a is f(z).
      elementwise: False for softmax, whose units depend on each other.
      output_only: True where the activation belongs on the output layer alone
        (softmax; exp, the Poisson cost's inverse link).
    """

    name: str
    f: Callable[[Namespace, Array], Array]
    fprime: Callable[[Namespace, Array, Array], Array]
    elementwise: bool = True
    output_only: bool = False

    def vjp(self, xp: Namespace, z: Array, a: Array, g: Array) -> Array:
        """∂J/∂z from g = ∂J/∂a: the chain rule through a = f(z).

        Elementwise: ∂J/∂z_i = g_i f′(z_i). Softmax, whose Jacobian is
        ∂a_k/∂z_i = a_k(1[k=i] − a_i): ∂J/∂z_i = a_i (g_i − Σ_k g_k a_k).
        """
        if self.elementwise:
            return g * self.fprime(xp, z, a)
        return a * (g - xp.sum(g * a, axis=1, keepdims=True))


sigmoid = Activation("sigmoid", _sigmoid, _sigmoid_prime)
tanh = Activation("tanh", _tanh, _tanh_prime)
relu = Activation("relu", _relu, _relu_prime)
leaky_relu = Activation("leaky_relu", _leaky_relu, _leaky_relu_prime)
softplus = Activation("softplus", _softplus, _softplus_prime)
identity = Activation("identity", _identity, _identity_prime)
exp = Activation("exp", _exp, _exp_prime, output_only=True)  # the Poisson cost's inverse link
softmax = Activation("softmax", _softmax, _softmax_prime, elementwise=False, output_only=True)

ACTIVATIONS: dict[str, Activation] = {
    act.name: act for act in (sigmoid, tanh, relu, leaky_relu, softplus, identity, exp, softmax)
}

HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(n for n, a in ACTIVATIONS.items() if not a.output_only)
"""The names a hidden layer takes."""


def get_activation(value: str | Activation, *, argument: str, hidden: bool) -> Activation:
    """The activation named ``value`` (or ``value`` itself), checked for its place.

    Args:
      value: a name from :data:`ACTIVATIONS` or an :class:`Activation`.
      argument: the argument's name, for the error message.
      hidden: True for hidden layers, which take none of the output-only ones.
    """
    if isinstance(value, Activation):
        act = value
    elif isinstance(value, str) and value in ACTIVATIONS:
        act = ACTIVATIONS[value]
    else:
        names = ", ".join(ACTIVATIONS)
        raise ValueError(f"{argument}: unknown activation {value!r}; choose one of: {names}")
    if hidden and not act.elementwise:
        raise ValueError(
            f"{argument}: {act.name!r} couples the units of a layer and is allowed on the "
            "output layer only; hidden layers take an elementwise activation"
        )
    if hidden and act.output_only:
        raise ValueError(
            f"{argument}: {act.name!r} is an output activation; hidden layers take one of: "
            f"{', '.join(HIDDEN_ACTIVATIONS)}"
        )
    return act


def hidden_activations(
    activation: str | Activation | Sequence[str | Activation], n_hidden: int
) -> tuple[Activation | tuple[Activation, ...], tuple[Activation, ...]]:
    """(``activation`` normalised, one activation per hidden layer), checked.

    One name (or Activation) is every hidden layer's; a sequence gives one per
    hidden layer, input side first. A sequence whose entries are all the same is
    normalised to that one activation; a mix stays a tuple.
    """
    if isinstance(activation, str | Activation):
        act = get_activation(activation, argument="activation", hidden=True)
        return act, (act,) * n_hidden
    try:
        given = list(activation)
    except TypeError:
        raise ValueError(
            f"activation: expected a name such as 'relu', or one name per hidden layer, "
            f"got {activation!r}"
        ) from None
    if len(given) != n_hidden:
        raise ValueError(
            f"activation: {len(given)} activation(s) for {n_hidden} hidden layer(s); give one "
            "per hidden layer, or a single name for all of them"
        )
    acts = tuple(
        get_activation(a, argument=f"activation[{i}]", hidden=True) for i, a in enumerate(given)
    )
    if acts and all(a == acts[0] for a in acts):
        return acts[0], acts
    return acts, acts
