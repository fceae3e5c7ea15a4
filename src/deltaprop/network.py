"""The network: architecture, the flat parameter vector θ, and initialisation.

All parameters live in one contiguous 1-D array θ, "unrolled" as in UFLDL:
first every weight matrix, W⁽¹⁾ … W⁽ⁿˡ⁻¹⁾ (each row-major), then every bias,
b⁽¹⁾ … b⁽ⁿˡ⁻¹⁾. Each W⁽ˡ⁾ and b⁽ˡ⁾ is a view into θ, and the gradient is a flat
vector with the same layout, so optimizers, gradient checking, checkpoints and
an all-reduce each see a single array. Because the weights come first, the
weight-decay part of θ is the prefix θ[:n_weights].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from . import backprop
from ._arrays import (
    Array,
    Namespace,
    as_matrix,
    check_real_finite,
    dtype_name,
    resolve_namespace,
)
from ._arrays import to_numpy as _to_numpy
from ._devices import placed, resolve_device
from ._sparse import as_csr, is_sparse
from ._validate import check_real as _check_real
from .activations import Activation, get_activation, hidden_activations
from .costs import Cost, get_cost

INITS = ("ufldl", "glorot", "he")


@dataclass(frozen=True)
class Layout:
    """Where each W⁽ˡ⁾ and b⁽ˡ⁾ sits in the flat vector θ, for layer sizes s_1 … s_{n_l}."""

    sizes: tuple[int, ...]

    @property
    def n_weights(self) -> int:
        """Σ_l s_{l+1} s_l: the length of θ's weight prefix."""
        return sum(o * i for i, o in zip(self.sizes[:-1], self.sizes[1:], strict=True))

    @property
    def n_params(self) -> int:
        """The length of θ."""
        return self.n_weights + sum(self.sizes[1:])

    def spans(self) -> list[tuple[str, int, int, tuple[int, ...]]]:
        """(name, start, stop, shape) of W1 … W_{L}, then b1 … b_{L}, in θ's order."""
        out: list[tuple[str, int, int, tuple[int, ...]]] = []
        pos = 0
        pairs = list(zip(self.sizes[:-1], self.sizes[1:], strict=True))
        for l, (s_in, s_out) in enumerate(pairs, start=1):
            out.append((f"W{l}", pos, pos + s_out * s_in, (s_out, s_in)))
            pos += s_out * s_in
        for l, (_, s_out) in enumerate(pairs, start=1):
            out.append((f"b{l}", pos, pos + s_out, (s_out,)))
            pos += s_out
        return out

    def unpack(self, xp: Namespace, theta: Array) -> tuple[list[Array], list[Array]]:
        """Views W[k], b[k] into the flat ``theta`` (no copies), in :meth:`spans`' order."""
        W, b, pos = [], [], 0
        for s_in, s_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            W.append(xp.reshape(theta[pos : pos + s_out * s_in], (s_out, s_in)))
            pos += s_out * s_in
        for s_out in self.sizes[1:]:
            b.append(theta[pos : pos + s_out])
            pos += s_out
        return W, b

    def pack(self, xp: Namespace, W: Sequence[Array], b: Sequence[Array]) -> Array:
        """The flat θ holding W and b: the inverse of :meth:`unpack`."""
        return xp.concat([xp.reshape(p, (-1,)) for p in (*W, *b)])


def init_params(sizes: Sequence[int], method: str, rng: np.random.Generator) -> np.ndarray:
    """Random initial θ (float64, numpy) for layer sizes s_1 … s_{n_l}; biases are 0.

    ufldl:  W ~ U[−r, r], r = √6 / √(s_l + s_{l+1} + 1)            (UFLDL's default)
    glorot: W ~ U[−r, r], r = √6 / √(s_l + s_{l+1})                (Glorot & Bengio 2010)
    he:     W ~ N(0, 2 / s_l)                                      (He et al. 2015)
    """
    layout = Layout(tuple(sizes))
    theta = np.zeros(layout.n_params)
    for _, start, stop, shape in layout.spans()[: len(sizes) - 1]:
        s_out, s_in = shape
        if method == "ufldl":
            r = math.sqrt(6) / math.sqrt(s_in + s_out + 1)
            theta[start:stop] = rng.uniform(-r, r, size=stop - start)
        elif method == "glorot":
            r = math.sqrt(6) / math.sqrt(s_in + s_out)
            theta[start:stop] = rng.uniform(-r, r, size=stop - start)
        elif method == "he":
            theta[start:stop] = rng.normal(0.0, math.sqrt(2.0 / s_in), size=stop - start)
        else:
            raise ValueError(f"init: unknown method {method!r}; choose one of: {', '.join(INITS)}")
    return theta


def default_init(activation: Activation | Sequence[Activation]) -> str:
    """UFLDL's uniform init for sigmoid, He for the relu family, Glorot otherwise.

    With one activation per hidden layer: "ufldl" if all are sigmoid, "he" if
    all are of the relu family, "glorot" for a mix.
    """
    names = (
        {activation.name} if isinstance(activation, Activation) else {a.name for a in activation}
    )
    if names == {"sigmoid"}:
        return "ufldl"
    if names and names <= {"relu", "leaky_relu"}:
        return "he"
    return "glorot"


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from an int seed, a Generator (used as is) or None (fresh entropy)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (
        isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0
    ):
        return np.random.default_rng(seed)
    raise ValueError(f"seed: expected a non-negative int, a numpy Generator or None, got {seed!r}")


class Network:
    """A fully-connected feed-forward network with cost J(W,b).

    J(W,b) = (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) + (λ/2) Σ_l Σ_i Σ_j (W_ji⁽ˡ⁾)²

    Args:
      layer_sizes: s_1 … s_{n_l}, input first; at least two layers of ≥ 1 unit.
      activation: f of the hidden layers (default "sigmoid", the seed's), or a
        sequence of one per hidden layer, e.g. ("relu", "tanh").
      output_activation: f of the output layer; by default what the cost needs
        ("softmax" for cross_entropy, "sigmoid" for binary_cross_entropy, "exp"
        for poisson) and "sigmoid" for squared_error, as in the seed.
      cost: "squared_error" (½‖h(x) − y‖²), "cross_entropy", "binary_cross_entropy"
        or "poisson" (half the Poisson deviance, for counts).
      weight_decay: λ ≥ 0.
      init: "ufldl", "glorot" or "he"; by default by activation (see default_init).
      dtype: float32 or float64; data and gradients keep it.
      seed: an int, a numpy Generator, or None for fresh randomness.
      xp: the array namespace or library (numpy by default; "torch",
        "array_api_strict", "cupy", or the module).
      device: where xp's arrays live: "cpu", "cuda", "cuda:1" (torch, CuPy);
        None is the namespace's default. Inputs must be there too (see
        ``deltaprop._devices``); a device that cannot be used is a ValueError.

    >>> net = Network([3, 3, 2], seed=0)
    >>> net.params.shape, net.W[0].shape, net.b[1].shape
    ((20,), (3, 3), (2,))
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str | Activation | Sequence[str | Activation] = "sigmoid",
        output_activation: str | Activation | None = None,
        cost: str | Cost = "squared_error",
        weight_decay: float = 0.0,
        init: str | None = None,
        dtype: Any = np.float64,
        seed: int | np.random.Generator | None = None,
        xp: ModuleType | str | None = None,
        device: Any = None,
    ) -> None:
        self.layer_sizes = _check_sizes(layer_sizes)
        self.activation, self.hidden_activations = hidden_activations(
            activation, len(self.layer_sizes) - 2
        )
        self.cost = get_cost(cost)
        if output_activation is None:
            output_activation = self.cost.output_activation or "sigmoid"
        self.output_activation = get_activation(
            output_activation, argument="output_activation", hidden=False
        )
        _check_pairing(self.cost, self.output_activation, self.layer_sizes[-1])
        self.weight_decay = _check_real("weight_decay", weight_decay, low=0.0)
        self.init = init or default_init(self.activation)
        if self.init not in INITS:
            raise ValueError(f"init: unknown method {init!r}; choose one of: {', '.join(INITS)}")
        self.dtype = dtype_name(dtype)
        self.xp = resolve_namespace(xp)
        self.device = resolve_device(self.xp, device)
        self.seed = seed if isinstance(seed, int) else None
        self.layout = Layout(self.layer_sizes)
        theta = init_params(self.layer_sizes, self.init, make_rng(seed))
        self._theta = self.from_host(theta)
        self.W, self.b = self.layout.unpack(self.xp, self._theta)

    # --- structure -------------------------------------------------------------

    @property
    def n_layers(self) -> int:
        """n_l, counting the input layer."""
        return len(self.layer_sizes)

    @property
    def n_params(self) -> int:
        """The length of θ."""
        return self.layout.n_params

    @property
    def activations(self) -> list[Activation]:
        """f[k], the activation of layer k+2: hidden ones, then the output's."""
        return [*self.hidden_activations, self.output_activation]

    @property
    def activation_name(self) -> str | tuple[str, ...]:
        """The hidden activation's name, or a tuple of one name per hidden layer for a mix."""
        act = self.activation
        return act.name if isinstance(act, Activation) else tuple(a.name for a in act)

    @property
    def activation_label(self) -> str:
        """The hidden activation in words: its name, or the names per hidden layer: "relu, tanh"."""
        name = self.activation_name
        return name if isinstance(name, str) else ", ".join(name)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (
            f"Network({sizes}, activation={self.activation_name!r}, "
            f"output_activation={self.output_activation.name!r}, cost={self.cost.name!r}, "
            f"weight_decay={self.weight_decay:g}, dtype={self.dtype})"
        )

    # --- parameters --------------------------------------------------------------

    @property
    def params(self) -> Array:
        """θ: the flat parameter vector. W and b are views into it."""
        return self._theta

    @params.setter
    def params(self, theta: Any) -> None:
        self._theta[...] = self._check_theta(theta, "params")

    def unpack(self, theta: Array) -> tuple[list[Array], list[Array]]:
        """W and b as views into another flat vector with θ's layout."""
        return self.layout.unpack(self.xp, theta)

    def __getstate__(self) -> dict[str, Any]:
        """Picklable state: θ as a numpy array and the namespace by name (views rebuilt on load).

        Pickle is for the user's own objects (multiprocessing, scikit-learn's
        clone and joblib); files from elsewhere should be read with ``deltaprop.load``.
        """
        state = {k: v for k, v in self.__dict__.items() if k not in ("xp", "_theta", "W", "b")}
        state["xp_name"] = _namespace_name(self.xp)
        state["theta"] = np.array(_to_numpy(self._theta), dtype=np.dtype(self.dtype))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        xp_name, theta = state.pop("xp_name"), state.pop("theta")
        if "hidden_activations" not in state:  # pickled before per-layer activations
            state["hidden_activations"] = (state["activation"],) * (len(state["layer_sizes"]) - 2)
        self.__dict__.update(state)
        self.xp = resolve_namespace(xp_name)
        self._theta = self.from_host(theta)
        self.W, self.b = self.layout.unpack(self.xp, self._theta)

    def copy(self) -> Network:
        """An independent network with the same architecture and parameters."""
        other = object.__new__(Network)
        other.__dict__.update(self.__dict__)
        other._theta = self.xp.asarray(self._theta, copy=True)
        other.W, other.b = other.layout.unpack(self.xp, other._theta)
        return other

    def to(self, xp: ModuleType | str | None = None, device: Any = None) -> Network:
        """A copy whose arrays are ``xp``'s on ``device``: ``net.to("torch", "cuda")``.

        θ is copied once, through host memory; this network is untouched.
        """
        other = object.__new__(Network)
        other.__dict__.update(self.__dict__)
        other.xp = resolve_namespace(xp)
        other.device = resolve_device(other.xp, device)
        other._theta = other.from_host(np.array(_to_numpy(self._theta)))
        other.W, other.b = other.layout.unpack(other.xp, other._theta)
        return other

    def save(self, path: Any, *, metadata: Any = None, force: bool = True) -> None:
        """Write the model file (safetensors + JSON metadata, atomically); see ``io``."""
        from .modelformat import write_model  # the format alone: it knows nothing of Network

        write_model(self, path, metadata=metadata, force=force)

    # --- the seed's computations -------------------------------------------------

    def forward(self, X: Any) -> backprop.Trace:
        """The forward pass over X (m, s_1): every z⁽ˡ⁾ and a⁽ˡ⁾ (see backprop.forward)."""
        x = self.check_X(X)
        return backprop.forward(self.xp, self.W, self.b, self.activations, x)

    def predict(self, X: Any) -> Array:
        """h_{W,b}(x) = a⁽ⁿˡ⁾ for every row of X."""
        return self.forward(X).output

    def cost_terms(
        self, X: Any, Y: Any, params: Any = None, sample_weight: Any = None
    ) -> tuple[float, float]:
        """The two parts of J(W,b): data term (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾) and (λ/2) Σ W²."""
        x, y = self.check_data(X, Y)
        w = self.check_sample_weight(sample_weight, x.shape[0])
        W, b = self._views(params)
        trace = backprop.forward(self.xp, W, b, self.activations, x)
        data = backprop.data_term(self.xp, self.cost, trace, y, w)
        return float(data), float(backprop.weight_decay(self.xp, W, self.weight_decay))

    def cost_and_grad(
        self, X: Any, Y: Any, params: Any = None, sample_weight: Any = None
    ) -> tuple[float, Array]:
        """J(W,b) and ∇J, a flat vector with θ's layout, for the batch (X, Y).

        Args:
          X: inputs, shape (m, s_1).
          Y: targets, shape (m, s_{n_l}); 1-D when there is one output.
          params: evaluate at this θ instead of the network's own; the network is
            not changed.
          sample_weight: optional weights wᵢ ≥ 0 of the m examples; the data term
            becomes the weighted average (Σᵢ wᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)) / Σᵢ wᵢ.
        """
        x, y = self.check_data(X, Y)
        w = self.check_sample_weight(sample_weight, x.shape[0])
        theta = self._theta if params is None else self._check_theta(params, "params")
        grad = self.xp.empty_like(theta)
        data, decay, _ = self.evaluate(x, y, theta, grad, w)
        return float(data) + float(decay), grad

    def evaluate(
        self,
        x: Array,
        y: Array,
        theta: Array,
        grad: Array,
        sample_weight: Array | None = None,
    ) -> tuple[Array, Array, Array]:
        """cost_and_grad without checks, for arrays already converted by check_data.

        Writes ∇J into ``grad`` and returns the data term and weight decay as 0-d
        arrays, and the output a⁽ⁿˡ⁾, by ``backprop.cost_and_grad``: the
        definition, in any namespace. Training goes through
        ``deltaprop.objective.NetworkObjective``, which runs the numpy engine on
        numpy arrays.
        """
        xp, layout = self.xp, self.layout
        W, b = (self.W, self.b) if theta is self._theta else layout.unpack(xp, theta)
        dW, db = layout.unpack(xp, grad)
        return backprop.cost_and_grad(
            xp, W, b, self.activations, self.cost, self.weight_decay, x, y, dW, db, sample_weight
        )

    # --- input checks --------------------------------------------------------------

    def check_X(self, X: Any) -> Array:
        """X as an (m, s_1) array of this network's namespace and dtype, or a ValueError.

        A scipy.sparse X (CSR, CSC or COO) stays sparse: CSR of the network's dtype.
        """
        if is_sparse(X):
            what = "features, the network's input layer has"
            columns, xp, dtype = self.layer_sizes[0], self.xp, self._xp_dtype
            return as_csr("X", X, columns=columns, what=what, xp=xp, dtype=dtype)
        return as_matrix(
            "X",
            X,
            columns=self.layer_sizes[0],
            what="features, the network's input layer has",
            **self._convert_args(),
        )

    def check_data(self, X: Any, Y: Any) -> tuple[Array, Array]:
        """X and Y converted and checked against each other and the cost."""
        x = self.check_X(X)
        if is_sparse(Y):
            raise ValueError(
                f"Y is a scipy.sparse {type(Y).__name__}; targets must be dense: pass Y.toarray()"
            )
        y = as_matrix(
            "Y",
            Y,
            columns=self.layer_sizes[-1],
            what="columns, the network's output layer has",
            allow_vector=True,
            **self._convert_args(),
        )
        if y.shape[0] != x.shape[0]:
            raise ValueError(
                f"Y has {y.shape[0]} rows but X has {x.shape[0]}; they need one row per example"
            )
        self.cost.check_targets(_to_numpy(y))
        return x, y

    def check_sample_weight(self, sample_weight: Any, m: int) -> Array | None:
        """Example weights as a (m,) array of this network's namespace and dtype, or None."""
        if sample_weight is None:
            return None
        placed("sample_weight", sample_weight, self.xp, self.device)  # where X must be too
        host = np.asarray(
            _to_numpy(sample_weight) if hasattr(sample_weight, "__dlpack__") else sample_weight
        )
        if host.shape != (m,):
            raise ValueError(
                f"sample_weight must have one weight per example, shape ({m},), "
                f"got shape {host.shape}"
            )
        check_real_finite("sample_weight", host)
        if np.any(host < 0) or not np.sum(host) > 0:
            raise ValueError("sample_weight must be ≥ 0 with a positive sum")
        return self.from_host(host)

    def _convert_args(self) -> dict[str, Any]:
        return {"xp": self.xp, "dtype": self._xp_dtype, "device": self.device}

    @property
    def _xp_dtype(self) -> Any:
        return np.dtype(self.dtype) if self.xp is np else getattr(self.xp, self.dtype)

    def from_host(self, host: np.ndarray) -> Array:
        """A numpy array as an array of this network's namespace, dtype and device.

        No copy when it is already a C-contiguous numpy array of the right dtype.
        """
        host = np.ascontiguousarray(host, dtype=np.dtype(self.dtype))
        if self.xp is np:
            return host
        return self.xp.asarray(host, device=self.device)

    def _check_theta(self, theta: Any, name: str) -> Array:
        host = _to_numpy(theta) if not isinstance(theta, np.ndarray | list | tuple) else theta
        host = np.asarray(host)
        if host.shape != (self.n_params,):
            raise ValueError(
                f"{name} must be a flat vector of {self.n_params} numbers (the network's θ), "
                f"got shape {host.shape}"
            )
        check_real_finite(name, host)
        return self.from_host(host)

    def _views(self, params: Any) -> tuple[list[Array], list[Array]]:
        if params is None:
            return self.W, self.b
        return self.unpack(self._check_theta(params, "params"))


def _namespace_name(xp: Namespace) -> str:
    """The import name that resolve_namespace turns back into ``xp``."""
    if xp is np:
        return "numpy"
    name = str(getattr(xp, "__name__", ""))
    return name.removeprefix("array_api_compat.")


def _check_sizes(layer_sizes: Any) -> tuple[int, ...]:
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise ValueError(
            f"layer_sizes: expected a sequence of unit counts such as [64, 25, 64], "
            f"got {layer_sizes!r}"
        ) from None
    if len(sizes) < 2:
        raise ValueError(
            f"layer_sizes: need at least an input and an output layer, got {len(sizes)} "
            f"layer(s): {sizes}"
        )
    for i, s in enumerate(sizes):
        if isinstance(s, bool) or not isinstance(s, int | np.integer):
            raise ValueError(f"layer_sizes[{i}] must be a whole number of units, got {s!r}")
        if s < 1:
            raise ValueError(f"layer_sizes[{i}] is {s}; every layer needs at least 1 unit")
    return tuple(int(s) for s in sizes)


def _check_pairing(cost: Cost, output: Activation, n_out: int) -> None:
    need = cost.output_activation
    if need is not None and output.name != need:
        raise ValueError(
            f"cost {cost.name!r} needs output_activation={need!r}, got {output.name!r}"
        )
    if output.name == "softmax" and n_out < 2:
        raise ValueError(
            "output_activation 'softmax' needs at least 2 output units (one gives a constant 1); "
            "for one binary output use sigmoid with binary_cross_entropy"
        )
