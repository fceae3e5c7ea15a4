"""Image patches for the sparse autoencoder, sampled and normalised as UFLDL's exercise does.

The exercise (``sampleIMAGES.m``) cuts 10 000 random 8×8 patches out of
natural images and rescales them with ``normalizeData``: each patch loses its
mean (its DC component), values are truncated to ±3 standard deviations and
mapped from [−1, 1] to [0.1, 0.9], the range a sigmoid decoder can reproduce
without saturating. Here the images are whatever array the caller gives
(digits, Fashion-MNIST, MNIST read by ``deltaprop.data``); nothing is read from
disk. Patches are flattened row-major, so ``W⁽¹⁾[j].reshape(p, p)`` is the image
of hidden unit j's weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._validate import check_count
from ..network import make_rng


def as_images(X: Any, *, name: str = "X") -> np.ndarray:
    """Images (n, h, w) from (n, h, w), or from square rows (n, h²); float64.

    >>> as_images(np.zeros((5, 64))).shape
    (5, 8, 8)
    """
    images = np.asarray(X, dtype=np.float64)
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ValueError(
                f"{name} has {images.shape[1]} columns, not a square image; "
                "give images as an (n, height, width) array"
            )
        images = images.reshape(images.shape[0], side, side)
    if images.ndim != 3 or images.shape[0] == 0:
        raise ValueError(f"{name} must hold images, (n, height, width), got shape {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{name} contains a NaN or infinity")
    return images


def sample_patches(
    images: Any,
    n_patches: int = 10_000,
    patch_size: int = 8,
    *,
    seed: int | np.random.Generator | None = 0,
) -> np.ndarray:
    """(n_patches, patch_size²) patches, each from a random image at a random position.

    Image i, row r and column c are drawn uniformly (with replacement) from a
    seeded generator; the patch is images[i, r : r + p, c : c + p], flattened
    row-major. Where the images are p × p (the digits, with p = 8), every patch
    is a whole image.

    >>> sample_patches(np.arange(32.0).reshape(2, 4, 4), 3, 2, seed=0).shape
    (3, 4)
    """
    images = as_images(images, name="images")
    n, h, w = images.shape
    check_count("n_patches", n_patches)
    check_count("patch_size", patch_size)
    if patch_size > min(h, w):
        raise ValueError(f"patch_size is {patch_size}, larger than the {h}×{w} images")
    rng = make_rng(seed)
    image = rng.integers(0, n, size=n_patches)
    row = rng.integers(0, h - patch_size + 1, size=n_patches)
    col = rng.integers(0, w - patch_size + 1, size=n_patches)
    offsets = np.arange(patch_size)
    rows = (row[:, None] + offsets)[:, :, None]  # (n, p, 1)
    cols = (col[:, None] + offsets)[:, None, :]  # (n, 1, p)
    return images[image[:, None, None], rows, cols].reshape(n_patches, patch_size * patch_size)


def normalize_patches(patches: Any) -> np.ndarray:
    """UFLDL's normalizeData: x ← x − mean(x) per patch; σ = 3 std; clip to ±σ; to [0.1, 0.9].

    x̃ = 0.1 + 0.4 (clip(x − x̄, −σ, σ)/σ + 1), with x̄ the patch's own mean and σ
    three times the standard deviation of every value of every patch (with the
    n − 1 denominator, as MATLAB's ``std``). All-constant patches give 0.5.

    >>> normalize_patches(np.array([[0.0, 1.0], [1.0, 0.0]]))
    array([[0.38452995, 0.61547005],
           [0.61547005, 0.38452995]])
    """
    x = np.array(patches, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"patches must be a 2-D array (rows = patches), got shape {x.shape}")
    x -= x.mean(axis=1, keepdims=True)  # remove each patch's DC component
    sigma = 3 * x.std(ddof=1) if x.size > 1 else 0.0
    if sigma > 0:
        x = np.clip(x, -sigma, sigma) / sigma  # now in [−1, 1]
    return (x + 1) * 0.4 + 0.1
