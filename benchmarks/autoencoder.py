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
  iterations; accuracy before and after, beside a softmax on the raw pixels;
- engines (``--parts engines``): the 64-25-64 autoencoder on the 10 000 patches,
  compiled (``deltaprop.compiled``'s J_sparse) against the readable path
  (``DELTAPROP_ENGINE=reference``), taking turns: the time of one J_sparse + ∇J_sparse
  evaluation and of a ``train_sparse_autoencoder`` run (``--engine-iter`` L-BFGS
  iterations), medians of ``--reps`` rounds, and how far apart the two runs' θ end.

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
        [--datasets digits fashion-mnist] [--parts gradcheck sae self-taught stacked engines]
        [--reps 5] [--engine-iter 400]

One thread, as the speed tables: ``OPENBLAS_NUM_THREADS=1`` (the engines part also
limits BLAS to one thread through threadpoolctl).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from deltaprop.autoencoder import (
    SparseObjective,
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
from deltaprop.objective import Batch

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


@contextlib.contextmanager
def engine(name: str) -> Iterator[None]:
    """``DELTAPROP_ENGINE`` set to ``name`` ("numpy" or "reference") for the block."""
    before = os.environ.get("DELTAPROP_ENGINE")
    os.environ["DELTAPROP_ENGINE"] = name
    try:
        yield
    finally:
        if before is None:
            del os.environ["DELTAPROP_ENGINE"]
        else:
            os.environ["DELTAPROP_ENGINE"] = before


def engines(images: np.ndarray, reps: int, iters: int, calls: int = 20) -> dict[str, Any]:
    """Compiled ÷ readable J_sparse on UFLDL's 64-25-64, 10 000 patches, taking turns."""
    import threadpoolctl

    threadpoolctl.threadpool_limits(limits=1)
    patches = normalize_patches(sample_patches(images, 10_000, 8, seed=0))
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
    batch = Batch(patches, patches)
    grad = np.empty(net.n_params)
    names = ("numpy", "reference")
    objectives = {e: SparseObjective(net, sparsity_target=0.01, beta=3.0, engine=e) for e in names}
    assert objectives["numpy"].engine == "numpy"
    start = time.perf_counter()
    objectives["numpy"].evaluate(net.params, batch, grad)  # compiles, or loads from the cache
    first = time.perf_counter() - start
    evaluation: dict[str, list[float]] = {e: [] for e in names}
    training: dict[str, list[float]] = {e: [] for e in names}
    theta: dict[str, np.ndarray] = {}
    final: dict[str, tuple[float, int]] = {}  # J_sparse at the end, evaluations made
    for rep in range(reps):
        for e in names:
            objective = objectives[e]
            objective.evaluate(net.params, batch, grad)
            start = time.perf_counter()
            for _ in range(calls):
                objective.evaluate(net.params, batch, grad)
            evaluation[e].append((time.perf_counter() - start) / calls)
        for e in names:
            twin = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
            with engine(e):
                start = time.perf_counter()
                history = train_sparse_autoencoder(
                    twin, patches, sparsity_target=0.01, beta=3.0, max_iter=iters
                )
                training[e].append(time.perf_counter() - start)
            theta[e] = np.asarray(twin.params)
            final[e] = (history.train_loss[-1], history.steps[-1])
        log(f"engines: round {rep + 1} of {reps}")
    ref = theta["reference"]
    med = {
        k: {e: statistics.median(v[e]) for e in names}
        for k, v in (("evaluation", evaluation), ("training", training))
    }
    return {
        "evaluation_seconds": med["evaluation"],
        "training_seconds": med["training"],
        "evaluation_ratio": med["evaluation"]["numpy"] / med["evaluation"]["reference"],
        "training_ratio": med["training"]["numpy"] / med["training"]["reference"],
        "theta_relative_difference": float(
            np.max(np.abs(theta["numpy"] - ref)) / np.max(np.abs(ref))
        ),
        # L-BFGS amplifies the last bits' differences of the two sums' orders over many
        # iterations: compare the end J_sparse (and the same run on reordered rows)
        "final_J": {e: final[e][0] for e in names},
        "evaluations": {e: final[e][1] for e in names},
        "first_call_seconds": first,
        "iterations": iters,
        "reps": reps,
        "all": {"evaluation": evaluation, "training": training},
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
    parser.add_argument("--reps", type=int, default=5, help="rounds of the engines part")
    parser.add_argument("--engine-iter", type=int, default=400, help="L-BFGS iterations")
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
        if "engines" in args.parts:
            log(f"{key}: compiled and readable J_sparse, 64-25-64 on 10000 patches")
            part["engines"] = engines(images.train, args.reps, args.engine_iter)
            print(f"{key}: engines {json.dumps(part['engines'])}", flush=True)
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

    for key, part in results.items():
        if "engines" in part:
            r = part["engines"]
            ev, tr = r["evaluation_seconds"], r["training_seconds"]
            print(f"\n{key}: 64-25-64, 10000 patches, one thread, medians of {r['reps']}")
            print(f"{'':<36}{'compiled':>10}{'readable':>10}{'ratio':>8}")
            print(
                f"{'J_sparse + ∇J_sparse, ms':<36}{1e3 * ev['numpy']:>10.2f}"
                f"{1e3 * ev['reference']:>10.2f}{r['evaluation_ratio']:>8.2f}"
            )
            print(
                f"{'train, ' + str(r['iterations']) + ' L-BFGS iterations, s':<36}"
                f"{tr['numpy']:>10.2f}{tr['reference']:>10.2f}{r['training_ratio']:>8.2f}"
            )
            print(
                f"θ apart by {r['theta_relative_difference']:.1e} of max |θ|; J_sparse at the "
                f"end {r['final_J']['numpy']:.6f} and {r['final_J']['reference']:.6f} after "
                f"{r['evaluations']['numpy']} and {r['evaluations']['reference']} evaluations"
            )

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
