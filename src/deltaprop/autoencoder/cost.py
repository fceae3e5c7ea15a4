"""The sparse autoencoder's cost J_sparse(W,b), its δ⁽²⁾, and its gradient check.

A sparse autoencoder is the seed's 3-layer network [s₁, s₂, s₁] trained to
reproduce its input, y = x, with sigmoid hidden units kept mostly inactive. With
ρ̂_j = (1/m) Σᵢ a_j⁽²⁾(x⁽ⁱ⁾) the mean activation of hidden unit j over the m
examples and ρ the sparsity target,

    J_sparse(W,b) = J(W,b) + β Σ_j KL(ρ ‖ ρ̂_j),
    J(W,b)        = (1/m) Σᵢ ½‖h_{W,b}(x⁽ⁱ⁾) − x⁽ⁱ⁾‖² + (λ/2) Σ_l Σ_i Σ_j (W_ji⁽ˡ⁾)²,
    KL(ρ ‖ ρ̂)     = ρ log(ρ/ρ̂) + (1−ρ) log((1−ρ)/(1−ρ̂)).

Backpropagation changes in one place. ρ̂_j depends on every example's z_j⁽²⁾,
∂ρ̂_j/∂z_j⁽²⁾⁽ⁱ⁾ = f′(z_j⁽²⁾⁽ⁱ⁾)/m, so the penalty adds β KL′(ρ̂_j) f′(z_j⁽²⁾)/m to
∂J_sparse/∂z_j⁽²⁾⁽ⁱ⁾. Since the gradients average δ over the m examples (the
1/m), the hidden error term of each example becomes

    δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾ + β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂))) ⊙ f′(z⁽²⁾),

and ∂J/∂W⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ a⁽ˡ⁾ᵀ + λW⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾ as
before. δ⁽³⁾ is the squared error's own, −(x − a⁽³⁾) ⊙ f′(z⁽³⁾); with a linear
decoder (identity output) f′(z⁽³⁾) = 1 and the inputs need not lie in [0, 1].

Hyper-parameters (UFLDL's names): ρ is ``sparsity_target`` (sparsityParam), β
is ``beta``, λ is the network's ``weight_decay`` (lambda), s₂ the hidden size.

References: Ng, "Sparse autoencoder" (CS294A lecture notes, 2011), §2.3;
UFLDL Tutorial, "Autoencoders and Sparsity", "Linear Decoders".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backprop, compiled
from .._arrays import Array, Namespace, to_numpy
from .._sparse import is_sparse
from .._validate import check_real
from ..activations import Activation
from ..costs import Cost
from ..gradcheck import GradientCheck, check_gradient
from ..history import History
from ..network import Network
from ..objective import Batch, OnNetwork, Terms, float64_copy, uses_numpy_engine


@dataclass(frozen=True)
class SparseTerms:
    """The three parts of J_sparse(W,b) (0-d arrays), ρ̂ and 1 − ρ̂ (shape (s₂,))."""

    data: Array  # (1/m) Σᵢ ½‖h(x⁽ⁱ⁾) − x⁽ⁱ⁾‖²
    decay: Array  # (λ/2) Σ W²
    sparsity: Array  # β Σ_j KL(ρ ‖ ρ̂_j)
    rho_hat: Array  # ρ̂_j = (1/m) Σᵢ a_j⁽²⁾(x⁽ⁱ⁾)
    rho_hat_c: Array  # 1 − ρ̂_j, from σ(−z⁽²⁾) (see mean_activations)
    output: Array | None = None  # h(x⁽ⁱ⁾) = a⁽³⁾, the reconstructions

    @property
    def total(self) -> float:
        """J_sparse = data + decay + sparsity."""
        return float(self.data) + float(self.decay) + float(self.sparsity)


def mean_activations(
    xp: Namespace, f_hidden: Activation, z2: Array, a2: Array
) -> tuple[Array, Array]:
    """ρ̂ = (1/m) Σᵢ a⁽²⁾(x⁽ⁱ⁾) and 1 − ρ̂ = (1/m) Σᵢ σ(−z⁽²⁾(x⁽ⁱ⁾)), each of shape (s₂,).

    1 − ρ̂ is averaged from 1 − σ(z) = σ(−z) rather than subtracted: where a unit
    saturates on every example (z ≳ 37), a rounds to 1 and 1 − ρ̂ would be 0,
    KL infinite, though the true 1 − ρ̂ is a representable positive number.
    ``f_hidden`` must be the sigmoid.
    """
    return xp.mean(a2, axis=0), xp.mean(f_hidden.f(xp, -z2), axis=0)


def kl_divergence(
    xp: Namespace, rho: float, rho_hat: Array, rho_hat_c: Array | None = None
) -> Array:
    """KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1−ρ) log((1−ρ)/(1−ρ̂)), elementwise over ρ̂ ∈ (0, 1).

    The divergence of a Bernoulli(ρ̂) from a Bernoulli(ρ): 0 at ρ̂ = ρ, growing
    without bound as ρ̂ → 0 or 1. ``rho_hat_c`` is 1 − ρ̂ when it is known more
    precisely than by subtraction; by default log(1 − ρ̂) is log1p(−ρ̂).

    >>> float(kl_divergence(np, 0.2, np.array(0.2)))
    0.0
    >>> round(float(kl_divergence(np, 0.1, np.array(0.5))), 5)  # 0.1 log 0.2 + 0.9 log 1.8
    0.36806
    """
    log_c = xp.log1p(-rho_hat) if rho_hat_c is None else xp.log(rho_hat_c)
    return rho * (math.log(rho) - xp.log(rho_hat)) + (1 - rho) * (math.log1p(-rho) - log_c)


def kl_delta(rho: float, beta: float, rho_hat: Array, rho_hat_c: Array) -> Array:
    """β ∂KL(ρ‖ρ̂)/∂ρ̂ = β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂)): the sparsity term of δ⁽²⁾, shape (s₂,)."""
    return beta * (-rho / rho_hat + (1 - rho) / rho_hat_c)


def _terms(
    xp: Namespace,
    trace: backprop.Trace,
    W: Sequence[Array],
    f: Sequence[Activation],
    cost: Cost,
    lam: float,
    rho: float,
    beta: float,
) -> SparseTerms:
    x = trace.a[0]
    rho_hat, rho_hat_c = mean_activations(xp, f[0], trace.z[1], trace.a[1])
    return SparseTerms(
        data=backprop.data_term(xp, cost, trace, x),  # the target y is the input x
        decay=backprop.weight_decay(xp, W, lam),
        sparsity=beta * xp.sum(kl_divergence(xp, rho, rho_hat, rho_hat_c)),
        rho_hat=rho_hat,
        rho_hat_c=rho_hat_c,
        output=trace.output,
    )


def sparse_cost_and_grad(
    xp: Namespace,
    W: Sequence[Array],
    b: Sequence[Array],
    f: Sequence[Activation],
    cost: Cost,
    lam: float,
    rho: float,
    beta: float,
    x: Array,
    dW: Sequence[Array] | None = None,
    db: Sequence[Array] | None = None,
) -> SparseTerms:
    """J_sparse(W,b) and its gradient, written into ``dW`` and ``db`` (None: J alone).

    The forward pass, δ⁽³⁾ and the gradients are backprop's own; only δ⁽²⁾ differs:

        δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾ + β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂))) ⊙ f′(z⁽²⁾)

    Args:
      W, b, f: the 3-layer network's W[0] = W⁽¹⁾ (s₂, s₁), W[1] = W⁽²⁾ (s₁, s₂),
        biases and activations (f[0] sigmoid, f[1] sigmoid or identity).
      cost: the squared error ½‖h(x) − x‖².
      lam, rho, beta: λ, ρ and β.
      x: the inputs (m, s₁), which are also the targets.
      dW, db: views into the flat gradient, as W and b.
    """
    trace = backprop.forward(xp, W, b, f, x)
    terms = _terms(xp, trace, W, f, cost, lam, rho, beta)
    if dW is None or db is None:
        return terms
    delta3 = backprop.output_delta(xp, cost, f[-1], trace, x)  # −(x − a⁽³⁾) ⊙ f′(z⁽³⁾)
    back = delta3 @ W[1]  # W⁽²⁾ᵀ δ⁽³⁾, one row per example
    sparsity = kl_delta(rho, beta, terms.rho_hat, terms.rho_hat_c)  # one row, for every example
    delta2 = (back + sparsity) * f[0].fprime(xp, trace.z[1], trace.a[1])  # ⊙ f′(z⁽²⁾)
    backprop.gradients(xp, W, trace, [None, delta2, delta3], lam, dW, db)
    return terms


sparse_cost = sparse_cost_and_grad
"""J_sparse(W,b) alone, by one forward pass: ``sparse_cost_and_grad`` without dW, db."""


# --- the network ----------------------------------------------------------------------------


def autoencoder_network(
    n_visible: int,
    n_hidden: int,
    *,
    weight_decay: float = 1e-4,
    linear_decoder: bool = False,
    dtype: Any = np.float64,
    seed: int | np.random.Generator | None = None,
) -> Network:
    """The network [s₁, s₂, s₁] = [n_visible, n_hidden, n_visible] of a sparse autoencoder.

    Sigmoid hidden units (ρ̂ must lie in (0, 1)), the squared error, UFLDL's
    initialisation W ~ U[−r, r], r = √6/√(s₁ + s₂ + 1), biases 0. The decoder is a
    sigmoid, or the identity with ``linear_decoder`` (for inputs outside [0, 1]).

    >>> autoencoder_network(64, 25, seed=0)
    Network(64-25-64, activation='sigmoid', output_activation='sigmoid', cost='squared_error', \
weight_decay=0.0001, dtype=float64)
    """
    return Network(
        [n_visible, n_hidden, n_visible],
        activation="sigmoid",
        output_activation="identity" if linear_decoder else "sigmoid",
        cost="squared_error",
        weight_decay=weight_decay,
        init="ufldl",
        dtype=dtype,
        seed=seed,
    )


def check_autoencoder(net: Network) -> None:
    """Raise ValueError unless ``net`` can be trained as a sparse autoencoder."""
    sizes = net.layer_sizes
    if len(sizes) != 3 or sizes[0] != sizes[2]:
        shape = "-".join(map(str, sizes))
        raise ValueError(
            f"net: a sparse autoencoder has layers [s1, s2, s1] (input = output), got {shape}"
        )
    if net.activation_name != "sigmoid":
        raise ValueError(
            f"net: the hidden activation must be 'sigmoid' so that every ρ̂_j lies in (0, 1), "
            f"got {net.activation_label!r}"
        )
    if net.cost.name != "squared_error":
        raise ValueError(f"net: the cost must be 'squared_error', got {net.cost.name!r}")


def check_sparsity(sparsity_target: Any, beta: Any) -> tuple[float, float]:
    """ρ ∈ (0, 1) and β ≥ 0 as floats, or a ValueError naming the argument."""
    rho = check_real("sparsity_target", sparsity_target)
    if not 0.0 < rho < 1.0:
        raise ValueError(f"sparsity_target (ρ) must lie strictly between 0 and 1, got {rho!r}")
    return rho, check_real("beta", beta, low=0.0)


@dataclass
class SparseHistory(History):
    """A :class:`~deltaprop.training.History` with the sparsity penalty and ρ̂ added.

    One entry per L-BFGS iteration: ``train_loss`` is J_sparse, ``train_data``
    the reconstruction term (1/m) Σᵢ ½‖h(x⁽ⁱ⁾) − x⁽ⁱ⁾‖², ``train_decay`` (λ/2) Σ W²,
    ``train_sparsity`` β Σ_j KL(ρ ‖ ρ̂_j), ``mean_activation`` the mean over hidden
    units of ρ̂_j, and ``steps`` the evaluations of J_sparse so far. Accuracies,
    validation figures and learning rates are NaN: there are none.
    """

    train_sparsity: list[float] = field(default_factory=list)
    mean_activation: list[float] = field(default_factory=list)
    converged: bool = False


class SparseObjective(OnNetwork):
    """J_sparse(W,b) = J(W,b) + β Σ_j KL(ρ ‖ ρ̂_j) as an objective (``deltaprop.objective``).

    Its parts are the reconstruction term, the weight decay and the sparsity
    penalty; ``extra`` reports the mean over hidden units of ρ̂_j. The targets of a
    batch are ignored: the inputs are their own targets. ρ̂ is a mean over the
    batch, so the objective is not separable over examples and has no example
    weights. Training it with ``deltaprop.train(SparseObjective(net, ...), X, X)``
    changes ``net``'s θ.

    Args:
      net: a sparse autoencoder network (see :func:`autoencoder_network`); λ is its
        ``weight_decay``.
      sparsity_target: ρ, in (0, 1).
      beta: β ≥ 0.
      engine: "auto", "reference" or "numpy", as for ``NetworkObjective``: the
        numpy engine (``deltaprop.compiled``'s J_sparse) for numpy arrays of float32
        or float64 unless ``DELTAPROP_ENGINE=reference``; the readable
        :func:`sparse_cost_and_grad` for other namespaces and arrays.
    """

    part_names: tuple[str, ...] = ("data", "decay", "sparsity")
    separable = False

    def __init__(
        self,
        net: Network,
        *,
        sparsity_target: float = 0.01,
        beta: float = 3.0,
        engine: str = "auto",
    ) -> None:
        check_autoencoder(net)
        self.rho, self.beta = check_sparsity(sparsity_target, beta)
        super().__init__(net)
        fast = uses_numpy_engine(net.xp, engine)
        # The compiled J_sparse where it covers the network (else the readable functions).
        self._compiled = compiled.sparse_engine_for(net) if fast else None
        self.engine = "numpy" if self._compiled is not None else "reference"

    def new_history(self) -> SparseHistory:
        """The history a run of this objective fills: J's three parts and ρ̂ per epoch."""
        return SparseHistory()

    def float64(self) -> SparseObjective:
        """The same objective over a float64 copy of the network, by the reference engine
        (for gradient checks)."""
        twin = float64_copy(self.net)
        return SparseObjective(twin, sparsity_target=self.rho, beta=self.beta, engine="reference")

    def evaluate(self, theta: Array, batch: Batch, grad: Array) -> Terms:
        """J_sparse's three parts at θ over the batch's inputs, ∇J_sparse into ``grad``."""
        x = self._x(batch)
        engine = self._compiled
        if engine is not None and engine.covers(theta, grad, x):  # the numpy engine
            return self._terms(self._run(engine, theta, grad, x))
        net = self.net
        W, b = self._views(theta)
        dW, db = net.unpack(grad)
        args = (net.activations, net.cost, net.weight_decay, self.rho, self.beta)
        return self._terms(sparse_cost_and_grad(self.xp, W, b, *args, x, dW, db))

    def value(self, theta: Array, batch: Batch) -> Terms:
        """J_sparse's three parts without the gradient."""
        x = self._x(batch)
        engine = self._compiled
        if engine is not None and engine.covers(theta, None, x):
            return self._terms(self._run(engine, theta, None, x))
        net = self.net
        W, b = self._views(theta)
        args = (net.activations, net.cost, net.weight_decay, self.rho, self.beta)
        return self._terms(sparse_cost(self.xp, W, b, *args, x))

    def _run(
        self, engine: compiled.SparseEngine, theta: Array, grad: Array | None, x: Array
    ) -> SparseTerms:
        """The compiled ``sparse_cost_and_grad``: the same SparseTerms, ∇J into ``grad``."""
        run = engine.cost_and_grad(theta, grad, x, (self.net.weight_decay, self.rho, self.beta))
        return SparseTerms(
            run.data, run.decay, run.sparsity, run.rho_hat, run.rho_hat_c, run.output
        )

    def accuracy(self, output: Array, y: Array) -> float:
        """NaN: an autoencoder does not classify."""
        return math.nan

    @staticmethod
    def _x(batch: Batch) -> Array:
        if batch.w is not None:
            raise ValueError("sample_weight: J_sparse has no example weights (ρ̂ is a plain mean)")
        if is_sparse(batch.x):
            raise ValueError(
                "X: a sparse autoencoder reconstructs X, its own target, so X must be dense; "
                "pass X.toarray() (scipy.sparse input is for Network and the MLP estimators)"
            )
        return batch.x

    def _terms(self, terms: SparseTerms) -> Terms:
        parts = (float(terms.data), float(terms.decay), float(terms.sparsity))
        rho_hat = float(np.mean(to_numpy(terms.rho_hat)))
        return Terms(parts, terms.output, {"mean_activation": rho_hat})


def sparse_objective(
    net: Network, X: Any, *, sparsity_target: float = 0.01, beta: float = 3.0
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """θ ↦ (J_sparse(θ), ∇J_sparse(θ)) on the inputs X, float64 numpy vectors in θ's layout.

    The contract of ``deltaprop.optim.minimize_lbfgs``; the arithmetic runs in the
    network's namespace and dtype, through :class:`SparseObjective`. ``net`` is
    not changed.

    >>> import numpy as np
    >>> net = autoencoder_network(4, 2, seed=0)
    >>> fun = sparse_objective(net, np.full((3, 4), 0.5), sparsity_target=0.1)
    >>> J, g = fun(net.params)
    >>> g.shape == net.params.shape
    True
    """
    objective = SparseObjective(net, sparsity_target=sparsity_target, beta=beta)
    x = net.check_X(X)
    batch = Batch(x, x)
    grad = net.xp.empty_like(net.params)

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        terms = objective.evaluate(net.from_host(np.asarray(theta)), batch, grad)
        return terms.total, to_numpy(grad).astype(np.float64)  # a fresh array: scipy keeps it

    return fun


def mean_activation(net: Network, X: Any) -> np.ndarray:
    """ρ̂ = (1/m) Σᵢ a⁽²⁾(x⁽ⁱ⁾), the mean activation of each hidden unit (float64, (s₂,))."""
    return np.asarray(to_numpy(net.xp.mean(encode(net, X), axis=0)), dtype=np.float64)


def encode(net: Network, X: Any) -> Array:
    """The hidden activations a⁽²⁾ = f(W⁽¹⁾x + b⁽¹⁾), shape (m, s₂): the learned features."""
    x = net.check_X(X)
    _, acts = backprop.propagate(net.xp, net.W[:1], net.b[:1], net.activations[:1], x, 0)
    return acts[0]


# --- gradient check --------------------------------------------------------------------------


def check_sparse_gradient(
    net: Network,
    X: Any,
    *,
    sparsity_target: float = 0.01,
    beta: float = 3.0,
    **options: Any,
) -> GradientCheck:
    """∇J_sparse by backpropagation against central differences: ``check_gradient`` on
    :class:`SparseObjective`.

    ĝ_p = (J_sparse(θ + ε e_p) − J_sparse(θ − ε e_p)) / (2ε), compared with the
    analytic g by ‖g − ĝ‖/‖g + ĝ‖, overall and per W⁽ˡ⁾, b⁽ˡ⁾. Always in float64,
    whatever the network's dtype. UFLDL's exercise checks with ε = 1e-4 on 10
    patches and expects a difference below 1e-9.

    Args:
      net: a sparse autoencoder network (see :func:`autoencoder_network`); unchanged.
      X: the inputs (m, s₁).
      sparsity_target, beta: ρ and β.
      options: ``params``, ``epsilon``, ``threshold``, ``layer_threshold``,
        ``max_coords``, ``seed``, as for :func:`deltaprop.check_gradient`.

    >>> net = autoencoder_network(8, 3, seed=0)
    >>> X = np.random.default_rng(1).uniform(0.1, 0.9, size=(10, 8))
    >>> check_sparse_gradient(net, X).relative_error < 1e-9
    True
    """
    objective = SparseObjective(net, sparsity_target=sparsity_target, beta=beta)
    return check_gradient(objective, X, X, **options)
