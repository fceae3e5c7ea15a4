"""deltaprop beside scikit-learn and PyTorch: every workload, one table each, the targets.

P1 digits, P2 784-256-10 and P3 784-512-512-10 on Fashion-MNIST, P4 full-batch L-BFGS,
P5 online SGD, then peak memory (item 4) and scaling (item 5). The systems take turns
(A B C A B C …) and every figure is a median; the results also go to a JSON file.
``make bench`` runs this with its defaults (a few minutes on two cores).

    .venv/bin/python benchmarks/run.py [--only P1 P5 memory] [--reps 3] [--threads N]
        [--epochs 1] [--lbfgs-iters 10] [--json out/bench.json]

Defaults keep the run short: P2 and P3 time one epoch per repetition and P4 ten
L-BFGS iterations (the issue's P4 runs 50: ``--lbfgs-iters 50``); P1 (50 epochs) and
P5 (5000 steps) run the issue's full amounts.
"""

from __future__ import annotations

import time
from typing import Any

import harness
import memory
import p1_digits
import p2_fashion
import p3_deep
import p4_lbfgs
import p5_online
import scaling

WORKLOADS = {
    "P1": p1_digits.run,
    "P2": p2_fashion.run,
    "P3": p3_deep.run,
    "P4": p4_lbfgs.run,
    "P5": p5_online.run,
}
EXTRAS = ("memory", "scaling")


def main() -> None:
    """Run the chosen workloads and print their tables and the targets."""
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--only",
        nargs="+",
        choices=[*WORKLOADS, *EXTRAS],
        default=[*WORKLOADS, *EXTRAS],
        help="the workloads to run (default: all)",
    )
    p.set_defaults(json="out/bench.json")
    args = p.parse_args()
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


if __name__ == "__main__":
    main()
