"""Updates and a whole epoch of them, compiled: the loop's inner steps in one call.

:func:`update` is the optimizers' arithmetic (``deltaprop.optim``) written
element by element, in the same order of operations, so that θ has the same
bits as the readable update; :func:`epoch` runs every mini-batch of an epoch
— gather its rows, :func:`kernels.cost_and_grad`, check J, update — inside
one compiled call, and hands back what the loop records: the size-weighted
sums of J's parts, each batch's outputs and which batches ran. Run over one
batch without an update, the same call is the engine's per-batch J and ∇J, so
that a process compiles one function per dtype, not two.

Scalars reach the updates as arrays of θ's dtype (``hyper``, ``sched``), so a
float32 run computes in float32 as numpy does with Python scalars.
"""

from __future__ import annotations

import math

import numpy as np

from .codes import ADAM, GD, MOMENTUM, NONE
from .kernels import cost_and_grad, jit


@jit
def update(opt, theta, grad, v1, v2, hyper, sched, t):  # type: ignore[no-untyped-def]
    """One step of the optimizer ``opt`` on θ, in place (the state v1, v2 too).

    ``hyper``: GD and momentum (α, μ); Adam (β₁, 1 − β₁, β₂, 1 − β₂).
    ``sched[t]``: Adam's (α / (1 − β₁ᵗ), √(1 − β₂ᵗ), ε) for its t-th step of the epoch.

    - GD: θ := θ − α ∇J
    - momentum: v := μ v − α ∇J; θ := θ + v   (Nesterov: θ := θ − α ∇J + μ v)
    - Adam: m := β₁ m + (1 − β₁) g; v := β₂ v + (1 − β₂) g²; θ := θ − α m̂ / (√v̂ + ε)
    """
    n = theta.shape[0]
    if opt == ADAM:
        b1, c1, b2, c2 = hyper[0], hyper[1], hyper[2], hyper[3]
        lr_c1, sqrt_c2, eps = sched[t, 0], sched[t, 1], sched[t, 2]
        for p in range(n):
            g = grad[p]
            m = v1[p] * b1
            m = m + c1 * g
            v = v2[p] * b2
            v = v + c2 * (g * g)
            v1[p], v2[p] = m, v
            theta[p] = theta[p] - (lr_c1 * m) / (math.sqrt(v) / sqrt_c2 + eps)
        return
    lr = hyper[0]
    if opt == GD:
        for p in range(n):
            theta[p] = theta[p] - lr * grad[p]
        return
    mu = hyper[1]
    for p in range(n):
        step = lr * grad[p]
        v = v1[p] * mu
        v = v - step
        v1[p] = v
        if opt == MOMENTUM:
            theta[p] = theta[p] + v
        else:
            theta[p] = (theta[p] - step) + mu * v


@jit
def epoch(  # type: ignore[no-untyped-def]
    net, theta, grad, lam, alpha, data, order, bs, n_batches, masks, bufs, opt, state, flags, res
):
    """Run ``n_batches`` mini-batches of ``order`` (bs rows each, the last fewer); steps made.

    Args (tuples, to keep the signature short):
      net: (sizes, codes, cost), as :func:`kernels.cost_and_grad` takes them.
      lam, alpha: λ; with alpha ≥ 0, each batch's λ is alpha / Σ_B wᵢ instead.
      data: (x, y, w), every example (w empty without weights).
      order: the epoch's order of the m examples.
      masks: the epoch's dropout masks, row p for the example at place p of the order.
      bufs: (work, xb, yb, wb, outputs): scratch, gathered rows, and every batch's
        outputs, flat, in the order's places.
      opt, state: the optimizer's code and (v1, v2, hyper, sched) for :func:`update`;
        ``codes.NONE``: no update (one batch's J and ∇J, the per-batch call).
      flags: (diverge, skip_empty): stop before updating from a non-finite J;
        skip a batch whose weights sum to 0.
      res: filled with the sums Σ_B n_B data_B, Σ_B n_B decay_B, the last batch's
        data term and decay, then one entry per batch: 1 where it ran, 0 where it
        was skipped, NaN where J was not finite.

    Returns (steps made, whether a non-finite J stopped it).
    """
    sizes, codes, cost = net
    x, y, w = data
    work, xb, yb, wb, outputs = bufs
    v1, v2, hyper, sched = state
    diverge, skip_empty = flags
    m = order.shape[0]
    s_in, s_out = x.shape[1], y.shape[1]
    weighted = w.shape[0] > 0
    steps = 0
    for j in range(n_batches):
        first = j * bs
        n = min(bs, m - first)
        xj = xb[: n * s_in].reshape((n, s_in))
        yj = yb[: n * s_out].reshape((n, s_out))
        wj = wb[: n if weighted else 0]
        total = 0.0
        for i in range(n):
            row = order[first + i]
            for c in range(s_in):  # element by element: a slice assignment compiles slowly
                xj[i, c] = x[row, c]
            for c in range(s_out):
                yj[i, c] = y[row, c]
            if weighted:
                wj[i] = w[row]
                total += w[row]
        if not weighted:
            total = float(n)
        if skip_empty and weighted and not total > 0:
            res[4 + j] = 0.0
            continue
        lam_j = lam if alpha < 0 else alpha / total
        out = outputs[first * s_out : (first + n) * s_out].reshape((n, s_out))
        part, decay = cost_and_grad(
            theta, grad, sizes, codes, cost, lam_j, xj, yj, wj, masks, first, work, out
        )
        res[2], res[3] = part, decay
        if not math.isfinite(part + decay):
            res[4 + j] = np.nan
            if diverge:
                return steps, True
        else:
            res[4 + j] = 1.0
        if opt != NONE:
            update(opt, theta, grad, v1, v2, hyper, sched, steps)
            steps += 1
        res[0] += part * n
        res[1] += decay * n
    return steps, False
