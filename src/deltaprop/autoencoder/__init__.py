"""Sparse autoencoders, self-taught learning and stacked autoencoders: UFLDL's next exercises.

>>> import numpy as np
>>> from deltaprop.autoencoder import autoencoder_network, check_sparse_gradient
>>> net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
>>> X = np.random.default_rng(0).uniform(0.1, 0.9, size=(10, 64))
>>> check_sparse_gradient(net, X, sparsity_target=0.01, beta=3.0).relative_error < 1e-9
True

- :mod:`.cost`: J_sparse(W,b) = J(W,b) + β Σ_j KL(ρ ‖ ρ̂_j), its δ⁽²⁾, the gradient check;
- :mod:`.fit`: L-BFGS training with a per-iteration history;
- :mod:`.patches`: UFLDL's patch sampling and normalisation;
- :mod:`.display`: the learned W⁽¹⁾ rows as a PNG of tiles (display_network);
- :mod:`.stacked`: self-taught learning, greedy pre-training, stacking, fine-tuning;
- :mod:`.estimator`: ``SparseAutoencoder``, a scikit-learn transformer (needs scikit-learn);
- :mod:`.command`: the ``deltaprop autoencoder`` and ``deltaprop stacked`` subcommands.
"""

from __future__ import annotations

from typing import Any

from .cost import (
    SparseObjective,
    SparseTerms,
    autoencoder_network,
    check_autoencoder,
    check_sparse_gradient,
    encode,
    kl_divergence,
    mean_activation,
    sparse_cost,
    sparse_cost_and_grad,
    sparse_objective,
)
from .display import grid_shape, tile_array, tiles_png
from .fit import SparseHistory, train_sparse_autoencoder
from .patches import normalize_patches, sample_patches
from .stacked import (
    PretrainedLayer,
    StackedResult,
    pretrain,
    self_taught_learning,
    self_taught_split,
    stack,
    stacked_autoencoder,
    train_softmax,
)

__all__ = [
    "PretrainedLayer",
    "SparseAutoencoder",
    "SparseHistory",
    "SparseObjective",
    "SparseTerms",
    "StackedResult",
    "autoencoder_network",
    "check_autoencoder",
    "check_sparse_gradient",
    "encode",
    "grid_shape",
    "kl_divergence",
    "mean_activation",
    "normalize_patches",
    "pretrain",
    "sample_patches",
    "self_taught_learning",
    "self_taught_split",
    "sparse_cost",
    "sparse_cost_and_grad",
    "sparse_objective",
    "stack",
    "stacked_autoencoder",
    "tile_array",
    "tiles_png",
    "train_softmax",
    "train_sparse_autoencoder",
]


def __getattr__(name: str) -> Any:
    # The scikit-learn transformer is imported on first use: scikit-learn is optional.
    if name == "SparseAutoencoder":
        from .estimator import SparseAutoencoder

        return SparseAutoencoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
