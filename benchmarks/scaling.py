"""Item 5: deltaprop's time per P2 epoch as the hidden width doubles and as m doubles.

784-h-10 relu, momentum, batch 128, float32: h = 128 … 1024 at a fixed m, then
m = 7500 … 60000 at h = 256. Each row shows the time per epoch (median, the
configurations taking turns), the matrix products' GFLOP per epoch, both as ratios to
the row above, and the rate achieved. Cost should grow as the FLOP count does.

    .venv/bin/python benchmarks/scaling.py [--reps 3] [--scaling-rows 15000]
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import harness
import p2_fashion
from systems import deltaprop_system

WIDTHS = (128, 256, 512, 1024)
ROWS = (7500, 15000, 30000, 60000)


def run(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """Both sweeps; the rows and the table."""
    configs: dict[str, tuple[int, int]] = {}
    for h in WIDTHS:
        configs[f"h={h}, m={args.scaling_rows}"] = (h, args.scaling_rows)
    for m in ROWS:
        configs.setdefault(f"h=256, m={m}", (256, m))
    specs = {
        name: p2_fashion.spec("float32", 1, hidden=h, rows=m) for name, (h, m) in configs.items()
    }
    print("Scaling: deltaprop, 784-h-10 relu, float32, batch 128, one epoch per rep")
    measured, _ = harness.take_turns(
        {name: deltaprop_system(spec) for name, spec in specs.items()}, args.reps
    )
    rows: list[dict[str, Any]] = []
    for name, (h, m) in configs.items():
        flops = sum(
            harness.gemm_flops((784, h, 10), min(128, m - first)) for first in range(0, m, 128)
        )
        rows.append(
            {
                "config": name,
                "hidden": h,
                "m": m,
                "seconds": measured[name].median,
                "gflop": flops / 1e9,
            }
        )
    lines = [
        "Scaling  deltaprop, 784-h-10 relu, momentum, batch 128, float32 (s per epoch, median)",
        f"{'configuration':<20}{'s/epoch':>10}{'GFLOP':>9}{'× time':>9}{'× FLOP':>9}{'GFLOP/s':>9}",
    ]
    lines.append("-" * len(lines[-1]))
    groups = [[r for r in rows if r["m"] == args.scaling_rows and r["hidden"] in WIDTHS]]
    groups.append([r for r in rows if r["hidden"] == 256 and r["m"] in ROWS])
    for group in groups:
        previous = None
        for r in sorted(group, key=lambda r: (r["hidden"], r["m"])):
            t_ratio = f_ratio = math.nan
            if previous is not None:
                t_ratio = r["seconds"] / previous["seconds"]
                f_ratio = r["gflop"] / previous["gflop"]
            lines.append(
                f"{r['config']:<20}{r['seconds']:>10.3f}{r['gflop']:>9.1f}"
                f"{'' if previous is None else f'{t_ratio:.2f}':>9}"
                f"{'' if previous is None else f'{f_ratio:.2f}':>9}"
                f"{r['gflop'] / r['seconds']:>9.1f}"
            )
            previous = r
        lines.append("")
    return rows, "\n".join(lines).rstrip()


def main() -> None:
    """Run the two sweeps and print the table."""
    args = harness.parser(__doc__.splitlines()[0]).parse_args()
    harness.setup(args)
    _, table = run(args)
    print(table)


if __name__ == "__main__":
    main()
