"""The same training run in deltaprop, scikit-learn's MLPClassifier and PyTorch.

A :class:`Spec` fixes the work: data, layer sizes, activation, softmax +
cross-entropy, optimizer, learning rate, momentum, batch size, epochs and dtype.
Every system starts from the same initial weights (deltaprop's initialisation,
copied into the others) and returns its final weights in deltaprop's flat layout,
so one loss function scores them all.

- deltaprop: ``dp.train`` with all its features on (history, accuracy, divergence
  guard), exactly as a user calls it.
- scikit-learn: ``MLPClassifier`` with the matching solver; ``warm_start`` carries the
  initial weights in.
- PyTorch: a plain ``nn.Sequential`` and ``torch.optim`` (SGD or LBFGS), the
  training tensors indexed directly with a shuffled index, no DataLoader.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from harness import Measured, Run, System, Target, gemm_limit, ratio_table, take_turns, timed

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
      optimizer: "sgd" (with ``momentum``, 0 for plain SGD) or "lbfgs".
      lr, momentum, batch: the step-based optimizer's settings.
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


# --- deltaprop -------------------------------------------------------------------------------


def deltaprop_system(spec: Spec, xp: Any = None, engine: str = "auto") -> System:
    """``dp.train`` on the spec (``xp="torch"`` for deltaprop's torch array backend).

    ``engine="reference"`` trains numpy arrays through backprop's readable functions
    instead of the numpy engine (``deltaprop.fastpath``): the fenced code's gain.
    """
    Y = spec.onehot

    def system(warmup: bool) -> Run:
        net = spec.network(xp)
        units = 1 if warmup else spec.units
        if spec.optimizer == "lbfgs":
            kwargs: dict[str, Any] = {"optimizer": "lbfgs", "tol": 0.0}
        else:
            kwargs = {
                "optimizer": "momentum" if spec.momentum else "sgd",
                "learning_rate": spec.lr,
                "momentum": spec.momentum,
                "batch_size": spec.batch,
            }
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


def sklearn_system(spec: Spec) -> System:
    """``MLPClassifier`` on the spec, starting from the shared weights."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    W0, b0 = unpack(spec, spec.theta0())
    # One example of every class, for the fit that makes sklearn set up its state; its
    # warm start then needs every class in the labels, or its output layer would shrink.
    missing = sorted(set(range(spec.sizes[-1])) - set(spec.labels.tolist()))
    if missing:
        raise ValueError(
            f"the labels never use classes {missing} of {spec.sizes[-1]}; scikit-learn's "
            "warm start needs every class present (make the data with all of them)"
        )
    firsts = np.array([np.flatnonzero(spec.labels == c)[0] for c in range(spec.sizes[-1])])

    def system(warmup: bool) -> Run:
        units = 1 if warmup else spec.units
        common = dict(
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
            clf = MLPClassifier(
                solver="sgd",
                learning_rate="constant",
                learning_rate_init=spec.lr,
                momentum=spec.momentum,
                nesterovs_momentum=False,
                batch_size=spec.batch,
                shuffle=True,
                n_iter_no_change=10**9,
                tol=0.0,
                **common,
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the set-up fit's batch is larger than its data
            clf.fit(spec.X[firsts], spec.labels[firsts])  # sets classes_ and the layers
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in range(len(W0)):
                clf.coefs_[k][...] = W0[k].T  # scikit-learn's coefs_ are (s_in, s_out)
                clf.intercepts_[k][...] = b0[k]
            clf.set_params(max_iter=units)
            evaluations = [0]
            if spec.optimizer == "lbfgs":
                inner = clf._loss_grad_lbfgs

                def counted(*args: Any) -> Any:
                    evaluations[0] += 1
                    return inner(*args)

                clf._loss_grad_lbfgs = counted
            seconds, _ = timed(lambda: clf.fit(spec.X, spec.labels))
        theta = np.concatenate(
            [c.T.ravel() for c in clf.coefs_] + [i.ravel() for i in clf.intercepts_]
        ).astype(np.float64)
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


def torch_system(spec: Spec) -> System:
    """PyTorch: ``nn.Sequential``, ``nn.CrossEntropyLoss`` and ``torch.optim``."""
    import torch

    X = torch.from_numpy(spec.X)
    y = torch.from_numpy(spec.labels.astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()

    def sgd(model: Any, epochs: int) -> None:
        opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
        rng = np.random.default_rng(spec.seed)
        m, bs = spec.m, spec.batch
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(m))
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

    def system(warmup: bool) -> Run:
        units = 1 if warmup else spec.units
        model = torch_model(spec)
        if spec.optimizer == "lbfgs":
            seconds, evaluations = timed(lambda: lbfgs(model, units))
            return Run(seconds, evaluations, torch_theta(model))
        seconds, _ = timed(lambda: sgd(model, units))
        return Run(seconds, spec.count(units), torch_theta(model))

    return system


def with_units(spec: Spec, units: int) -> Spec:
    """The spec with another number of epochs (iterations) per repetition."""
    return replace(spec, units=units)


# --- one comparison --------------------------------------------------------------------------


@dataclass
class Comparison:
    """A workload's result: timings per system, their table, and the spec's description."""

    key: str
    title: str
    unit: str
    measured: dict[str, Measured]
    table: str


GENERIC = "deltaprop generic"
"""The name of deltaprop's reference engine in the tables (see :func:`engine_target`)."""


def engine_target(workload: str, result: Comparison) -> Target:
    """fast ÷ generic: the numpy engine's time over the reference engine's, to stay below 1."""
    fast, generic = result.measured["deltaprop"].median, result.measured[GENERIC].median
    return Target(workload, "fast ÷ generic engine", 1.0, fast / generic)


def compare(
    key: str,
    title: str,
    spec: Spec,
    reps: int,
    *,
    extra: dict[str, System] | None = None,
    generic: bool = False,
    gemm: bool = True,
    log: Any = print,
) -> Comparison:
    """Time deltaprop, scikit-learn and PyTorch (and ``extra`` systems) on ``spec``.

    Adds the GEMM limit of the spec's shapes, scores every final θ with
    :func:`final_loss`, and builds the ratio table. With ``generic``, deltaprop's
    reference engine runs too, as :data:`GENERIC`.
    """
    systems: dict[str, System] = {
        "deltaprop": deltaprop_system(spec),
        "scikit-learn": sklearn_system(spec),
        "PyTorch": torch_system(spec),
    }
    if generic:
        systems[GENERIC] = deltaprop_system(spec, engine="reference")
    systems.update(extra or {})
    if gemm:
        if spec.optimizer == "lbfgs":  # one full-batch evaluation per unit
            systems["GEMM limit"] = gemm_limit(spec.sizes, spec.m, spec.m, spec.dtype, 3, 3)
        else:
            systems["GEMM limit"] = gemm_limit(
                spec.sizes, spec.m, spec.batch, spec.dtype, spec.units, spec.count(spec.units)
            )
    log(f"{key}: {title}")
    measured, last = take_turns(systems, reps, log=log)
    for name, run in last.items():
        if run.theta is not None:
            measured[name].final_loss = final_loss(spec, run.theta)
    if spec.optimizer == "lbfgs":
        unit, scale = "ms/eval", 1e3
    elif spec.per_step:
        unit, scale = "µs/step", 1e6
    else:
        unit, scale = "s/epoch", 1.0
    table = ratio_table(f"{key}  {title}", unit, measured, scale=scale)
    return Comparison(key, title, unit, measured, table)
