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
and activations are ``kernels``' own (loops when tiny, BLAS from ``BLAS_FROM``);
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
from .kernels import apply, dot_nn, dot_nt, dot_tn, fprime, sigmoid

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
    n_w = 2 * n_w1
    W1 = theta[:n_w1].reshape((s2, s1))
    W2 = theta[n_w1:n_w].reshape((s1, s2))
    b1 = theta[n_w : n_w + s2]
    b2 = theta[n_w + s2 : n_w + s2 + s1]
    a2 = work[: m * s2].reshape((m, s2))  # z⁽²⁾, then a⁽²⁾ in place
    # forward: z⁽²⁾ = W⁽¹⁾x + b⁽¹⁾; a⁽²⁾ = σ(z⁽²⁾), and σ(−z⁽²⁾) summed for 1 − ρ̂
    dot_nt(x, W1, a2)
    rho_sum = np.zeros(s2)
    comp_sum = np.zeros(s2)
    for i in range(m):
        for j in range(s2):
            z = a2[i, j] + b1[j]
            a = sigmoid(z)
            a2[i, j] = a
            rho_sum[j] += a
            comp_sum[j] += sigmoid(-z)
    # z⁽³⁾ = W⁽²⁾a⁽²⁾ + b⁽²⁾; a⁽³⁾ = f(z⁽³⁾), into out
    dot_nt(a2, W2, out)
    for i in range(m):
        for j in range(s1):
            out[i, j] += b2[j]
    apply(out_code, out, out)
    # the three parts of J_sparse
    data = 0.0
    for i in range(m):
        row = 0.0
        for j in range(s1):
            r = out[i, j] - x[i, j]
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
    dW1 = grad[:n_w1].reshape((s2, s1))
    dW2 = grad[n_w1:n_w].reshape((s1, s2))
    db1 = grad[n_w : n_w + s2]
    db2 = grad[n_w + s2 : n_w + s2 + s1]
    # δ⁽³⁾ = −(x − a⁽³⁾) ⊙ f′(z⁽³⁾)
    delta3 = work[m * s2 : m * (s2 + s1)].reshape((m, s1))
    for i in range(m):
        for j in range(s1):
            delta3[i, j] = (out[i, j] - x[i, j]) * fprime(out_code, out, i, j)
    # δ⁽²⁾ = (W⁽²⁾ᵀ δ⁽³⁾ + β KL′(ρ̂)) ⊙ a⁽²⁾(1 − a⁽²⁾)
    delta2 = work[m * (s2 + s1) : m * (2 * s2 + s1)].reshape((m, s2))
    dot_nn(delta3, W2, delta2)
    kl_d = np.empty(s2)
    for j in range(s2):
        kl_d[j] = beta * (-rho / rho_hat[0, j] + (1 - rho) / rho_hat[1, j])
    for i in range(m):
        for j in range(s2):
            delta2[i, j] = (delta2[i, j] + kl_d[j]) * fprime(SIGMOID, a2, i, j)
    # ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾ / m + λ W⁽ˡ⁾, ∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾ / m
    dot_tn(delta3, a2, dW2)
    dot_tn(delta2, x, dW1)
    for j in range(s1):
        for k in range(s2):
            dW2[j, k] = dW2[j, k] / m + lam * W2[j, k]
            dW1[k, j] = dW1[k, j] / m + lam * W1[k, j]
    _column_means(delta3, db2)
    _column_means(delta2, db1)
    return data, decay, sparsity


@jit
def _column_means(d, out):  # type: ignore[no-untyped-def]
    """out = (1/m) Σᵢ d[i]: a bias's gradient from its layer's δ (m, s)."""
    m, s = d.shape
    acc = np.zeros(s)
    for i in range(m):
        for j in range(s):
            acc[j] += d[i, j]
    for j in range(s):
        out[j] = acc[j] / m
