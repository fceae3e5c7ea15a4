"""J, ∇J and the updates, compiled: backprop's equations as loops and BLAS products.

One batch's J and ∇J (:func:`cost_and_grad`), the optimizers' steps
(:func:`update`) and a whole epoch of them (:func:`epoch`) live in this one file
on purpose: numba's disk cache keys each function by its own source file, so a
caller in another file would keep running a stale copy of a callee changed here.

Each function here is numba-compiled (``@njit``) and computes what a readable
function of ``deltaprop.backprop`` computes (tests/test_compiled.py holds them
equal), on plain arrays, so that two signatures (float32, float64) serve every network:

- θ and ∇J are the flat vectors of ``network.Layout`` (W⁽¹⁾ … W⁽ᴸ⁾, then
  b⁽¹⁾ … b⁽ᴸ⁾); W[k] (s_out, s_in) is the block of θ from its offset, row by row;
- ``sizes`` holds s_1 … s_{n_l}, ``codes[k]`` the activation f[k] (one of the
  integer codes below) and ``cost`` the cost's code;
- ``work`` is one flat scratch vector: z⁽ˡ⁾ (which becomes a⁽ˡ⁾ where f is
  applied in place), δ⁽ˡ⁾ and ã⁽ˡ⁾ = a⁽ˡ⁾ ⊙ r⁽ˡ⁾ of every layer, each an (m, s_l)
  block (``Engine.work``), addressed by offsets; no call allocates.

Products go to BLAS (``np.dot``) when m·s_l·s_{l+1} reaches :data:`BLAS_FROM`
and to plain loops below it, where a call's overhead would cost more than
its arithmetic (a batch of one example). The loops' sums may be reordered by
the compiler (``fastmath`` reassociation and fused multiply-adds, nothing that
hides NaN or ∞ from the divergence guard) and float64 exponentials run in vector
code (:func:`exp_block`), so the numbers equal backprop's up to rounding. Arithmetic
errors follow numpy (``error_model="numpy"``): 0/0 is NaN, never an exception.

:func:`update` is the optimizers' arithmetic (``deltaprop.optim``) element by
element, in the same order of operations, so θ has the readable update's bits
(scalars come as arrays of θ's dtype, so float32 runs compute in float32).
:func:`epoch` runs every mini-batch of an epoch (gather, :func:`cost_and_grad`,
check J, update) in one call; over one batch without an update, it is the
engine's per-batch J and ∇J, so that a process compiles one function per dtype.

Layer indices as in ``backprop``: a[k], z[k], δ[k] belong to layer l = k + 1,
W[k] joins layer k + 1 to layer k + 2 and f[k] is layer k + 2's activation.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

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
jit_fma = njit(cache=ON_DISK, nogil=True, fastmath={"contract"}, error_model="numpy")


# --- products on blocks of flat vectors: (m, s) from offset p holds [i, j] at p + i·s + j ---
# (rows are taken as slices, so that each inner loop counts from 0 and compiles to vector code)


@jit_fast
def dot_nt(a, ap, theta, wp, bp, z, zp, m, s_in, s_out):  # type: ignore[no-untyped-def]
    """z = a Wᵀ + b: a (m, s_in) from ap, W (s_out, s_in) from wp and b from bp in θ, z from zp."""
    b = theta[bp : bp + s_out]
    if m * s_in * s_out >= BLAS_FROM:
        out = z[zp : zp + m * s_out].reshape((m, s_out))
        W = theta[wp : wp + s_out * s_in].reshape((s_out, s_in))
        np.dot(a[ap : ap + m * s_in].reshape((m, s_in)), W.T, out)
        for i in range(m):
            for j in range(s_out):
                out[i, j] += b[j]
        return
    for i in range(m):
        ai, zi = a[ap + i * s_in : ap + (i + 1) * s_in], z[zp + i * s_out : zp + (i + 1) * s_out]
        for j in range(s_out):
            Wj = theta[wp + j * s_in : wp + (j + 1) * s_in]
            s = 0.0
            for k in range(s_in):
                s += ai[k] * Wj[k]
            zi[j] = s + b[j]


@jit_fast
def dot_tn(d, dp, a, ap, grad, wp, bp, m, s_in, s_out):  # type: ignore[no-untyped-def]
    """dW = dᵀ a from wp, db = Σᵢ dᵢ from bp in ``grad``: d (m, s_out) from dp, a (m, s_in)."""
    db = grad[bp : bp + s_out]
    for j in range(s_out):
        db[j] = d[dp + j]
    for i in range(1, m):
        di = d[dp + i * s_out : dp + (i + 1) * s_out]
        for j in range(s_out):
            db[j] += di[j]
    if m * s_in * s_out >= BLAS_FROM:
        dT = d[dp : dp + m * s_out].reshape((m, s_out)).T
        dW = grad[wp : wp + s_out * s_in].reshape((s_out, s_in))
        np.dot(dT, a[ap : ap + m * s_in].reshape((m, s_in)), dW)
        return
    for i in range(m):  # the first example's terms set dW (over what was there), the others add
        ai, di = a[ap + i * s_in : ap + (i + 1) * s_in], d[dp + i * s_out : dp + (i + 1) * s_out]
        for j in range(s_out):
            dWj, dij = grad[wp + j * s_in : wp + (j + 1) * s_in], di[j]
            for k in range(s_in):
                dWj[k] = (dWj[k] if i else 0.0) + dij * ai[k]


@jit_fast
def dot_nn(d, dp, theta, wp, out, op, m, s_in, s_out):  # type: ignore[no-untyped-def]
    """out = d W from op: d (m, s_out) from dp, W (s_out, s_in) from wp in θ."""
    if m * s_in * s_out >= BLAS_FROM:
        W = theta[wp : wp + s_out * s_in].reshape((s_out, s_in))
        o = out[op : op + m * s_in].reshape((m, s_in))
        np.dot(d[dp : dp + m * s_out].reshape((m, s_out)), W, o)
        return
    for i in range(m):
        di, oi = d[dp + i * s_out : dp + (i + 1) * s_out], out[op + i * s_in : op + (i + 1) * s_in]
        for j in range(s_out):
            Wj, dij = theta[wp + j * s_in : wp + (j + 1) * s_in], di[j]
            for k in range(s_in):
                oi[k] = (oi[k] if j else 0.0) + dij * Wj[k]


# --- activations, in place over n numbers from an offset; e^x of float64 blocks in vector code

with localcontext() as context:  # ln 2 = LN2_HI + LN2_LO to 40 digits
    context.prec = 40
    LN2 = Decimal(2).ln()
LN2_HI = math.floor(float(LN2) * 2**21) / 2**21  # 21 bits after the point: k·LN2_HI is exact
LN2_LO, LOG2E = float(LN2 - Decimal(LN2_HI)), float(1 / LN2)
ROUND = 1.5 * 2.0**52  # u + ROUND holds round(u) in its low bits (|u| < 2⁵¹)
ROUND_BITS = int(np.float64(ROUND).view(np.int64))
EXP_LOW = -708.0  # e^x, and 2^k, stay normal numbers from here up
TAYLOR = tuple(1.0 / math.factorial(c) for c in range(14))  # 1/c!


@jit_fma
def exp_split(u):  # type: ignore[no-untyped-def]
    """(e^r, u log₂e + ROUND) for EXP_LOW ≤ u ≤ 0: e^u = e^r · 2^k, k in the second's bits."""
    t = u * LOG2E + ROUND
    k = t - ROUND
    r = (u - k * LN2_HI) - k * LN2_LO
    q = TAYLOR[13]
    for c in range(12, -1, -1):
        q = q * r + TAYLOR[c]
    return q, t


@jit_fma
def exp_block(x, xp, n, s, sp):  # type: ignore[no-untyped-def]
    """x := e^x for n numbers x ≤ 0 from xp; n numbers of s from sp are scratch.

    x = k ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor series to r¹³ (the rest is below
    10⁻¹⁷), 2^k made from the bits of x log₂e + 1.5·2⁵²: within one ulp of numpy's exp.
    A block holding x < −708, −∞ or NaN, or float32 numbers, takes math.exp instead.
    """
    xx, ss = x[xp : xp + n], s[sp : sp + n]
    low = 0
    for p in range(n):
        low += not xx[p] >= EXP_LOW
    if low or x.itemsize != 8:
        for p in range(n):
            xx[p] = math.exp(xx[p])
        return
    for p in range(n):
        xx[p], ss[p] = exp_split(xx[p])
    bits = s[sp : sp + n].view(np.int64)
    for p in range(n):
        bits[p] = (bits[p] - ROUND_BITS + 1023) << 52  # now ss[p] = 2^k
    for p in range(n):
        xx[p] = xx[p] * ss[p]


@jit
def apply(code, z, zp, n, s, sp, sp2):  # type: ignore[no-untyped-def]
    """z := f(z) for the elementwise activation ``code``, n numbers from zp.

    n numbers of s from sp and from sp2 are scratch. The code is tested once, outside
    the loops, so that each loop is branch-free.
    """
    zz = z[zp : zp + n]
    if code == SIGMOID:  # σ(z) through e^(−|z|), as activations.sigmoid computes it
        e = s[sp : sp + n]
        for p in range(n):
            e[p] = -abs(zz[p])
        exp_block(s, sp, n, s, sp2)
        for p in range(n):
            d = 1.0 / (1.0 + e[p])
            zz[p] = d if zz[p] >= 0 else e[p] * d
    elif code == TANH:
        for p in range(n):
            zz[p] = math.tanh(zz[p])
    elif code == RELU:
        for p in range(n):  # NaN stays NaN, as numpy.maximum keeps it
            zz[p] = 0.0 if zz[p] < 0 else zz[p]
    elif code == LEAKY_RELU:
        for p in range(n):
            zz[p] = zz[p] if zz[p] > 0 else LEAKY_SLOPE * zz[p]
    elif code == SOFTPLUS:
        for p in range(n):
            v = zz[p]
            zz[p] = max(v, 0.0) + math.log1p(math.exp(-abs(v)))
    elif code == EXP:
        for p in range(n):
            zz[p] = math.exp(zz[p])


@jit
def times_fprime(code, a, ap, g, gp, n):  # type: ignore[no-untyped-def]
    """g := g ⊙ f′(z), f′ from a = f(z) (elementwise activations; softmax's diagonal a(1 − a))."""
    aa, gg = a[ap : ap + n], g[gp : gp + n]
    if code == SIGMOID or code == SOFTMAX:  # noqa: SIM109 (numba: no tuple membership)
        for p in range(n):
            gg[p] = gg[p] * (aa[p] * (1.0 - aa[p]))
    elif code == TANH:
        for p in range(n):
            gg[p] = gg[p] * (1.0 - aa[p] * aa[p])
    elif code == RELU or code == LEAKY_RELU:  # noqa: SIM109
        slope = 0.0 if code == RELU else LEAKY_SLOPE
        for p in range(n):
            gg[p] = gg[p] * (1.0 if aa[p] > 0 else slope)
    elif code == SOFTPLUS:
        for p in range(n):
            gg[p] = gg[p] * -math.expm1(-aa[p])
    elif code == EXP:
        for p in range(n):
            gg[p] = gg[p] * aa[p]


@jit
def times_mask(v, p, q, masks, row, col, m, s):  # type: ignore[no-untyped-def]
    """v from q := v from p ⊙ r, r the masks' (m, s) block from [row, col]."""
    for i in range(m):
        for j in range(s):
            v[q + i * s + j] = v[p + i * s + j] * masks[row + i, col + j]


# --- the output layer ----------------------------------------------------------------------


@jit
def output(cost, code, z, zp, dp, tp, y, w, a):  # type: ignore[no-untyped-def]
    """a = f(z⁽ⁿˡ⁾) into ``a`` (m, s), δ⁽ⁿˡ⁾ scaled by wᵢ / Σᵢ wᵢ (1/m without w) at dp.

    z (m, s) from zp, δ from dp and scratch from tp are blocks of one vector (``work``).
    Returns the data term, (1/m) Σᵢ J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾), weighted by w when w has rows.
    Softmax takes one exponential per unit for a and J, as ``costs.CrossEntropy`` does.
    """
    m, s = y.shape
    of = a.reshape(m * s)
    for p in range(m * s):
        of[p] = z[zp + p]
    if code == SOFTMAX:  # e^(z − max z) by rows here, divided by the rows' sums below
        for i in range(m):
            top = of[i * s]
            for j in range(1, s):
                top = max(top, of[i * s + j])
            for j in range(s):
                a[i, j] = a[i, j] - top
        exp_block(of, 0, m * s, z, dp)
    else:
        apply(code, of, 0, m * s, z, dp, tp)
    weighted = w.shape[0] > 0
    total_w = 0.0 if weighted else float(m)
    for i in range(m if weighted else 0):
        total_w += w[i]
    data = 0.0
    for i in range(m):
        zi, top, total = zp + i * s, 0.0, 0.0
        if code == SOFTMAX or cost == CROSS_ENTROPY:
            top = z[zi]
            for j in range(1, s):
                top = max(top, z[zi + j])
            for j in range(s):
                total += a[i, j] if code == SOFTMAX else math.exp(z[zi + j] - top)
            if code == SOFTMAX:
                for j in range(s):
                    a[i, j] = a[i, j] / total
        row = 0.0  # J(W,b; x⁽ⁱ⁾,y⁽ⁱ⁾)
        if cost == CROSS_ENTROPY:
            log_total = math.log(total)
            for j in range(s):
                row -= y[i, j] * (z[zi + j] - top - log_total)  # −Σ_k y_k log a_k
        elif cost == BINARY_CROSS_ENTROPY:
            for j in range(s):
                v = z[zi + j]
                row += max(v, 0.0) + math.log1p(math.exp(-abs(v))) - y[i, j] * v
        elif cost == POISSON:
            for j in range(s):
                t = y[i, j]
                xlogx = t * math.log(t) if t > 0 else 0.0
                row += xlogx - t * z[zi + j] + math.exp(z[zi + j]) - t
        else:
            for j in range(s):
                r = a[i, j] - y[i, j]
                row += r * r
            row *= 0.5  # ½‖h(x) − y‖²
        wi, di = (w[i] if weighted else 1.0), dp + i * s
        scale = wi / total_w
        data += row * wi
        if cost == SQUARED_ERROR and code == SOFTMAX:  # ∂J/∂z = a ⊙ (g − Σ_k g_k a_k), g = a − y
            inner = 0.0
            for j in range(s):
                inner += (a[i, j] - y[i, j]) * a[i, j]
            for j in range(s):
                z[di + j] = a[i, j] * ((a[i, j] - y[i, j]) - inner) * scale
        else:  # the other costs' δ⁽ⁿˡ⁾ = a − y; squared error's −(y − a) ⊙ f′(z) takes f′ below
            for j in range(s):
                z[di + j] = (a[i, j] - y[i, j]) * scale
    if cost == SQUARED_ERROR and code != SOFTMAX:
        times_fprime(code, of, 0, z, dp, m * s)
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
    n_w, n_z = 0, 0
    for k in range(L):
        n_w += sizes[k] * sizes[k + 1]
        n_z += m * sizes[k + 1]
    dpos, tpos = n_z, 2 * n_z  # δ blocks after the z blocks, ã blocks after those
    xf = x.reshape(m * sizes[0])
    # forward: z⁽ˡ⁺¹⁾ = W⁽ˡ⁾ ã⁽ˡ⁾ + b⁽ˡ⁾, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾), over z; wp, bp, zp: layer k's
    # blocks in θ and work, counted up here and down again in the backward pass
    mcol, wp, bp, zp = 0, 0, n_w, 0
    for k in range(L):
        s_in, s_out = sizes[k], sizes[k + 1]
        a_in, ap = (xf, 0) if k == 0 else (work, zp - m * s_in)
        if dropout and k > 0:  # ã = a ⊙ r
            times_mask(work, ap, tpos + ap, masks, mrow, mcol, m, s_in)
            mcol += s_in
            ap += tpos
        dot_nt(a_in, ap, theta, wp, bp, work, zp, m, s_in, s_out)
        if k < L - 1:
            apply(codes[k], work, zp, m * s_out, work, dpos + zp, tpos + zp)
        wp, bp, zp = wp + s_out * s_in, bp + s_out, zp + m * s_out
    # δ⁽ⁿˡ⁾ from the cost, then ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ ã⁽ˡ⁾ + λ W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾
    zo = zp - m * sizes[L]
    data = output(cost, codes[L - 1], work, zo, dpos + zo, tpos + zo, y, w, out)
    for k in range(L - 1, -1, -1):
        s_in, s_out = sizes[k], sizes[k + 1]
        wp, bp, zp = wp - s_out * s_in, bp - s_out, zp - m * s_out
        a_in, ap = (xf, 0) if k == 0 else (work, zp - m * s_in + (tpos if dropout else 0))
        dot_tn(work, dpos + zp, a_in, ap, grad, wp, bp, m, s_in, s_out)
        if lam != 0.0:
            for p in range(wp, wp + s_out * s_in):
                grad[p] += lam * theta[p]
        if k == 0:
            break
        # δ⁽ˡ⁾ = (Σ_j W_ji⁽ˡ⁾ δ_j⁽ˡ⁺¹⁾) ⊙ r⁽ˡ⁾ ⊙ f′(z⁽ˡ⁾), f′ from a⁽ˡ⁾
        back = dpos + zp - m * s_in
        dot_nn(work, dpos + zp, theta, wp, work, back, m, s_in, s_out)
        if dropout:
            mcol -= s_in
            times_mask(work, back, back, masks, mrow, mcol, m, s_in)
        times_fprime(codes[k - 1], work, zp - m * s_in, work, back, m * s_in)
    total = 0.0  # Σ W²
    for p in range(n_w if lam != 0.0 else 0):
        total += theta[p] * theta[p]
    return data, (lam / 2) * total


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
            m, v = v1[p] * b1 + c1 * g, v2[p] * b2 + c2 * (g * g)
            v1[p], v2[p] = m, v
            theta[p] = theta[p] - (lr_c1 * m) / (math.sqrt(v) / sqrt_c2 + eps)
        return
    lr, mu = hyper[0], hyper[1]
    for p in range(n):
        step = lr * grad[p]
        if opt == GD:
            theta[p] = theta[p] - step
            continue
        v = v1[p] * mu - step
        v1[p] = v
        theta[p] = theta[p] + v if opt == MOMENTUM else (theta[p] - step) + mu * v


@jit
def epoch(  # type: ignore[no-untyped-def]
    net, theta, grad, lam, alpha, data, order, bs, n_batches, masks, bufs, opt, state, flags, res
):
    """Run ``n_batches`` mini-batches of ``order`` (bs rows each, the last fewer); steps made.

    Args (tuples, to keep the signature short):
      net: (sizes, codes, cost), as :func:`cost_and_grad` takes them.
      lam, alpha: λ; with alpha ≥ 0, each batch's λ is alpha / Σ_B wᵢ instead.
      data: (x, y, w), every example (w empty without weights); order: the epoch's order.
      masks: the epoch's dropout masks, row p for the example at place p of the order.
      bufs: (work, xb, yb, wb, outputs): scratch, gathered rows, every batch's outputs.
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
