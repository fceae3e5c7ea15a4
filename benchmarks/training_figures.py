"""The training figures of the test suite, measured and printed.

XOR with a 2-2-1 sigmoid network, sin(x) on [−π, π] with a 1-20-1 tanh network,
and digits (64-100-10, stratified seeded 75/25 split) with every optimizer:
test accuracy and training time, median of 3 runs taken in turns.

    .venv/bin/python benchmarks/training_figures.py
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import deltaprop as dp

DIGITS_RUNS: dict[str, dict[str, Any]] = {  # optimizer: settings that reach ≥ 97 % on this split
    "gd": {"learning_rate": 2.0, "epochs": 1500},
    "sgd": {"learning_rate": 0.1, "batch_size": 32, "epochs": 40},
    "momentum": {"learning_rate": 0.05, "batch_size": 32, "epochs": 40},
    "nesterov": {"learning_rate": 0.05, "batch_size": 32, "epochs": 40},
    "adam": {"learning_rate": 1e-3, "batch_size": 32, "epochs": 40},
    "lbfgs": {"epochs": 200},
}


def xor() -> np.ndarray:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    net = dp.Network([2, 2, 1], activation="sigmoid", seed=1)
    dp.train(
        net,
        X,
        np.array([[0], [1], [1], [0]], dtype=float),
        optimizer="gd",
        learning_rate=2.0,
        epochs=3000,
    )
    return np.asarray(net.predict(X)).ravel()


def sine() -> float:
    x = np.linspace(-np.pi, np.pi, 200).reshape(-1, 1)
    net = dp.Network([1, 20, 1], activation="tanh", output_activation="identity", seed=0)
    dp.train(net, x, np.sin(x), optimizer="lbfgs", epochs=500)
    return float(np.mean((net.predict(x) - np.sin(x)) ** 2))


def digits_run(
    Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray, optimizer: str
) -> tuple[float, float]:
    net = dp.Network(
        [64, 100, 10], activation="tanh", cost="cross_entropy", weight_decay=1e-4, seed=0
    )
    start = time.perf_counter()
    dp.train(net, Xtr, np.eye(10)[ytr], optimizer=optimizer, seed=0, **DIGITS_RUNS[optimizer])
    seconds = time.perf_counter() - start
    return float(np.mean(np.argmax(net.predict(Xte), axis=1) == yte)), seconds


def main() -> None:
    print("XOR 2-2-1 sigmoid, gd α = 2, 3000 epochs: outputs", np.round(xor(), 4))
    print(f"sin(x) 1-20-1 tanh, L-BFGS 500 iterations: MSE {sine():.2e}")
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    times: dict[str, list[float]] = {k: [] for k in DIGITS_RUNS}
    accuracy: dict[str, float] = {}
    for _ in range(3):  # in turns, so that machine noise falls on every optimizer alike
        for optimizer in DIGITS_RUNS:
            accuracy[optimizer], seconds = digits_run(Xtr, ytr, Xte, yte, optimizer)
            times[optimizer].append(seconds)
    print("digits 64-100-10 tanh + softmax, λ = 1e-4, stratified 75/25 split (seed 0)")
    print(f"{'optimizer':<10}{'settings':<44}{'test acc %':>11}{'median s':>10}")
    for optimizer, settings in DIGITS_RUNS.items():
        text = ", ".join(f"{k}={v}" for k, v in settings.items())
        print(
            f"{optimizer:<10}{text:<44}{100 * accuracy[optimizer]:>11.2f}"
            f"{statistics.median(times[optimizer]):>10.2f}"
        )


if __name__ == "__main__":
    main()
