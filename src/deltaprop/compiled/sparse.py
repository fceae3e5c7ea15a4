"""The sparse autoencoder's J_sparse and ∇J_sparse, compiled (one batch, the whole of it).

:func:`sparse_cost_and_grad` computes what ``autoencoder.cost.sparse_cost_and_grad``
defines, for the 3-layer network [s₁, s₂, s₁] with sigmoid hidden units, a sigmoid
or identity decoder and the squared error (the targets are the inputs):

    ρ̂_j = (1/m) Σᵢ a_j⁽²⁾,   1 − ρ̂_j = (1/m) Σᵢ σ(−z_j⁽²⁾)
    J_sparse = (1/m) Σᵢ ½‖a⁽³⁾ − x‖² + (λ/2) Σ W² + β Σ_j KL(ρ ‖ ρ̂_j)
    δ⁽³⁾ = −(x − a⁽³⁾) ⊙ f′(z⁽³⁾)
    δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾ + β(−ρ/ρ̂ + (1−ρ)/(1−ρ̂))) ⊙ a⁽²⁾(1 − a⁽²⁾)
    ∂J/∂W⁽ˡ⁾ = (1/m) δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾ + λW⁽ˡ⁾,   ∂J/∂b⁽ˡ⁾ = (1/m) Σᵢ δ⁽ˡ⁺¹⁾

tests/test_compiled_sparse.py holds it equal to the readable function. The products
are ``kernels``' own (loops when tiny, BLAS from ``BLAS_FROM``), the sigmoid its own;
this file is listed in ``cache.SOURCES``, so that a change to ``kernels.py`` (whose
helpers numba compiles into this function) also renames the cache folder and the
ahead-of-time module (``aot.KERNELS``), which exports it beside the epoch.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .cache import ON_DISK
from .codes import SIGMOID
from .kernels import dot_nn, dot_nt, dot_tn

jit = njit(cache=ON_DISK, nogil=True, error_model="numpy")  # as kernels compile theirs


@jit
def sparse_cost_and_grad(theta, grad, sizes, out_code, hyper, x, work, out, rho_hat):  # type: ignore[no-untyped-def]
    """(data term, weight decay, sparsity penalty) at θ over x; ∇J_sparse into ``grad``.

    Args:
      theta, grad: flat vectors in ``network.Layout``'s order (W⁽¹⁾, W⁽²⁾, b⁽¹⁾, b⁽²⁾);
        an empty ``grad``: J_sparse alone (one forward pass).
      sizes: (s₁, s₂, s₁).
      out_code: the decoder's activation code (sigmoid or identity).
      hyper: (λ, ρ, β) as float64.
      x: the inputs (m, s₁), which are also the targets.
      work: scratch of at least m·(2 s₂ + s₁) entries.
      out: (m, s₁), filled with the reconstructions a⁽³⁾.
      rho_hat: (2, s₂), filled with ρ̂ and 1 − ρ̂.
    """
    m = x.shape[0]
    s1, s2 = sizes[0], sizes[1]
    lam, rho, beta = hyper[0], hyper[1], hyper[2]
    n_w1 = s2 * s1
    n_w = 2 * n_w1  # θ: W⁽¹⁾ from 0, W⁽²⁾ from n_w1, b⁽¹⁾ from n_w, b⁽²⁾ from n_w + s2
    xf, outf = x.reshape(m * s1), out.reshape(m * s1)
    d3, d2 = m * s2, m * (s2 + s1)  # work: a⁽²⁾ from 0, δ⁽³⁾ from d3, δ⁽²⁾ from d2
    # forward: z⁽²⁾ = W⁽¹⁾x + b⁽¹⁾; a⁽²⁾ = σ(z⁽²⁾), and σ(−z⁽²⁾) summed for 1 − ρ̂
    dot_nt(xf, 0, theta, 0, n_w, work, 0, m, s1, s2)
    rho_sum = np.zeros(s2)
    comp_sum = np.zeros(s2)
    for i in range(m):
        for j in range(s2):
            z = work[i * s2 + j]
            a = _sigmoid(z)
            work[i * s2 + j] = a
            rho_sum[j] += a
            comp_sum[j] += _sigmoid(-z)
    # z⁽³⁾ = W⁽²⁾a⁽²⁾ + b⁽²⁾; a⁽³⁾ = f(z⁽³⁾) (sigmoid or identity), into out
    dot_nt(work, 0, theta, n_w1, n_w + s2, outf, 0, m, s2, s1)
    if out_code == SIGMOID:
        for p in range(m * s1):
            outf[p] = _sigmoid(outf[p])
    # the three parts of J_sparse
    data = 0.0
    for i in range(m):
        row = 0.0
        for j in range(s1):
            r = outf[i * s1 + j] - xf[i * s1 + j]
            row += r * r
        data += 0.5 * row  # ½‖h(x) − x‖²
    data = data / m
    decay = 0.0
    if lam != 0.0:
        total = 0.0
        for p in range(n_w):
            total += theta[p] * theta[p]
        decay = (lam / 2) * total
    log_rho, log_rho_c = math.log(rho), math.log1p(-rho)
    kl = 0.0
    for j in range(s2):
        r, c = rho_sum[j] / m, comp_sum[j] / m
        rho_hat[0, j], rho_hat[1, j] = r, c
        kl += rho * (log_rho - math.log(r)) + (1 - rho) * (log_rho_c - math.log(c))
    sparsity = beta * kl
    if grad.shape[0] == 0:
        return data, decay, sparsity
    # δ⁽³⁾ = −(x − a⁽³⁾) ⊙ f′(z⁽³⁾), f′ = a(1 − a) for the sigmoid, 1 for the identity
    for p in range(m * s1):
        a = outf[p]
        g = a - xf[p]
        work[d3 + p] = g * (a * (1.0 - a)) if out_code == SIGMOID else g
    # δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾ + β KL′(ρ̂)) ⊙ a⁽²⁾(1 − a⁽²⁾)
    dot_nn(work, d3, theta, n_w1, work, d2, m, s2, s1)
    kl_d = np.empty(s2)
    for j in range(s2):
        kl_d[j] = beta * (-rho / rho_hat[0, j] + (1 - rho) / rho_hat[1, j])
    for i in range(m):
        for j in range(s2):
            a = work[i * s2 + j]
            work[d2 + i * s2 + j] = (work[d2 + i * s2 + j] + kl_d[j]) * (a * (1.0 - a))
    # ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾ / m + λ W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾ / m
    dot_tn(work, d3, work, 0, grad, n_w1, n_w + s2, m, s2, s1)
    dot_tn(work, d2, xf, 0, grad, 0, n_w, m, s1, s2)
    for p in range(n_w):
        grad[p] = grad[p] / m + lam * theta[p]
    for p in range(n_w, n_w + s2 + s1):
        grad[p] = grad[p] / m
    return data, decay, sparsity


@jit
def _sigmoid(z):  # type: ignore[no-untyped-def]
    """σ(z) through e^(−|z|), as ``activations.sigmoid`` computes it."""
    e = math.exp(-abs(z))
    s = 1.0 / (1.0 + e)
    return s if z >= 0 else e * s
