"""The same training run in deltaprop, scikit-learn's MLPClassifier and PyTorch.

A :class:`Spec` fixes the work: data, layer sizes, activation, softmax +
cross-entropy, optimizer, learning rate, momentum, batch size, epochs and dtype.
Every system starts from the same initial weights (deltaprop's initialisation,
copied into the others) and returns its final weights in deltaprop's flat layout,
so one loss function scores them all.

Every step-based system also takes the same mini-batches: deltaprop's epoch orders
(:func:`epoch_orders`) are handed to the others, so that one epoch of each gives the
same θ (tests/test_benchmarks.py holds them to it).

- deltaprop: ``dp.train`` with all its features on (history, accuracy, divergence
  guard), exactly as a user calls it.
- scikit-learn: ``MLPClassifier`` with the matching solver; ``warm_start`` carries the
  initial weights in, :class:`SharedOrder` the epoch orders.
- PyTorch: a plain ``nn.Sequential`` and ``torch.optim`` (SGD, Adam or LBFGS), the
  training tensors indexed directly with the epoch's order, no DataLoader.
- JAX (``jax_scan.py``, where installed): jit + ``lax.scan`` over each whole epoch.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from harness import Run, System, timed

import deltaprop as dp

ACTIVATIONS = {"relu": ("relu", "ReLU"), "sigmoid": ("logistic", "Sigmoid")}
"""deltaprop's activation name -> (scikit-learn's, torch.nn's)."""


@dataclass(frozen=True)
class Spec:
    """One training workload, the same for every system.

    Attributes:
      X: inputs (m, s_1) in ``dtype``; labels: class indices (m,).
      sizes: layer sizes s_1 … s_{n_l}.
      activation: of the hidden layers ("relu" or "sigmoid"); the output is softmax
        with cross-entropy.
      optimizer: "sgd" (with ``momentum``, 0 for plain SGD), "adam" or "lbfgs".
      lr, momentum, batch: the step-based optimizer's settings.
      beta1, beta2, eps: Adam's β₁, β₂ and ε.
      units: epochs per timed repetition (L-BFGS: iterations).
      seed: the initial weights' seed, and the shuffles'.
      per_step: report time per optimizer step instead of per epoch.
    """

    X: np.ndarray
    labels: np.ndarray
    sizes: tuple[int, ...]
    activation: str
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    batch: int = 200
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    units: int = 1
    seed: int = 0
    per_step: bool = False

    @property
    def dtype(self) -> np.dtype:
        """The dtype of X, and of every system's parameters."""
        return self.X.dtype

    @property
    def m(self) -> int:
        """The number of training examples."""
        return int(self.X.shape[0])

    @property
    def onehot(self) -> np.ndarray:
        """The labels as one-hot rows (deltaprop's targets)."""
        return np.eye(self.sizes[-1], dtype=self.dtype)[self.labels]

    def count(self, epochs: int) -> int:
        """Units of time for ``epochs`` epochs: epochs, or steps when ``per_step``."""
        return epochs * math.ceil(self.m / self.batch) if self.per_step else epochs

    def network(self, xp: Any = None) -> dp.Network:
        """A fresh deltaprop network with the shared initial weights."""
        return dp.Network(
            self.sizes,
            activation=self.activation,
            cost="cross_entropy",
            dtype=self.dtype,
            seed=self.seed,
            xp=xp,
        )

    def theta0(self) -> np.ndarray:
        """The shared initial θ (float64)."""
        return np.asarray(self.network().params, dtype=np.float64)


def final_loss(spec: Spec, theta: np.ndarray) -> float:
    """J over all of spec's training data at θ, in float64 (λ = 0): one scorer for all."""
    net = dp.Network(spec.sizes, activation=spec.activation, cost="cross_entropy")
    net.params = theta
    data, _ = net.cost_terms(spec.X.astype(np.float64), spec.onehot.astype(np.float64))
    return data


def unpack(spec: Spec, theta: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """W[k] (s_out, s_in) and b[k] views of a flat θ."""
    return dp.Layout(spec.sizes).unpack(np, theta)


def epoch_orders(spec: Spec) -> Iterator[np.ndarray]:
    """deltaprop's order of the m examples in each epoch, one epoch after another.

    ``dp.train(seed=s)`` draws a fresh permutation per epoch from
    ``np.random.default_rng(s)`` (``deltaprop.runconfig.shuffled``); the other systems
    are handed the same orders, so that every system takes the same mini-batches.
    """
    rng = np.random.default_rng(spec.seed)
    while True:
        yield rng.permutation(spec.m)


def step_kwargs(spec: Spec) -> dict[str, Any]:
    """``dp.train``'s optimizer arguments for spec."""
    if spec.optimizer == "lbfgs":
        return {"optimizer": "lbfgs", "tol": 0.0}
    common = {"learning_rate": spec.lr, "batch_size": spec.batch}
    if spec.optimizer == "adam":
        return {
            "optimizer": "adam",
            "beta1": spec.beta1,
            "beta2": spec.beta2,
            "adam_epsilon": spec.eps,
            **common,
        }
    name = "momentum" if spec.momentum else "sgd"
    return {"optimizer": name, "momentum": spec.momentum, **common}


# --- deltaprop -------------------------------------------------------------------------------


def deltaprop_system(spec: Spec, xp: Any = None, engine: str = "auto") -> System:
    """``dp.train`` on the spec (``xp="torch"`` for deltaprop's torch array backend).

    ``engine="reference"`` trains numpy arrays through backprop's readable functions
    instead of the numpy engine (``deltaprop.compiled``): the fenced code's gain.
    """
    Y = spec.onehot

    def system(warmup: bool) -> Run:
        net = spec.network(xp)
        units = 1 if warmup else spec.units
        kwargs = step_kwargs(spec)
        objective = dp.NetworkObjective(net, engine=engine)
        seconds, hist = timed(
            lambda: dp.train(objective, spec.X, Y, epochs=units, seed=spec.seed, **kwargs)
        )
        theta = np.array(net.params, dtype=np.float64)
        if spec.optimizer == "lbfgs":  # per evaluation of J and ∇J
            return Run(seconds, hist.steps[-1], theta)
        return Run(seconds, spec.count(units), theta)

    return system


# --- scikit-learn ----------------------------------------------------------------------------


class SharedOrder(np.random.RandomState):
    """A RandomState whose ``shuffle`` makes scikit-learn's epochs follow :func:`epoch_orders`.

    ``MLPClassifier`` re-orders its sample indices once per epoch, ``idx := idx[p]``,
    with p = ``arange(m)`` shuffled by its random state (``sklearn.utils.shuffle``);
    this one writes the p that turns the current order into deltaprop's next one.
    Nothing else draws from it in a warm-started fit without early stopping;
    tests/test_benchmarks.py checks the outcome (the same θ after an epoch).
    """

    def __init__(self, spec: Spec) -> None:
        super().__init__(spec.seed)
        self._orders = epoch_orders(spec)
        self._current = np.arange(spec.m)

    def shuffle(self, x: Any) -> None:
        """Write into x (``arange(m)``) the permutation that gives the next epoch's order."""
        following = next(self._orders)
        position = np.empty_like(self._current)
        position[self._current] = np.arange(self._current.size)  # current[position[i]] = i
        x[...] = position[following]
        self._current = following


class TwoColumns:
    """Two classes as two one-hot columns, for scikit-learn's label binarizer.

    scikit-learn trains a single logistic output for two classes (a 50-100-100-1
    network for P6); with this in place of its ``LabelBinarizer`` it trains the same
    two-output softmax with cross-entropy as the other systems.
    """

    y_type_ = "multiclass"

    def __init__(self, classes: np.ndarray) -> None:
        self.classes_ = classes

    def transform(self, y: Any) -> np.ndarray:
        """One-hot rows (m, 2)."""
        return np.eye(2)[np.searchsorted(self.classes_, np.asarray(y))]

    def inverse_transform(self, Y: Any) -> np.ndarray:
        """The class of each row's largest column."""
        return np.asarray(self.classes_[np.argmax(np.asarray(Y), axis=1)])


def sklearn_model(spec: Spec) -> Any:
    """An ``MLPClassifier`` set up for spec, holding the shared initial weights.

    A fit on one example of every class makes scikit-learn build its layers; the
    shared θ is then copied in and ``warm_start`` keeps it for the next ``fit``.
    """
    from sklearn.neural_network import MLPClassifier

    W0, b0 = unpack(spec, spec.theta0())
    # Its warm start needs every class in the labels, or its output layer would shrink.
    missing = sorted(set(range(spec.sizes[-1])) - set(spec.labels.tolist()))
    if missing:
        raise ValueError(
            f"the labels never use classes {missing} of {spec.sizes[-1]}; scikit-learn's "
            "warm start needs every class present (make the data with all of them)"
        )
    firsts = np.array([np.flatnonzero(spec.labels == c)[0] for c in range(spec.sizes[-1])])
    common: dict[str, Any] = dict(
        hidden_layer_sizes=spec.sizes[1:-1],
        activation=ACTIVATIONS[spec.activation][0],
        alpha=0.0,
        max_iter=1,
        random_state=spec.seed,
        warm_start=True,
    )
    if spec.optimizer == "lbfgs":
        clf = MLPClassifier(solver="lbfgs", tol=0.0, **common)
    else:
        step: dict[str, Any] = {"learning_rate_init": spec.lr, "batch_size": spec.batch}
        if spec.optimizer == "adam":
            step.update(solver="adam", beta_1=spec.beta1, beta_2=spec.beta2, epsilon=spec.eps)
        else:
            step.update(
                solver="sgd",
                learning_rate="constant",
                momentum=spec.momentum,
                nesterovs_momentum=False,
            )
        clf = MLPClassifier(shuffle=True, n_iter_no_change=10**9, tol=0.0, **step, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the set-up fit's batch is larger than its data
        clf.fit(spec.X[firsts], spec.labels[firsts])  # sets classes_ and the layers
    if spec.sizes[-1] == 2:
        clf._label_binarizer = TwoColumns(clf.classes_)
        clf.out_activation_ = "softmax"
    # scikit-learn's coefs_ are (s_in, s_out)
    clf.coefs_ = [np.array(W.T, dtype=spec.dtype) for W in W0]
    clf.intercepts_ = [np.array(b, dtype=spec.dtype) for b in b0]
    return clf


def sklearn_theta(clf: Any) -> np.ndarray:
    """An ``MLPClassifier``'s weights in deltaprop's flat layout (float64)."""
    return np.concatenate(
        [c.T.ravel() for c in clf.coefs_] + [i.ravel() for i in clf.intercepts_]
    ).astype(np.float64)


def sklearn_system(spec: Spec) -> System:
    """``MLPClassifier`` on the spec, from the shared weights, in the shared epoch orders."""
    from sklearn.exceptions import ConvergenceWarning

    def system(warmup: bool) -> Run:
        units = 1 if warmup else spec.units
        clf = sklearn_model(spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.set_params(max_iter=units, random_state=SharedOrder(spec))
            evaluations = [0]
            if spec.optimizer == "lbfgs":
                inner = clf._loss_grad_lbfgs

                def counted(*args: Any) -> Any:
                    evaluations[0] += 1
                    return inner(*args)

                clf._loss_grad_lbfgs = counted
            seconds, _ = timed(lambda: clf.fit(spec.X, spec.labels))
        theta = sklearn_theta(clf)
        if spec.optimizer == "lbfgs":
            return Run(seconds, evaluations[0], theta)
        return Run(seconds, spec.count(units), theta)

    return system


# --- PyTorch ---------------------------------------------------------------------------------


def torch_model(spec: Spec) -> Any:
    """``nn.Sequential`` of Linear layers and the activation, holding the shared weights."""
    import torch

    dtype = getattr(torch, spec.dtype.name)
    W0, b0 = unpack(spec, spec.theta0())
    layers: list[Any] = []
    for k, (s_in, s_out) in enumerate(zip(spec.sizes[:-1], spec.sizes[1:], strict=True)):
        linear = torch.nn.Linear(s_in, s_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W0[k]))
            linear.bias.copy_(torch.from_numpy(b0[k]))
        layers.append(linear)
        if k < len(W0) - 1:
            layers.append(getattr(torch.nn, ACTIVATIONS[spec.activation][1])())
    return torch.nn.Sequential(*layers)


def torch_theta(model: Any) -> np.ndarray:
    """The model's weights in deltaprop's flat layout."""
    linears = [layer for layer in model if hasattr(layer, "weight")]
    parts = [lin.weight.detach().numpy().ravel() for lin in linears]
    parts += [lin.bias.detach().numpy().ravel() for lin in linears]
    return np.concatenate(parts).astype(np.float64)


def torch_lbfgs(model: Any, X: Any, y: Any, loss_fn: Any, iterations: int) -> int:
    """PyTorch's full-batch L-BFGS (strong Wolfe, history 10, no early stop); evaluations made."""
    import torch

    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=iterations,
        history_size=10,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )
    evaluations = [0]

    def closure() -> Any:
        evaluations[0] += 1
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        return loss

    opt.step(closure)
    return evaluations[0]


def torch_system(spec: Spec) -> System:
    """PyTorch: ``nn.Sequential``, ``nn.CrossEntropyLoss``, ``torch.optim``, the shared orders."""
    import torch

    X = torch.from_numpy(spec.X)
    y = torch.from_numpy(spec.labels.astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()

    def steps(model: Any, epochs: int) -> None:
        if spec.optimizer == "adam":
            opt: Any = torch.optim.Adam(
                model.parameters(), lr=spec.lr, betas=(spec.beta1, spec.beta2), eps=spec.eps
            )
        else:
            opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
        orders = epoch_orders(spec)
        m, bs = spec.m, spec.batch
        for _ in range(epochs):
            order = torch.from_numpy(next(orders))
            total = 0.0
            for first in range(0, m, bs):
                idx = order[first : first + bs]
                opt.zero_grad()
                loss = loss_fn(model(X[idx]), y[idx])
                loss.backward()
                opt.step()
                total += loss.item() * idx.shape[0]  # the epoch's loss, as the others keep
            if not math.isfinite(total):
                raise FloatingPointError("PyTorch's training loss is not finite")

    def lbfgs(model: Any, iterations: int) -> int:
        return torch_lbfgs(model, X, y, loss_fn, iterations)

    def system(warmup: bool) -> Run:
        units = 1 if warmup else spec.units
        model = torch_model(spec)
        if spec.optimizer == "lbfgs":
            seconds, evaluations = timed(lambda: lbfgs(model, units))
            return Run(seconds, evaluations, torch_theta(model))
        seconds, _ = timed(lambda: steps(model, units))
        return Run(seconds, spec.count(units), torch_theta(model))

    return system


def with_units(spec: Spec, units: int) -> Spec:
    """The spec with another number of epochs (iterations) per repetition."""
    return replace(spec, units=units)
