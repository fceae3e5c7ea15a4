"""J, ∇J and the updates, compiled: backprop's equations as loops and BLAS products.

One batch's J and ∇J (:func:`cost_and_grad`), the optimizers' steps
(:func:`update`) and a whole epoch of them (:func:`epoch`) live in this one file
on purpose: numba's disk cache keys each function by its own source file, so a
caller in another file would keep running a stale copy of a callee changed here.

Each function here is numba-compiled (``@njit``) and computes what a readable
function of ``deltaprop.backprop`` computes; tests/test_compiled.py holds them
equal. The network is described by plain arrays, so that a few compiled
signatures (float32 and float64) serve every architecture:

- θ and ∇J are the flat vectors of ``network.Layout`` (W⁽¹⁾ … W⁽ᴸ⁾, then
  b⁽¹⁾ … b⁽ᴸ⁾), and W[k], b[k], dW[k], db[k] are reshaped views into them;
- ``sizes`` holds s_1 … s_{n_l}, ``codes[k]`` the activation f[k] (one of the
  integer codes below) and ``cost`` the cost's code;
- ``work`` is one flat scratch vector: z⁽ˡ⁾ (which becomes a⁽ˡ⁾ where f is
  applied in place), δ⁽ˡ⁾ and ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾ of every layer, each an (m, s_l)
  block (``Engine.work``).

Products go to BLAS (``np.dot``) when m·s_l·s_{l+1} reaches :data:`BLAS_FROM`
and to plain loops below it, where a call's overhead would cost more than
its arithmetic (a batch of one example). The loops' sums may be reordered by
the compiler (``fastmath`` reassociation, no other liberty: NaN and ∞ stay
visible to the divergence guard), so the numbers equal backprop's up to
rounding. Arithmetic errors follow numpy (``error_model="numpy"``): 0/0 is NaN
and x/0 is ±∞, caught by the finiteness checks, never a ZeroDivisionError.

:func:`update` is the optimizers' arithmetic (``deltaprop.optim``) element by
element, in the same order of operations, so θ has the readable update's bits;
scalars reach it as arrays of θ's dtype (``hyper``, ``sched``), so a float32 run
computes in float32 as numpy does with Python scalars. :func:`epoch` runs every
mini-batch of an epoch (gather its rows, :func:`cost_and_grad`, check J,
update) in one call and hands back what the loop records: the size-weighted
sums of J's parts, each batch's outputs and which batches ran. Over one batch
without an update, the same call is the engine's per-batch J and ∇J, so that a
process compiles one function per dtype, not two.

Layer indices as in ``backprop``: a[k], z[k], δ[k] belong to layer l = k + 1,
W[k] joins layer k + 1 to layer k + 2 and f[k] is layer k + 2's activation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..activations import LEAKY_SLOPE
from .cache import ON_DISK
from .codes import (
    ADAM,
    BINARY_CROSS_ENTROPY,
    CROSS_ENTROPY,
    EXP,
    GD,
    LEAKY_RELU,
    MOMENTUM,
    NONE,
    POISSON,
    RELU,
    SIGMOID,
    SOFTMAX,
    SOFTPLUS,
    SQUARED_ERROR,
    TANH,
)

BLAS_FROM = 32768
"""m·s_in·s_out from which a product goes to BLAS instead of the loops."""

FAST = {"reassoc", "contract"}  # reorder and fuse sums; never assume finite numbers
jit = njit(cache=ON_DISK, nogil=True, error_model="numpy")
jit_fast = njit(cache=ON_DISK, nogil=True, fastmath=FAST, error_model="numpy")


# --- products ------------------------------------------------------------------------------


@jit_fast
def dot_nt(a, W, out):  # type: ignore[no-untyped-def]
    """out = a Wᵀ: (m, s_in) by W (s_out, s_in)."""
    m, s_in = a.shape
    s_out = W.shape[0]
    if m * s_in * s_out >= BLAS_FROM:
        np.dot(a, W.T, out)
        return
    for i in range(m):
        for j in range(s_out):
            s = 0.0
            for k in range(s_in):
                s += a[i, k] * W[j, k]
            out[i, j] = s


@jit_fast
def dot_tn(d, a, out):  # type: ignore[no-untyped-def]
    """out = dᵀ a: (m, s_out) and (m, s_in) into (s_out, s_in)."""
    m, s_out = d.shape
    s_in = a.shape[1]
    if m * s_in * s_out >= BLAS_FROM:
        np.dot(d.T, a, out)
        return
    out.fill(0.0)
    for i in range(m):
        for j in range(s_out):
            dij = d[i, j]
            for k in range(s_in):
                out[j, k] += dij * a[i, k]


@jit_fast
def dot_nn(d, W, out):  # type: ignore[no-untyped-def]
    """out = d W: (m, s_out) by W (s_out, s_in)."""
    m, s_out = d.shape
    s_in = W.shape[1]
    if m * s_in * s_out >= BLAS_FROM:
        np.dot(d, W, out)
        return
    out.fill(0.0)
    for i in range(m):
        for j in range(s_out):
            dij = d[i, j]
            for k in range(s_in):
                out[i, k] += dij * W[j, k]


# --- activations ---------------------------------------------------------------------------


@jit
def sigmoid(z):  # type: ignore[no-untyped-def]
    """σ(z) through e^(−|z|), as ``activations.sigmoid`` computes it."""
    e = math.exp(-abs(z))
    s = 1.0 / (1.0 + e)
    return s if z >= 0 else e * s


@jit
def apply(code, z, out):  # type: ignore[no-untyped-def]
    """out = f(z) elementwise for the activation ``code`` (out may be z); softmax by rows."""
    m, s = z.shape
    if code == SOFTMAX:
        for i in range(m):
            top = z[i, 0]
            for j in range(1, s):
                top = max(top, z[i, j])
            total = 0.0
            for j in range(s):
                out[i, j] = math.exp(z[i, j] - top)
                total += out[i, j]
            for j in range(s):
                out[i, j] = out[i, j] / total
        return
    for i in range(m):
        for j in range(s):
            v = z[i, j]
            if code == SIGMOID:
                v = sigmoid(v)
            elif code == TANH:
                v = math.tanh(v)
            elif code == RELU:
                v = 0.0 if v < 0 else v  # NaN stays NaN, as numpy.maximum keeps it
            elif code == LEAKY_RELU:
                v = v if v > 0 else LEAKY_SLOPE * v
            elif code == SOFTPLUS:
                v = max(v, 0.0) + math.log1p(math.exp(-abs(v)))
            elif code == EXP:
                v = math.exp(v)
            out[i, j] = v


@jit
def fprime(code, a, i, j):  # type: ignore[no-untyped-def]
    """f′(z) from a = f(z) (elementwise activations; softmax's diagonal a(1 − a))."""
    v = a[i, j]
    if code == SIGMOID or code == SOFTMAX:  # noqa: SIM109 (numba: no tuple membership)
        return v * (1.0 - v)
    if code == TANH:
        return 1.0 - v * v
    if code == RELU:
        return 1.0 if v > 0 else 0.0
    if code == LEAKY_RELU:
        return 1.0 if v > 0 else LEAKY_SLOPE
    if code == SOFTPLUS:
        return -math.expm1(-v)
    if code == EXP:
        return v
    return 1.0


# --- the output layer ----------------------------------------------------------------------


@jit
def output(cost, code, z, y, w, a, delta):  # type: ignore[no-untyped-def]
    """a = f(z⁽ⁿˡ⁾) into ``a``, δ⁽ⁿˡ⁾ scaled by wᵢ / Σᵢ wᵢ (1/m without w) into ``delta``.

    Returns the data term: (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾), weighted by w when w has rows.
    """
    m, s = z.shape
    apply(code, z, a)
    weighted = w.shape[0] > 0
    total_w = 0.0
    if weighted:
        for i in range(m):
            total_w += w[i]
    else:
        total_w = float(m)
    data = 0.0
    for i in range(m):
        row = 0.0  # J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)
        if cost == CROSS_ENTROPY:
            top = z[i, 0]
            for j in range(1, s):
                top = max(top, z[i, j])
            total = 0.0
            for j in range(s):
                total += math.exp(z[i, j] - top)
            log_total = math.log(total)
            for j in range(s):
                row -= y[i, j] * (z[i, j] - top - log_total)  # −Σ_k y_k log a_k
        elif cost == BINARY_CROSS_ENTROPY:
            for j in range(s):
                v = z[i, j]
                row += max(v, 0.0) + math.log1p(math.exp(-abs(v))) - y[i, j] * v
        elif cost == POISSON:
            for j in range(s):
                t = y[i, j]
                xlogx = t * math.log(t) if t > 0 else 0.0
                row += xlogx - t * z[i, j] + math.exp(z[i, j]) - t
        else:
            for j in range(s):
                r = a[i, j] - y[i, j]
                row += r * r
            row *= 0.5  # ½‖h(x) − y‖²
        scale = (w[i] if weighted else 1.0) / total_w
        data += row * (w[i] if weighted else 1.0)
        if cost != SQUARED_ERROR:  # each of the other costs has δ⁽ⁿˡ⁾ = a − y
            for j in range(s):
                delta[i, j] = (a[i, j] - y[i, j]) * scale
        elif code == SOFTMAX:  # ∂J/∂z = a ⊙ (g − Σ_k g_k a_k), g = a − y
            inner = 0.0
            for j in range(s):
                inner += (a[i, j] - y[i, j]) * a[i, j]
            for j in range(s):
                delta[i, j] = a[i, j] * ((a[i, j] - y[i, j]) - inner) * scale
        else:  # δ⁽ⁿˡ⁾ = −(y − a) ⊙ f′(z)
            for j in range(s):
                delta[i, j] = (a[i, j] - y[i, j]) * fprime(code, a, i, j) * scale
    return data / total_w


# --- J and ∇J over one batch ---------------------------------------------------------------


@jit
def cost_and_grad(theta, grad, sizes, codes, cost, lam, x, y, w, masks, mrow, work, out):  # type: ignore[no-untyped-def]
    """J's two parts (data term, weight decay) at θ over (x, y); ∇J into ``grad``, a into ``out``.

    ``backprop.cost_and_grad`` with the flat θ: x (m, s_1), y and ``out``
    (m, s_{n_l}), w (m,) example weights or an empty vector; ``masks`` holds
    the dropout masks side by side, rows ``mrow`` … ``mrow + m − 1`` for these
    examples, columns s_2 … s_{n_l − 1} (hidden layers in order; an empty
    array: no dropout). δ⁽ⁿˡ⁾ is scaled by wᵢ / Σᵢ wᵢ once and the recursion,
    linear in δ, carries it down, so the gradients need no division.
    """
    m = x.shape[0]
    L = codes.shape[0]
    dropout = masks.shape[0] > 0
    n_w = 0
    for k in range(L):
        n_w += sizes[k] * sizes[k + 1]
    # where each layer's blocks start in θ and in work
    wpos = np.empty(L + 1, np.int64)
    bpos = np.empty(L + 1, np.int64)
    zpos = np.empty(L + 1, np.int64)
    wpos[0], bpos[0], zpos[0] = 0, n_w, 0
    for k in range(L):
        wpos[k + 1] = wpos[k] + sizes[k] * sizes[k + 1]
        bpos[k + 1] = bpos[k] + sizes[k + 1]
        zpos[k + 1] = zpos[k] + m * sizes[k + 1]
    dpos = zpos[L]  # δ blocks after the z blocks, ã blocks after those
    tpos = 2 * zpos[L]
    # forward: z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ ã⁽ˡ⁾ + b⁽ˡ⁾, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), over z
    a_in = x
    mcol = 0
    for k in range(L):
        s_in, s_out = sizes[k], sizes[k + 1]
        if dropout and k > 0:
            t = work[tpos + zpos[k - 1] : tpos + zpos[k]].reshape((m, s_in))
            for i in range(m):
                for j in range(s_in):
                    t[i, j] = a_in[i, j] * masks[mrow + i, mcol + j]  # ã = a ⊙ r
            mcol += s_in
            a_in = t
        Wk = theta[wpos[k] : wpos[k + 1]].reshape((s_out, s_in))
        bk = theta[bpos[k] : bpos[k + 1]]
        z = work[zpos[k] : zpos[k + 1]].reshape((m, s_out))
        dot_nt(a_in, Wk, z)
        for i in range(m):
            for j in range(s_out):
                z[i, j] += bk[j]
        if k < L - 1:
            apply(codes[k], z, z)
        a_in = z
    # δ⁽ⁿˡ⁾ from the cost, then ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ ã⁽ˡ⁾ + λ W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾
    s_last = sizes[L]
    z_out = work[zpos[L - 1] : zpos[L]].reshape((m, s_last))
    delta = work[dpos + zpos[L - 1] : dpos + zpos[L]].reshape((m, s_last))
    data = output(cost, codes[L - 1], z_out, y, w, out, delta)
    for k in range(L - 1, -1, -1):
        s_in, s_out = sizes[k], sizes[k + 1]
        if k == 0:
            a_in = x
        elif dropout:
            a_in = work[tpos + zpos[k - 1] : tpos + zpos[k]].reshape((m, s_in))
        else:
            a_in = work[zpos[k - 1] : zpos[k]].reshape((m, s_in))
        Wk = theta[wpos[k] : wpos[k + 1]].reshape((s_out, s_in))
        dWk = grad[wpos[k] : wpos[k + 1]].reshape((s_out, s_in))
        dot_tn(delta, a_in, dWk)
        if lam != 0.0:
            for j in range(s_out):
                for i in range(s_in):
                    dWk[j, i] += lam * Wk[j, i]
        dbk = grad[bpos[k] : bpos[k + 1]]
        dbk.fill(0.0)
        for i in range(m):
            for j in range(s_out):
                dbk[j] += delta[i, j]
        if k == 0:
            break
        # δ⁽ˡ⁾ = (Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾) ⊙ r⁽ˡ⁾ ⊙ f′(z⁽ˡ⁾), f′ from a⁽ˡ⁾
        back = work[dpos + zpos[k - 1] : dpos + zpos[k]].reshape((m, s_in))
        dot_nn(delta, Wk, back)
        a_k = work[zpos[k - 1] : zpos[k]].reshape((m, s_in))
        code = codes[k - 1]
        mcol -= s_in
        for i in range(m):
            for j in range(s_in):
                g = back[i, j]
                if dropout:
                    g = g * masks[mrow + i, mcol + j]
                back[i, j] = g * fprime(code, a_k, i, j)
        delta = back
    decay = 0.0
    if lam != 0.0:
        total = 0.0
        for p in range(n_w):
            total += theta[p] * theta[p]
        decay = (lam / 2) * total
    return data, decay


# --- updates, and a whole epoch of them --------------------------------------------------


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
