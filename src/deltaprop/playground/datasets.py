"""The playground's 2-D data: TensorFlow Playground's six sets, the input features, the split.

Points lie in the square [−6, 6]²; classification sets label them 0 or 1 (the
sigmoid output's range), regression sets give a target in [−1, 1]. ``noise`` is a
percentage, 0 … 50, as on TensorFlow Playground's slider. Every generator takes
its randomness as a numpy ``Generator`` (no global random state), so one seed gives
one data set, one split and one initialisation: what makes a shared link and
Reset start from the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RADIUS = 6.0
"""Half the side of the square the points and the decision surfaces cover."""

CLASSIFICATION = ("circle", "xor", "gauss", "spiral")
REGRESSION = ("plane", "multigauss")
DATASETS = CLASSIFICATION + REGRESSION

FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sin x1": lambda x1, x2: np.sin(x1),
    "sin x2": lambda x1, x2: np.sin(x2),
}
"""The input features, computed from a point (x₁, x₂): TensorFlow Playground's seven."""

FEATURE_LABELS = {
    "x1": "x₁",
    "x2": "x₂",
    "x1^2": "x₁²",
    "x2^2": "x₂²",
    "x1x2": "x₁x₂",
    "sin x1": "sin x₁",
    "sin x2": "sin x₂",
}


def features(points: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The network's input: one column per feature in ``names``, rows = points (m, 2)."""
    x1, x2 = points[:, 0], points[:, 1]
    return np.stack([FEATURES[n](x1, x2) for n in names], axis=1)


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 within half the radius of the centre, 0 on a ring beyond 0.7 of it."""
    r = RADIUS - 1.0
    inner = n // 2
    radius = np.concatenate([rng.uniform(0.0, 0.5 * r, inner), rng.uniform(0.7 * r, r, n - inner)])
    angle = rng.uniform(0.0, 2 * np.pi, n)
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    points += rng.uniform(-r, r, points.shape) * noise
    label = (np.hypot(points[:, 0], points[:, 1]) < 0.5 * r).astype(np.float64)
    return points, label


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Label 1 where x₁ and x₂ have the same sign; points kept a little off the axes."""
    points = rng.uniform(-5.0, 5.0, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)
    noisy = points + rng.uniform(-5.0, 5.0, points.shape) * noise
    return points, (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.float64)


def _gauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds at (2, 2) (label 1) and (−2, −2) (label 0)."""
    spread = 0.5 + 3.5 * noise
    label = (np.arange(n) % 2).astype(np.float64)
    centre = np.where(label[:, None] == 1, 2.0, -2.0)
    return centre + rng.normal(0.0, spread, (n, 2)), label


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals, one per label."""
    label = (np.arange(n) % 2).astype(np.float64)
    t = rng.uniform(0.0, 1.0, n)
    radius = 5.0 * t
    angle = 1.75 * t * 2 * np.pi + np.pi * label
    points = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return points + rng.uniform(-1.0, 1.0, points.shape) * noise * 5.0, label


def _plane(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """The target rises linearly across the square: y = (x₁ + x₂) / 12."""
    points = rng.uniform(-RADIUS, RADIUS, (n, 2))
    noisy = points + rng.uniform(-RADIUS, RADIUS, points.shape) * noise
    return points, (noisy[:, 0] + noisy[:, 1]) / (2 * RADIUS)


_TOP = ((-4.0, 2.5, 1.0), (0.0, 2.5, -1.0), (4.0, 2.5, 1.0))
_BUMPS: tuple[tuple[float, float, float], ...] = _TOP + tuple((x, -y, -s) for x, y, s in _TOP)
"""(centre x₁, centre x₂, sign) of each bump: three above the axis, their opposites below."""


def _multigauss(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """Six Gaussian bumps of alternating sign; the target is the strongest one at the point."""
    points = rng.uniform(-RADIUS, RADIUS, (n, 2))
    noisy = points + rng.uniform(-RADIUS, RADIUS, points.shape) * noise
    values = np.stack(
        [
            s * np.exp(-((noisy[:, 0] - cx) ** 2 + (noisy[:, 1] - cy) ** 2) / 2.0)
            for cx, cy, s in _BUMPS
        ],
        axis=1,
    )
    strongest = np.argmax(np.abs(values), axis=1)
    return points, values[np.arange(n), strongest]


_MAKERS = {
    "circle": _circle,
    "xor": _xor,
    "gauss": _gauss,
    "spiral": _spiral,
    "plane": _plane,
    "multigauss": _multigauss,
}


def generate(name: str, n: int, noise_percent: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points (n, 2) and their targets (n,) of the data set ``name``, seeded."""
    rng = np.random.default_rng([seed, DATASETS.index(name)])
    return _MAKERS[name](rng, n, noise_percent / 100.0)


def split(n: int, train_percent: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and test parts: ``train_percent`` % of n for training."""
    order = np.random.default_rng([seed, 99]).permutation(n)
    n_train = min(n - 1, max(1, round(n * train_percent / 100)))
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def grid(resolution: int) -> np.ndarray:
    """The points (resolution², 2) at which decision surfaces are drawn, row by row from the top.

    Row r, column c is the point (x₁, x₂) = (−6 + (c + ½)·12/n, 6 − (r + ½)·12/n).
    """
    centres = -RADIUS + (np.arange(resolution) + 0.5) * (2 * RADIUS / resolution)
    x1, x2 = np.meshgrid(centres, centres[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)
