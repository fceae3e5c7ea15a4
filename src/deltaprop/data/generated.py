"""Small seeded toy datasets, made in memory.

Every generator takes its randomness explicitly as ``seed`` (an int, a numpy
``Generator`` used as is, or None for fresh entropy) and never touches numpy's
global random state. Classification sets return ``(X, y)`` with X float64 of
shape (m, 2) and integer labels y of shape (m,); ``sine`` is a regression set
whose targets are a float64 column (m, 1).
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_count as _count
from .._validate import check_real
from ..network import make_rng as as_generator

Seed = int | np.random.Generator | None

__all__ = ["Seed", "as_generator", "circles", "moons", "sine", "spirals", "xor"]


def _noise(value: float) -> float:
    return check_real("noise", value, low=0.0)


def _two_classes(
    n_samples: int, noise: float, seed: Seed
) -> tuple[int, float, np.random.Generator, np.ndarray]:
    """n_samples ≥ 2 and noise ≥ 0 checked, the generator, and labels 0, 1, 0, 1, …"""
    n = _count("n_samples", n_samples, 2)
    return n, _noise(noise), as_generator(seed), np.arange(n, dtype=np.int64) % 2


def _jittered(
    rng: np.random.Generator, X: np.ndarray, y: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray]:
    """X plus N(0, noise²) jitter, then the rows shuffled."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(y))
    return X[order], y[order]


def xor(*, n_repeats: int = 1, noise: float = 0.0, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points, y = x₁ ⊕ x₂, tiled ``n_repeats`` times plus N(0, noise²) jitter.

    With the defaults this is exactly X = [[0,0],[0,1],[1,0],[1,1]], y = [0,1,1,0]
    in that order; repeats keep the order (the four points, then again).
    """
    n_repeats = _count("n_repeats", n_repeats)
    noise = _noise(noise)
    X = np.tile(np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), (n_repeats, 1))
    y = np.tile(np.array([0, 1, 1, 0], dtype=np.int64), n_repeats)
    if noise > 0:
        X = X + noise * as_generator(seed).standard_normal(X.shape)
    return X, y


def spirals(
    n_samples: int = 400, *, noise: float = 0.05, turns: float = 1.5, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (Lang & Witbrock 1988), class k turned by kπ.

    t ~ U[0.05, 1], θ = 2π·turns·t, x = t·(cos(θ + kπ), sin(θ + kπ)) + N(0, noise²);
    class 0 gets ⌈n_samples/2⌉ points, class 1 the rest, rows shuffled.
    """
    n_samples, noise, rng, y = _two_classes(n_samples, noise, seed)
    t = rng.uniform(0.05, 1.0, size=n_samples)
    angle = 2 * math.pi * turns * t + math.pi * y
    X = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return _jittered(rng, X, y, noise)


def moons(
    n_samples: int = 400, *, noise: float = 0.1, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: class 0 is (cos t, sin t), class 1 (1 − cos t, ½ − sin t).

    t ~ U[0, π], plus N(0, noise²) jitter on both coordinates; rows shuffled.
    """
    n_samples, noise, rng, y = _two_classes(n_samples, noise, seed)
    t = rng.uniform(0.0, math.pi, size=n_samples)
    X = np.where(
        y[:, None] == 0,
        np.column_stack([np.cos(t), np.sin(t)]),
        np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]),
    )
    return _jittered(rng, X, y, noise)


def circles(
    n_samples: int = 400, *, noise: float = 0.05, factor: float = 0.5, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor`` (0 < factor < 1).

    Angles t ~ U[0, 2π), plus N(0, noise²) jitter; rows shuffled.
    """
    n_samples, noise, rng, y = _two_classes(n_samples, noise, seed)
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie strictly between 0 and 1, got {factor!r}")
    t = rng.uniform(0.0, 2 * math.pi, size=n_samples)
    radius = np.where(y == 0, 1.0, factor)
    X = radius[:, None] * np.column_stack([np.cos(t), np.sin(t)])
    return _jittered(rng, X, y, noise)


def sine(
    n_samples: int = 200, *, noise: float = 0.0, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Regression: x ~ U[−π, π], y = sin x + N(0, noise²); X and y both have shape (m, 1)."""
    n_samples = _count("n_samples", n_samples)
    noise = _noise(noise)
    rng = as_generator(seed)
    X = rng.uniform(-math.pi, math.pi, size=(n_samples, 1))
    y = np.sin(X)
    if noise > 0:
        y += noise * rng.standard_normal(y.shape)
    return X, y
