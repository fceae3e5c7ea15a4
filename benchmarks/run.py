"""deltaprop beside scikit-learn, PyTorch and JAX: every workload, one table each, the targets.

P1 digits, P2 784-256-10 and P3 784-512-512-10 on Fashion-MNIST, P4 full-batch L-BFGS,
P5 online SGD, P6 tabular Adam, then deltaprop's compile time, peak memory (item 4) and
scaling (item 5). The systems take turns (A B C A B C …) and every figure is a median;
the floor (``floor.py``) and the GEMM limit sit beside them. Each thread count runs in a
fresh process of its own (XLA takes its threads once, at start), writes its JSON report
(``out/bench-1t.json``, ``out/bench-2t.json``), and a summary table per thread count
ends the output. ``make bench`` runs this with its defaults (a few minutes on two cores).

    .venv/bin/python benchmarks/run.py [--only P1 P5 P6 compile memory] [--reps 3]
        [--threads 1 2] [--epochs 1] [--lbfgs-iters 10] [--json out/bench.json]

Defaults keep the run short: P2 and P3 time one epoch per repetition, P4 ten L-BFGS
iterations (the issue's P4 runs 50: ``--lbfgs-iters 50``) and P6 one epoch; P1 (50
epochs) and P5 (5000 steps) run the issue's full amounts. The compile time, memory and
scaling run at the first thread count only. A quick look: ``--only P6 --reps 3``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import compile_time
import harness
import memory
import p1_digits
import p2_fashion
import p3_deep
import p4_lbfgs
import p5_online
import p6_tabular
import scaling
import summary

WORKLOADS = {
    "P1": p1_digits.run,
    "P2": p2_fashion.run,
    "P3": p3_deep.run,
    "P4": p4_lbfgs.run,
    "P5": p5_online.run,
    "P6": p6_tabular.run,
}
EXTRAS = ("compile", "memory", "scaling")
PASSED_ON = ("reps", "epochs", "p1_epochs", "lbfgs_iters", "p5_steps", "p6_epochs", "scaling_rows")
"""The options a thread count's process is handed as they came."""
CHILD = "DELTAPROP_BENCH_THREAD_RUN"
"""Set for a thread count's process: its summary waits for the end of the whole run."""


def json_path(path: str, threads: int) -> str:
    """out/bench.json → out/bench-2t.json: one report per thread count."""
    root, ext = os.path.splitext(path)
    return f"{root}-{threads}t{ext or '.json'}"


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """Every chosen workload at ``args.threads`` (one count), in this process: the report."""
    env = harness.setup(args)
    start = time.perf_counter()
    report: dict[str, Any] = {"environment": env, "settings": vars(args), "results": []}
    tables: list[str] = []
    targets: list[harness.Target] = []
    for key, run in WORKLOADS.items():
        if key in args.only:
            results, found = run(args)
            report["results"].extend(results)
            tables.extend(r.table for r in results)
            targets.extend(found)
    if "compile" in args.only:
        rows, table = compile_time.run(args)
        report["compile"] = rows
        tables.append(table)
    if "memory" in args.only:
        print("memory: each system in a fresh process")
        rows, table = memory.run(args)
        report["memory"] = rows
        tables.append(table)
        dp_row = next(r for r in rows if r["system"] == "deltaprop")
        targets.append(
            harness.Target(
                "P2 memory", "deltaprop (peak − baseline) ÷ needed", memory.TARGET, dp_row["ratio"]
            )
        )
    if "scaling" in args.only:
        rows, table = scaling.run(args)
        report["scaling"] = rows
        tables.append(table)
    report["targets"] = targets
    report["seconds"] = time.perf_counter() - start
    for table in tables:
        print()
        print(table)
    print()
    print(harness.targets_table(targets))
    print(f"\n{report['seconds']:.0f} s in all; results written to {args.json}")
    harness.write_json(args.json, report)
    return json.loads(json.dumps(harness.to_jsonable(report)))


def run_each(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each thread count in a fresh process of this script; their reports, in order."""
    reports = []
    for k, threads in enumerate(args.threads):
        only = args.only if k == 0 else [w for w in args.only if w not in EXTRAS]
        if not only:
            continue
        path = json_path(args.json, threads)
        argv = ["--threads", str(threads), "--json", path, "--only", *only]
        for name in PASSED_ON:
            argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        print(f"=== {threads} thread(s) per system: {' '.join(only)} ===", flush=True)
        env = dict(os.environ, **{CHILD: "1"})
        done = subprocess.run([sys.executable, __file__, *argv], env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"the run at {threads} thread(s) failed (exit {done.returncode})")
        with open(path, encoding="utf-8") as fh:
            reports.append(json.load(fh))
        print()
    return reports


def main() -> None:
    """Run the chosen workloads at each thread count; print the tables and the summaries."""
    p = harness.parser(__doc__.splitlines()[0], thread_counts=True)
    p.add_argument(
        "--only",
        nargs="+",
        choices=[*WORKLOADS, *EXTRAS],
        default=[*WORKLOADS, *EXTRAS],
        help="the workloads to run (default: all)",
    )
    p.set_defaults(json="out/bench.json")
    args = p.parse_args()
    if len(args.threads) == 1:
        args.threads = args.threads[0]
        reports = [run_one(args)]
    else:
        reports = run_each(args)
    if os.environ.get(CHILD):
        return
    for report in reports:
        if report["results"]:
            print()
            print(summary.table(report))


if __name__ == "__main__":
    main()
