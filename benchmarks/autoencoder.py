"""UFLDL's sparse autoencoder, self-taught learning and stacked autoencoder exercises, measured.

Runs each exercise with the tutorial's settings and prints our figures beside
the published ones (UFLDL, on MNIST: self-taught 98.3 %; stacked 784-200-200-10
87.7 % before fine-tuning, 97.6 % after):

- the gradient check of J_sparse at the tutorial's sizes (64-25-64, ρ = 0.01,
  λ = 1e-4, β = 3, 10 patches, ε = 1e-4; UFLDL expects < 1e-9);
- the sparse autoencoder on 10 000 normalised 8×8 patches, 400 L-BFGS
  iterations, with its tiles image;
- self-taught learning: classes 5–9 unlabelled, 0–4 labelled (half train, half
  test), 200 hidden, ρ = 0.1, λ = 3e-3, β = 3, 400 iterations; softmax λ = 1e-4,
  100 iterations; beside a softmax on the raw pixels;
- stacked autoencoders: 200-200 hidden, the same settings, fine-tuning for 400
  iterations; accuracy before and after, beside a softmax on the raw pixels.

on digits (always), Fashion-MNIST (when Debian's dataset-fashion-mnist is
installed) and MNIST (when ``--mnist DIR`` names a directory with its four IDX
files). The same runs from the command line::

    deltaprop autoencoder digits --check-gradient --tiles digits.tiles.png
    deltaprop stacked fashion-mnist --self-taught
    deltaprop stacked fashion-mnist
    deltaprop stacked ~/mnist --self-taught
    deltaprop stacked ~/mnist

Usage::

    .venv/bin/python benchmarks/autoencoder.py [--out DIR] [--mnist DIR]
        [--datasets digits fashion-mnist] [--parts gradcheck sae self-taught stacked]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.autoencoder import (
    autoencoder_network,
    check_sparse_gradient,
    mean_activation,
    normalize_patches,
    sample_patches,
    self_taught_split,
    stacked_autoencoder,
    tiles_png,
    train_sparse_autoencoder,
)
from deltaprop.autoencoder.command import STACKED_DEFAULTS, STACKED_PRESETS, load_images
from deltaprop.data import DataError
from deltaprop.io import atomic_write_bytes

PUBLISHED = {"self-taught": 98.3, "before": 87.7, "after": 97.6}


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def gradient_check(images: np.ndarray) -> dict[str, Any]:
    patches = normalize_patches(sample_patches(images, 10_000, 8, seed=0))
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
    res = check_sparse_gradient(net, patches[:10], sparsity_target=0.01, beta=3.0)
    return {
        "relative_error": res.relative_error,
        "per_array": {p.name: p.relative_error for p in res.per_layer},
        "coordinates": res.n_checked,
        "ok": res.ok,
    }


def sparse_autoencoder(images: np.ndarray, out: Path, name: str) -> dict[str, Any]:
    patches = normalize_patches(sample_patches(images, 10_000, 8, seed=0))
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
    before = float(mean_activation(net, patches).mean())
    start = time.perf_counter()
    history = train_sparse_autoencoder(net, patches, sparsity_target=0.01, beta=3.0, max_iter=400)
    seconds = time.perf_counter() - start
    rho_hat = mean_activation(net, patches)
    png = out / f"{name}.tiles.png"
    atomic_write_bytes(png, tiles_png(net.W[0]))
    W = np.asarray(net.W[0])
    return {
        "iterations": len(history),
        "J_sparse": history.train_loss[-1],
        "reconstruction": history.train_data[-1],
        "sparsity_term": history.train_sparsity[-1],
        "mean_rho_hat_before": before,
        "mean_rho_hat_after": float(rho_hat.mean()),
        "rho_hat_range": [float(rho_hat.min()), float(rho_hat.max())],
        "filter_norms": [
            float(np.linalg.norm(W, axis=1).min()),
            float(np.linalg.norm(W, axis=1).max()),
        ],
        "tiles": str(png),
        "seconds": seconds,
    }


def settings_for(name: str) -> dict[str, Any]:
    preset = {**STACKED_DEFAULTS, **STACKED_PRESETS.get(name, {})}
    hidden = [int(h) for h in str(preset["hidden"]).split("-")]
    return {"hidden": hidden, "weight_decay": preset["weight_decay"]}


def self_taught(X: np.ndarray, y: np.ndarray, name: str, out: Path) -> dict[str, Any]:
    X_u, X_tr, y_tr, X_te, y_te, _ = self_taught_split(X, y, (5, 6, 7, 8, 9))
    s = settings_for(name)
    start = time.perf_counter()
    result = stacked_autoencoder(
        X_tr,
        y_tr,
        X_te,
        y_te,
        hidden=s["hidden"][:1],
        X_unlabelled=X_u,
        sparsity_target=0.1,
        beta=3.0,
        weight_decay=s["weight_decay"],
        finetune_iter=0,
        baseline=True,
        seed=0,
        log=log,
    )
    side = math.isqrt(X.shape[1])
    atomic_write_bytes(
        out / f"{name}.self-taught.tiles.png",
        tiles_png(result.layers[0].autoencoder.W[0], (side, side), scale=2),
    )
    return {
        "sizes": list(result.network.layer_sizes),
        "unlabelled": len(X_u),
        "train": len(X_tr),
        "test": len(X_te),
        "weight_decay": s["weight_decay"],
        "accuracy": 100 * result.accuracy_before,
        "baseline": 100 * (result.baseline_accuracy or 0.0),
        "seconds": time.perf_counter() - start,
    }


def stacked(
    X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, name: str
) -> dict[str, Any]:
    s = settings_for(name)
    start = time.perf_counter()
    result = stacked_autoencoder(
        X,
        y,
        X_test,
        y_test,
        hidden=s["hidden"],
        sparsity_target=0.1,
        beta=3.0,
        weight_decay=s["weight_decay"],
        baseline=True,
        seed=0,
        log=log,
    )
    return {
        "sizes": list(result.network.layer_sizes),
        "train": len(X),
        "test": len(X_test),
        "weight_decay": s["weight_decay"],
        "before": 100 * result.accuracy_before,
        "after": 100 * (result.accuracy_after or 0.0),
        "baseline": 100 * (result.baseline_accuracy or 0.0),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/autoencoder"))
    parser.add_argument("--mnist", help="a directory with MNIST's four IDX files")
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument(
        "--parts", nargs="+", default=["gradcheck", "sae", "self-taught", "stacked"]
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = list(args.datasets) + ([args.mnist] if args.mnist else [])
    results: dict[str, Any] = {}
    for name in names:
        try:
            images = load_images(name, 0)
        except DataError as exc:
            print(f"{name}: skipped ({exc})")
            continue
        key = "mnist" if name == args.mnist else name
        n, h, w = images.train.shape
        X, y = images.train.reshape(n, h * w), images.train_labels
        assert y is not None and images.test is not None and images.test_labels is not None
        X_test = images.test.reshape(len(images.test), h * w)
        part: dict[str, Any] = {}
        if "gradcheck" in args.parts:
            log(f"{key}: gradient check")
            part["gradcheck"] = gradient_check(images.train)
            print(f"{key}: gradient check {part['gradcheck']['relative_error']:.3e}", flush=True)
        if "sae" in args.parts:
            log(f"{key}: sparse autoencoder on 10000 patches")
            part["sae"] = sparse_autoencoder(images.train, args.out, key)
            print(f"{key}: sparse autoencoder {json.dumps(part['sae'])}", flush=True)
        if "self-taught" in args.parts:
            log(f"{key}: self-taught learning")
            part["self-taught"] = self_taught(X, y, key, args.out)
            print(f"{key}: self-taught {json.dumps(part['self-taught'])}", flush=True)
        if "stacked" in args.parts:
            log(f"{key}: stacked autoencoder")
            part["stacked"] = stacked(X, y, X_test, images.test_labels, key)
            print(f"{key}: stacked {json.dumps(part['stacked'])}", flush=True)
        results[key] = part
        atomic_write_bytes(args.out / "autoencoder.json", json.dumps(results, indent=1).encode())

    print(f"\n{'data':<15}{'exercise':<32}{'ours %':>8}{'UFLDL MNIST %':>15}{'raw softmax %':>15}")
    for key, part in results.items():
        if "self-taught" in part:
            r = part["self-taught"]
            print(
                f"{key:<15}{'self-taught, ' + '-'.join(map(str, r['sizes'])):<32}"
                f"{r['accuracy']:>8.2f}{PUBLISHED['self-taught']:>15.1f}{r['baseline']:>15.2f}"
            )
        if "stacked" in part:
            r = part["stacked"]
            sizes = "-".join(map(str, r["sizes"]))
            print(
                f"{key:<15}{'stacked ' + sizes + ', before':<32}{r['before']:>8.2f}"
                f"{PUBLISHED['before']:>15.1f}{r['baseline']:>15.2f}"
            )
            after = f"stacked {sizes}, after"
            print(f"{key:<15}{after:<32}{r['after']:>8.2f}{PUBLISHED['after']:>15.1f}")


if __name__ == "__main__":
    main()
