"""deltaprop's start-up and compile time, apart from the steady-state timings.

Fresh processes in turn, each importing deltaprop and calling a tiny
``deltaprop.train`` twice (P6's shape cut to 256 rows, Adam, batch 32, two
epochs), reporting the import, the first call and the second call:

- "built module": the kernels compiled ahead of time when deltaprop was
  installed (``compiled.aot``); nothing compiles, and numba is not imported;
- "JIT, empty cache": ``DELTAPROP_AOT=0`` and a new, empty ``NUMBA_CACHE_DIR``:
  numba compiles the kernels at the first call (the time of a first use
  where no C compiler built the module);
- "JIT, warm cache": the same again, finding what the previous process left.

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
from deltaprop.compiled import aot
built = aot.enabled() and aot.module() is not None
json.dump(
    {"import": imported - start, "first": times[0], "second": times[1], "built": built,
     "numba": "numba" in sys.modules},
    sys.stdout,
)
"""

CASES = ("built module", "JIT, empty cache", "JIT, warm cache")
AOT = {"built module": "1", "JIT, empty cache": "0", "JIT, warm cache": "0"}


def measure(threads: int) -> list[dict[str, Any]]:
    """One row per process: the case, and seconds of import, first and second train."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="deltaprop-numba-cache-") as cache:
        for case in CASES:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, DELTAPROP_AOT=AOT[case])
            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = str(threads)
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
        f"{'process':<18}{'import s':>10}{'1st train s':>13}{'2nd train s':>13}  numba imported",
    ]
    lines.append("-" * len(lines[-1]))
    for r in rows:
        note = "yes" if r["numba"] else "no"
        if r["case"] == CASES[0] and not r["built"]:
            note += " (no module was built: this row is the JIT's)"
        lines.append(
            f"{r['case']:<18}{r['import']:>10.3f}{r['first']:>13.3f}{r['second']:>13.3f}  {note}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Both processes at the run's thread count; the rows and their table."""
    print("compile: deltaprop in three fresh processes: built module, JIT empty, JIT warm")
    rows = measure(args.threads)
    return rows, table(rows)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    print(table(measure(p.parse_args().threads)))
