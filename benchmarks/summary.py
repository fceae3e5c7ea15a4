"""One summary table per thread count: every workload's medians and the ratios that matter.

Built from a run's JSON report (``run.py`` writes one per thread count, each from its
own process), so that tables of separate processes sit side by side. Ratios are of
medians in the same run: deltaprop ÷ scikit-learn, ÷ PyTorch, ÷ JAX's scanned epoch
and ÷ the floor (``floor.py``).
"""

from __future__ import annotations

import statistics
from typing import Any

COLUMNS = ("deltaprop", "scikit-learn", "PyTorch", "JAX scan", "floor")
RATIOS = ("scikit-learn", "PyTorch", "JAX scan", "floor")
SHORT = {"scikit-learn": "sklearn", "PyTorch": "torch", "JAX scan": "JAX", "floor": "floor"}

LABELS = {
    "P1 float64": "P1 digits 64-100-10 sigmoid, momentum, batch 200, f64",
    "P1 float32": "P1 same, f32",
    "P2 float32": "P2 784-256-10 relu, momentum, batch 128, f32",
    "P2 float64": "P2 same, f64",
    "P3 float32": "P3 784-512-512-10 relu, batch 256, f32",
    "P4 float64": "P4 L-BFGS 10000×784, 784-256-10 relu, f64",
    "P5 float64": "P5 online SGD 64-32-10 sigmoid, batch 1, f64",
    "P6 float64": "P6 tabular 20000×50, 50-100-100-2 relu, Adam, batch 32, f64",
}


def _scale(unit: str, deltaprop: float) -> tuple[str, float]:
    """Seconds per epoch below one second are shown in ms."""
    if unit == "s/epoch" and deltaprop < 1.0:
        return "ms/epoch", 1e3
    return unit, {"ms/eval": 1e3, "µs/step": 1e6}.get(unit, 1.0)


def rows(report: dict[str, Any]) -> list[list[str]]:
    """The summary's cells for one report: label, unit, medians, ratios, JAX's compile."""
    out = []
    for result in report["results"]:
        measured = {n: statistics.median(m["per_unit"]) for n, m in result["measured"].items()}
        dp_ = measured["deltaprop"]
        unit, scale = _scale(result["unit"], dp_)
        cells = [LABELS.get(result["key"], result["key"]), unit]
        for name in COLUMNS:
            cells.append(f"{measured[name] * scale:.3g}" if name in measured else "")
        for name in RATIOS:
            cells.append(f"{dp_ / measured[name]:.2f}" if name in measured else "")
        compiled = result.get("compile_seconds", {}).get("JAX scan")
        cells.append("" if compiled is None else f"{compiled:.2f}")
        out.append(cells)
    return out


def table(report: dict[str, Any]) -> str:
    """The summary of one report as a text table."""
    threads = report["environment"]["threads"]
    header = ["workload", "unit", *COLUMNS, *(f"÷ {SHORT[n]}" for n in RATIOS), "JAX compile s"]
    body = rows(report)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [f"Summary at {threads} thread(s) per system (medians; deltaprop ÷ each other)"]
    for k, r in enumerate([header, *body]):
        line = f"{r[0]:<{widths[0]}}  " + "  ".join(
            f"{c:>{w}}" for c, w in zip(r[1:], widths[1:], strict=True)
        )
        lines.append(line)
        if k == 0:
            lines.append("-" * len(line))
    return "\n".join(lines)


def markdown(report: dict[str, Any]) -> str:
    """The same summary as a Markdown table, for the README."""
    header = ["workload", "unit", *COLUMNS, *(f"÷ {SHORT[n]}" for n in RATIOS), "JAX compile s"]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(report)]
    return "\n".join(lines)


def merged(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Reports of one thread count (say, one workload each) as one: their results in order.

    The environment is the first report's; every report must have the same threads.
    """
    threads = {r["environment"]["threads"] for r in reports}
    if len(threads) != 1:
        raise SystemExit(f"the reports were run at different thread counts: {sorted(threads)}")
    results = [res for r in reports for res in r["results"]]
    results.sort(key=lambda res: list(LABELS).index(res["key"]) if res["key"] in LABELS else 99)
    return {"environment": reports[0]["environment"], "results": results}


def environment_line(report: dict[str, Any]) -> str:
    """Date, machine, load, BLAS and versions: what the README's table is labelled with."""
    import harness

    env = report["environment"]
    load = env.get("load_average")
    return (
        f"{env['date']}, {env['machine']} ({env['cores']} cores"
        + (f", load average {load[0]:.1f} at the start" if load else "")
        + f"), {env['threads']} thread(s) per system; BLAS: {harness.blas_line(env)}; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    )


def main() -> None:
    """Print the summary of JSON reports (``run.py``'s), merged, as text or Markdown."""
    import argparse
    import json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reports", nargs="+", help="run.py's JSON reports of one thread count")
    p.add_argument("--markdown", action="store_true", help="a Markdown table (the README's)")
    args = p.parse_args()
    reports = []
    for path in args.reports:
        with open(path, encoding="utf-8") as fh:
            reports.append(json.load(fh))
    report = merged(reports)
    print(environment_line(report))
    print()
    print(markdown(report) if args.markdown else table(report))


if __name__ == "__main__":
    main()
