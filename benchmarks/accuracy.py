"""Test accuracy of `deltaprop train`'s defaults on the built-in image datasets.

Runs exactly what the command runs (settings, splits, network, training) for
digits, MNIST-1D and Fashion-MNIST (when Debian's dataset-fashion-mnist is
installed), with fixed seeds, and prints each accuracy beside its published
reference and the wall time.

    .venv/bin/python benchmarks/accuracy.py [--seeds 0 1 2] [--datasets mnist1d digits]

Each dataset's line per seed, then its mean over the seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from deltaprop import app, runs
from deltaprop.data import DataError

TARGETS = {"digits": 97.5, "mnist1d": 72.0, "fashion-mnist": 89.5}  # issue 15: mean over seeds


def run(name: str, seed: int) -> tuple[float, float]:
    settings = app.resolve_settings(name, None, {"seed": seed})
    prepared = runs.prepare(name, settings)
    net = runs.build_network(prepared, settings)
    start = time.perf_counter()
    runs.run_training(net, prepared, settings)
    seconds = time.perf_counter() - start
    test = runs.scores(net, prepared.target, prepared.X_test, prepared.Y_test, {})
    return 100 * float(test["accuracy"]), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--datasets", nargs="+", choices=list(TARGETS), default=list(TARGETS), metavar="NAME"
    )
    args = parser.parse_args()
    print(f"{'dataset':<15}{'seed':>5}{'test acc %':>12}{'target %':>10}{'train s':>9}  reference")
    for name in args.datasets:
        target, accuracies, times = TARGETS[name], [], []
        for seed in args.seeds:
            try:
                acc, seconds = run(name, seed)
            except DataError as exc:
                print(f"{name:<15}{seed:>5}  skipped: {exc}")
                break
            accuracies.append(acc)
            times.append(seconds)
            source, figures = app.REFERENCES[name]
            ref = "; ".join(f"{what} {value:.2f} %" for what, value in figures)
            mark = "ok" if acc >= target else "BELOW TARGET"
            print(
                f"{name:<15}{seed:>5}{acc:>12.2f}{target:>10.2f}{seconds:>9.1f}  {ref} "
                f"({source}) {mark}"
            )
        if len(accuracies) > 1:
            mean = float(np.mean(accuracies))
            minutes = sum(times) / 60
            print(f"{name:<15}{'mean':>5}{mean:>12.2f}{target:>10.2f}  ({minutes:.1f} min in all)")


if __name__ == "__main__":
    np.seterr(over="ignore")
    main()
