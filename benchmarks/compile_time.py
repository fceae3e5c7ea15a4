"""deltaprop's start-up and compile time, apart from the steady-state timings.

Two fresh processes in turn, sharing one new, empty ``NUMBA_CACHE_DIR``: the first
finds the cache empty (a first use: whatever the engine compiles, it compiles here),
the second finds what the first left there (a later process). Each imports deltaprop
and calls a tiny ``deltaprop.train`` twice (P6's shape cut to 256 rows, Adam, batch
32, two epochs), and reports the import, the first call and the second call. With
numpy's engine there is nothing to compile and both processes cost the import and
a first call; with a compiled engine on numba's disk cache the first call of the
first process is the compile time and the second process's the warm-cache time.

    .venv/bin/python benchmarks/compile_time.py [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Any

CHILD = r"""
import json, sys, time
start = time.perf_counter()
import numpy as np
import deltaprop as dp
imported = time.perf_counter()
rng = np.random.default_rng(0)
X = rng.standard_normal((256, 50))
Y = np.eye(2)[(X[:, 0] * X[:, 1] > 0).astype(int)]
times = []
for _ in range(2):
    net = dp.Network([50, 100, 100, 2], activation="relu", cost="cross_entropy", seed=0)
    t = time.perf_counter()
    dp.train(net, X, Y, optimizer="adam", learning_rate=0.001, batch_size=32, epochs=2)
    times.append(time.perf_counter() - t)
json.dump({"import": imported - start, "first": times[0], "second": times[1]}, sys.stdout)
"""

CASES = ("empty cache", "warm cache")


def measure(threads: int) -> list[dict[str, Any]]:
    """One row per process: the case, and seconds of import, first and second train."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="deltaprop-numba-cache-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
        for case in CASES:
            done = subprocess.run(
                [sys.executable, "-c", CHILD],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"the {case} process failed:\n{done.stderr}")
            rows.append({"case": case, **json.loads(done.stdout)})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a table, in seconds."""
    lines = [
        "deltaprop start-up and compile time (fresh process each, one new NUMBA_CACHE_DIR)",
        f"{'process':<14}{'import s':>10}{'1st train s':>13}{'2nd train s':>13}",
    ]
    lines.append("-" * len(lines[-1]))
    for r in rows:
        lines.append(f"{r['case']:<14}{r['import']:>10.3f}{r['first']:>13.3f}{r['second']:>13.3f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Both processes at the run's thread count; the rows and their table."""
    print("compile: deltaprop in two fresh processes, empty then warm cache")
    rows = measure(args.threads)
    return rows, table(rows)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    print(table(measure(p.parse_args().threads)))
