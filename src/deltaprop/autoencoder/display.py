"""The learned features as a picture: UFLDL's ``display_network``, as PNG bytes.

Row j of W⁽¹⁾ holds the weights from every input pixel to hidden unit j; shown
as an image, it is the input pattern that excites unit j most (for a unit-norm
input, the one maximising z_j⁽²⁾). The tiles are laid out as display_network
does: the mean of all weights is subtracted, each tile is divided by its own
largest |value| so that it spans [−1, 1] (grey = 0, white = +1, black = −1),
tiles sit on a grid of n columns and ⌈M/n⌉ rows with a 1-pixel black border,
and n is √M for a square M, else the first n ≥ ⌈√M⌉ that divides M (stopping
before 1.2√M).
"""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from .._validate import check_count

BORDER = 1
"""Pixels between tiles (display_network's ``buf``)."""


def grid_shape(n_tiles: int) -> tuple[int, int]:
    """(rows, columns) of display_network's grid for ``n_tiles`` tiles.

    >>> grid_shape(25), grid_shape(200), grid_shape(10)
    ((5, 5), (12, 17), (3, 4))
    """
    check_count("n_tiles", n_tiles)
    root = math.isqrt(n_tiles)
    if root * root == n_tiles:
        return root, root
    cols = math.ceil(math.sqrt(n_tiles))
    while n_tiles % cols != 0 and cols < 1.2 * math.sqrt(n_tiles):
        cols += 1
    return math.ceil(n_tiles / cols), cols


def tile_array(W: Any, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """The grid of tiles as one float64 array with values in [−1, 1] (borders −1).

    Args:
      W: one filter per row, (M, h·w), e.g. W⁽¹⁾ of shape (s₂, s₁).
      image_shape: (h, w) of a filter; by default square, h = w = √(s₁).

    For M tiles of h × w on an r × c grid the array is
    (1 + r(h + 1)) × (1 + c(w + 1)).
    """
    A = np.asarray(W, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] == 0:
        raise ValueError(f"W must be a 2-D array with one filter per row, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("W contains a NaN or infinity")
    M, L = A.shape
    if image_shape is None:
        side = math.isqrt(L)
        if side * side != L:
            raise ValueError(
                f"W's rows have {L} values, not a square image; pass image_shape=(height, width)"
            )
        image_shape = (side, side)
    h, w = image_shape
    if h * w != L:
        raise ValueError(f"image_shape {image_shape} holds {h * w} pixels, W's rows have {L}")
    A = A - A.mean()
    rows, cols = grid_shape(M)
    out = -np.ones((BORDER + rows * (h + BORDER), BORDER + cols * (w + BORDER)))
    for k in range(M):
        r, c = divmod(k, cols)
        top, left = BORDER + r * (h + BORDER), BORDER + c * (w + BORDER)
        scale = np.max(np.abs(A[k]))
        tile = A[k] / scale if scale > 0 else A[k]
        out[top : top + h, left : left + w] = tile.reshape(h, w)
    return out


def tiles_png(W: Any, image_shape: tuple[int, int] | None = None, *, scale: int = 4) -> bytes:
    """PNG bytes of :func:`tile_array` in grey, each array pixel drawn as scale × scale.

    The image is exactly (scale · height) × (scale · width) pixels of the tile
    array; write it with ``deltaprop.io.atomic_write_bytes``. Needs matplotlib
    (headless; no figure or window is made).
    """
    check_count("scale", scale)
    array = tile_array(W, image_shape)
    try:
        from matplotlib.image import imsave
    except ImportError as exc:
        raise ValueError("the tiles image needs matplotlib: pip install 'deltaprop[data]'") from exc
    big = np.kron(array, np.ones((scale, scale)))
    buffer = io.BytesIO()
    imsave(buffer, big, cmap="gray", vmin=-1.0, vmax=1.0, format="png")
    return buffer.getvalue()
