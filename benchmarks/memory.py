"""Item 4: peak resident memory of one P2 epoch (float32), against what the run must hold.

Each system trains in a fresh process. The process notes its resident memory after
importing its libraries (the baseline), prepares the data (then frees the loader's
float64 copies), resets the kernel's high-water mark (``/proc/self/clear_refs``), trains
one epoch and reads the peak (``VmHWM``). The ratio is

    (peak − baseline) / (data + parameters + optimizer state + one batch of activations),

with data = X (float32) + one-hot Y (float32), state = the momentum velocity, and the
activations = z, a and δ of every layer for one batch. Target for deltaprop: ≤ 1.3.

    .venv/bin/python benchmarks/memory.py [--threads 1]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from typing import Any

import numpy as np

TARGET = 1.3
HIDDEN, BATCH = 256, 128


def _status(field: str) -> int:
    """A ``kB`` field of /proc/self/status, in bytes."""
    with open("/proc/self/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def child(system: str, threads: int) -> dict[str, Any]:
    """Train one epoch of P2 (float32) in this process and measure its memory."""
    import threadpoolctl

    if system == "PyTorch":
        import torch

        torch.set_num_threads(threads)
    elif system == "scikit-learn":
        import sklearn.neural_network  # noqa: F401
    import p2_fashion
    import systems
    from benchdata import fashion

    threadpoolctl.threadpool_limits(threads)
    baseline = _status("VmRSS")
    spec = p2_fashion.spec("float32", epochs=1)
    fashion.cache_clear()  # keep only the float32 copy
    gc.collect()
    run = {
        "deltaprop": systems.deltaprop_system,
        "scikit-learn": systems.sklearn_system,
        "PyTorch": systems.torch_system,
    }[system](spec)
    Y_bytes = spec.m * spec.sizes[-1] * spec.dtype.itemsize
    gc.collect()
    reset = True
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fh:
            fh.write("5")  # reset VmHWM to the current resident size
    except OSError:
        reset = False
    before = _status("VmRSS")
    run(False)
    peak = _status("VmHWM")
    n_params = sum(o * i + o for i, o in zip(spec.sizes[:-1], spec.sizes[1:], strict=True))
    item = spec.dtype.itemsize
    accounted = {
        "data": spec.X.nbytes + Y_bytes,
        "parameters": n_params * item,
        "optimizer_state": n_params * item,
        "activations": 3 * BATCH * sum(spec.sizes) * item,
    }
    total = sum(accounted.values())
    return {
        "system": system,
        "baseline_rss": baseline,
        "rss_before_training": before,
        "peak_rss": peak,
        "high_water_mark_reset": reset,
        "accounted": accounted,
        "accounted_total": total,
        "ratio": (peak - baseline) / total,
    }


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Each system in its own process; the table."""
    script = os.path.abspath(__file__)
    results = []
    for system in ("deltaprop", "scikit-learn", "PyTorch"):
        out = subprocess.run(
            [sys.executable, script, "--child", system, "--threads", str(args.threads)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    mib = 1 / 2**20
    lines = [
        "Memory  P2 (784-256-10, float32, batch 128), one epoch, each system in a fresh process",
        f"{'system':<16}{'baseline MiB':>14}{'peak MiB':>10}{'needed MiB':>12}"
        f"{'(peak − baseline) ÷ needed':>28}",
    ]
    lines.append("-" * len(lines[-1]))
    for r in results:
        lines.append(
            f"{r['system']:<16}{r['baseline_rss'] * mib:>14.1f}{r['peak_rss'] * mib:>10.1f}"
            f"{r['accounted_total'] * mib:>12.1f}{r['ratio']:>28.2f}"
        )
    lines.append(
        "needed = X + one-hot Y (float32) + θ + velocity + z, a, δ of one batch; "
        f"target for deltaprop ≤ {TARGET}"
    )
    return results, "\n".join(lines)


def main() -> None:
    """``--child SYSTEM`` measures one system (JSON on stdout); otherwise all three."""
    import harness

    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads)))
        return
    harness.setup(args)
    _, table = run(args)
    print(table)


if __name__ == "__main__":
    np.seterr(over="ignore")
    main()
