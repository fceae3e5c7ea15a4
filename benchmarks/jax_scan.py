"""JAX, compiled the fair way: one jitted call per epoch, ``lax.scan`` over its mini-batches.

A one-call-per-step JAX pays its dispatch at every step (tens of µs, more than a
batch-1 step's arithmetic); scanning the whole epoch inside one XLA program is the
comparison a compiled engine should be held to. The epoch takes the same θ, the same
mini-batches (``systems.epoch_orders``) and the same optimizer equations as deltaprop
(SGD, momentum v := μv − α∇J, θ := θ + v; Adam as ``deltaprop.optim.Adam``), with
softmax cross-entropy through ``jax.grad``. Its compile time is measured on its own
(``lower(...).compile()``), apart from the steady-state timings.

XLA reads its thread settings once, at start: ``harness.configure_xla`` sets them
before jax is imported. jax is a benchmark-only dependency (``make bench`` installs it): without it,
:func:`unavailable` gives the reason and the tables leave JAX out.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from harness import Run
from systems import Spec, epoch_orders

JAX = "JAX scan"
"""The system's name in the tables."""


def unavailable() -> str | None:
    """Why the JAX system cannot run here (None when it can)."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return "jax is not installed (make bench installs it: pip install jax jaxlib)"
    return None


def _jax() -> tuple[Any, Any]:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    return jax, jnp


def epoch_function(spec: Spec) -> Any:
    """The jitted ``epoch(params, state, X, Y, full, rest) -> (params, state)``.

    ``params`` is ([W⁽ˡ⁾], [b⁽ˡ⁾]) in deltaprop's shapes; ``full`` (batches, batch) the
    indices of the full mini-batches, scanned; ``rest`` those of a last, smaller one
    (possibly empty), one more step inside the same call.
    """
    jax, jnp = _jax()
    act = {"relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[spec.activation]
    L = len(spec.sizes) - 1
    lr, mu, b1, b2, eps = spec.lr, spec.momentum, spec.beta1, spec.beta2, spec.eps
    tree = jax.tree_util.tree_map

    def loss(params: Any, x: Any, y: Any) -> Any:
        Ws, bs = params
        a = x
        for k in range(L - 1):
            a = act(a @ Ws[k].T + bs[k])
        z = a @ Ws[L - 1].T + bs[L - 1]
        return -jnp.mean(jnp.sum(y * jax.nn.log_softmax(z, axis=1), axis=1))

    grad = jax.grad(loss)

    def update(params: Any, state: Any, g: Any) -> tuple[Any, Any]:
        if spec.optimizer == "adam":
            t = state["t"] + 1.0
            c1, c2 = 1.0 - b1**t, 1.0 - b2**t
            m = tree(lambda m_, g_: b1 * m_ + (1.0 - b1) * g_, state["m"], g)
            v = tree(lambda v_, g_: b2 * v_ + (1.0 - b2) * (g_ * g_), state["v"], g)
            params = tree(
                lambda p, m_, v_: p - (lr / c1) * m_ / (jnp.sqrt(v_) / jnp.sqrt(c2) + eps),
                params,
                m,
                v,
            )
            return params, {"m": m, "v": v, "t": t}
        if mu:
            v = tree(lambda v_, g_: mu * v_ - lr * g_, state["v"], g)
            return tree(lambda p, v_: p + v_, params, v), {"v": v}
        return tree(lambda p, g_: p - lr * g_, params, g), state

    def epoch(params: Any, state: Any, X: Any, Y: Any, full: Any, rest: Any) -> Any:
        def step(carry: Any, idx: Any) -> tuple[Any, None]:
            p, s = carry
            return update(p, s, grad(p, X[idx], Y[idx])), None

        carry, _ = jax.lax.scan(step, (params, state), full)
        if rest.shape[0]:
            carry, _ = step(carry, rest)
        return carry

    return jax.jit(epoch)


def initial(spec: Spec) -> tuple[Any, Any]:
    """(params, optimizer state) from the shared θ, in spec's dtype."""
    from systems import unpack

    _, jnp = _jax()
    W0, b0 = unpack(spec, spec.theta0())
    params = (
        [jnp.asarray(W, dtype=spec.dtype) for W in W0],
        [jnp.asarray(b, dtype=spec.dtype) for b in b0],
    )
    zeros = ([jnp.zeros_like(W) for W in params[0]], [jnp.zeros_like(b) for b in params[1]])
    if spec.optimizer == "adam":
        return params, {"m": zeros, "v": zeros, "t": jnp.asarray(0, dtype=spec.dtype)}
    return params, ({"v": zeros} if spec.momentum else {})


def flat(params: Any) -> np.ndarray:
    """params in deltaprop's flat layout (W's, then b's), float64."""
    Ws, bs = params
    return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in [*Ws, *bs]])


def batches(spec: Spec, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An epoch's order as (full batches (n, batch), the smaller rest)."""
    n = spec.m // spec.batch
    return order[: n * spec.batch].reshape(n, spec.batch), order[n * spec.batch :]


class JaxScan:
    """The JAX system (``system(warmup) -> Run``), compiled at its first call.

    ``compile_seconds`` is the time of ``lower(...).compile()`` alone: tracing and
    XLA's compilation of the epoch, kept out of every timed repetition.
    """

    def __init__(self, spec: Spec) -> None:
        _, jnp = _jax()
        if spec.optimizer not in ("sgd", "adam"):
            raise ValueError(f"JaxScan runs step-based optimizers, got {spec.optimizer!r}")
        self.spec = spec
        self.X = jnp.asarray(spec.X)
        self.Y = jnp.asarray(spec.onehot)
        self._jitted = epoch_function(spec)
        self._compiled: Any = None
        self.compile_seconds: float | None = None

    def epochs(self, units: int) -> tuple[float, np.ndarray]:
        """(seconds, final θ) of ``units`` epochs from the shared θ."""
        jax, jnp = _jax()
        params, state = initial(self.spec)
        orders = epoch_orders(self.spec)
        if self._compiled is None:
            full, rest = batches(self.spec, np.zeros(self.spec.m, dtype=np.int64))
            start = time.perf_counter()
            lowered = self._jitted.lower(params, state, self.X, self.Y, full, rest)
            self._compiled = lowered.compile()
            self.compile_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(units):
            full, rest = batches(self.spec, next(orders))
            params, state = self._compiled(
                params, state, self.X, self.Y, jnp.asarray(full), jnp.asarray(rest)
            )
        jax.block_until_ready(params)
        return time.perf_counter() - start, flat(params)

    def __call__(self, warmup: bool) -> Run:
        """One repetition (one epoch for the warm-up)."""
        units = 1 if warmup else self.spec.units
        seconds, theta = self.epochs(units)
        return Run(seconds, self.spec.count(units), theta)
