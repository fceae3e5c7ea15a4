"""What every side-by-side benchmark shares: environment, threads, turns, medians, tables.

The workloads (``p1_digits.py`` … ``p5_online.py``, ``memory.py``, ``scaling.py``) each
build a few *systems*: callables that do the same work from the same starting point and
return a :class:`Run`. :func:`take_turns` calls them in rotation, A B C A B C …, so that
a slow spell on a shared machine hits every system alike, and keeps the medians.

Nothing here is imported by deltaprop or by its tests: speed is measured here, as
ratios, and never asserted in a unit test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
"""Set on some processors of this workplace for old OpenBLAS builds; they slow a current
numpy. The benchmark process (only it: never the tests) runs without them."""

SYSTEMS = ("deltaprop", "scikit-learn", "PyTorch")
"""The systems compared, in the order of the table's ratio columns."""


def clean_blas_environment() -> None:
    """Re-run this process without :data:`OPENBLAS_OVERRIDES` when either is set.

    OpenBLAS reads them once, when it is loaded, so they cannot be dropped from a
    running process; the re-run starts clean and records what was removed.
    """
    removed = [name for name in OPENBLAS_OVERRIDES if name in os.environ]
    if not removed:
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    env["DELTAPROP_BENCH_UNSET"] = ",".join(f"{k}={os.environ[k]}" for k in removed)
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def pin_threads(threads: int) -> None:
    """Give every library the same thread count: BLAS, OpenMP (threadpoolctl) and torch.

    Call after the libraries are imported: threadpoolctl limits only what is loaded.
    """
    import threadpoolctl
    import torch

    threadpoolctl.threadpool_limits(limits=threads)
    torch.set_num_threads(threads)


def configure_xla(threads: int) -> None:
    """XLA's threads and float64 for JAX (``jax_scan.py``), set before jax is imported.

    One thread: Eigen's and XLA's intra-op pools limited to one. More: XLA's default
    pool (every core), the only other setting its CPU client takes at start.
    """
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ["JAX_ENABLE_X64"] = "1"
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()


def environment(threads: int) -> dict[str, Any]:
    """Machine, libraries, BLAS builds and their thread counts, for the report."""
    import scipy
    import sklearn
    import threadpoolctl
    import torch

    import deltaprop

    blas = []
    for info in threadpoolctl.threadpool_info():
        parts = os.path.normpath(info["filepath"]).split(os.sep)
        # The package that ships the library: the folder after site-packages.
        where = parts[parts.index("site-packages") + 1] if "site-packages" in parts else parts[-1]
        blas.append(
            {
                "library": where.removesuffix(".libs"),
                "api": info["user_api"],
                "implementation": info["internal_api"],
                "version": info.get("version"),
                "kernel": info.get("architecture"),
                "threads": info["num_threads"],
            }
        )
    torch_blas = "MKL" if torch.backends.mkl.is_available() else "unknown"
    versions = {
        "deltaprop": deltaprop.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }
    try:
        import jax

        versions["jax"] = jax.__version__
    except ImportError:
        versions["jax"] = "not installed"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": _cpu_name(),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "versions": versions,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "torch_blas": torch_blas,
        "blas": blas,
        "openblas_overrides_unset": os.environ.get("DELTAPROP_BENCH_UNSET", ""),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_line(env: dict[str, Any]) -> str:
    """One line naming numpy's BLAS, its kernel and threads, and torch's."""
    parts = []
    for entry in env["blas"]:
        if entry["api"] == "blas":
            parts.append(
                f"{entry['library']}: {entry['implementation']} {entry['version']} "
                f"({entry['kernel']}, {entry['threads']} threads)"
            )
    parts.append(f"torch: {env['torch_blas']} ({env['torch_threads']} threads)")
    return "; ".join(parts)


# --- runs, turns and medians -----------------------------------------------------------------


@dataclass
class Run:
    """One timed repetition of one system.

    Attributes:
      seconds: wall time of the work.
      units: how many epochs, steps or evaluations it did (time per unit = seconds / units).
      theta: the final parameters in deltaprop's flat layout (float64), to score them
        all with one loss function; None for the GEMM limit.
    """

    seconds: float
    units: int
    theta: np.ndarray | None = None


System = Callable[[bool], Run]
"""``system(warmup) -> Run``; with warmup=True it may do a smaller amount of work."""


@dataclass
class Measured:
    """A system's timings over the repetitions, per unit of work."""

    name: str
    per_unit: list[float] = field(default_factory=list)
    units: int = 0
    final_loss: float | None = None

    @property
    def median(self) -> float:
        """The median time per unit."""
        return statistics.median(self.per_unit)


def take_turns(
    systems: dict[str, System], reps: int, warmup: bool = True, log: Callable[[str], None] = print
) -> tuple[dict[str, Measured], dict[str, Run]]:
    """Run every system ``reps`` times in rotation (A B C A B C …), after one warm-up each.

    Returns each system's timings and its last run.
    """
    measured = {name: Measured(name) for name in systems}
    last: dict[str, Run] = {}
    if warmup:
        for system in systems.values():
            system(True)
    for rep in range(reps):
        for name, system in systems.items():
            run = system(False)
            measured[name].per_unit.append(run.seconds / run.units)
            measured[name].units = run.units
            last[name] = run
        log(
            f"    rep {rep + 1}/{reps}: "
            + "  ".join(f"{n} {m.per_unit[-1]:.4g}" for n, m in measured.items())
        )
    return measured, last


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of calling ``work``."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


# --- the GEMM limit --------------------------------------------------------------------------


def gemm_shapes(sizes: Sequence[int], m: int) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    """The matrix products of one forward and backward pass over m examples.

    Forward z⁽ˡ⁺¹⁾ = a⁽ˡ⁾ W⁽ˡ⁾ᵀ for every layer; δ propagation δ⁽ˡ⁺¹⁾ W⁽ˡ⁾ for every
    layer but the input's; weight gradients δ⁽ˡ⁺¹⁾ᵀ a⁽ˡ⁾. Each entry is (kind, shape
    of the left factor, shape of the right factor) as deltaprop forms them.
    """
    out = []
    for k, (s_in, s_out) in enumerate(itertools.pairwise(sizes)):
        out.append(("forward", (m, s_in), (s_in, s_out)))
        if k > 0:
            out.append(("delta", (m, s_out), (s_out, s_in)))
        out.append(("dW", (s_out, m), (m, s_in)))
    return out


def gemm_flops(sizes: Sequence[int], m: int) -> float:
    """Floating-point operations (2 per multiply-add) of :func:`gemm_shapes`."""
    return sum(2.0 * a[0] * a[1] * b[1] for _, a, b in gemm_shapes(sizes, m))


def gemm_limit(
    sizes: Sequence[int], m: int, batch: int, dtype: Any, epochs: int = 1, count: int = 1
) -> System:
    """A system that does only the workload's matrix products, in numpy.

    ``epochs`` epochs of ceil(m / batch) batches (the last one smaller), each the
    products of :func:`gemm_shapes` with the transposes deltaprop uses, written into
    arrays made beforehand; ``count`` is the units of time this makes (epochs, steps
    or evaluations). Its time is the floor any numpy implementation has.
    """
    rng = np.random.default_rng(0)
    sizes = list(sizes)
    L = len(sizes) - 1
    a = [rng.random((batch, s), dtype=np.float64).astype(dtype) for s in sizes]
    d = [rng.random((batch, s), dtype=np.float64).astype(dtype) for s in sizes]
    W = [rng.random((o, i), dtype=np.float64).astype(dtype) for i, o in itertools.pairwise(sizes)]
    dW = [np.empty_like(w) for w in W]
    batches = [min(batch, m - first) for first in range(0, m, batch)]

    def system(warmup: bool) -> Run:
        def work() -> None:
            for _ in range(1 if warmup else epochs):
                for n in batches:
                    for k in range(L):
                        np.matmul(a[k][:n], W[k].T, out=a[k + 1][:n])
                    for k in range(L - 1, -1, -1):
                        np.matmul(d[k + 1][:n].T, a[k][:n], out=dW[k])
                        if k > 0:
                            np.matmul(d[k + 1][:n], W[k], out=d[k][:n])

        seconds, _ = timed(work)
        return Run(seconds, count)

    return system


# --- tables ----------------------------------------------------------------------------------


def ratio_table(
    title: str,
    unit: str,
    measured: dict[str, Measured],
    scale: float = 1.0,
    digits: int = 4,
) -> str:
    """The table of one workload: median per unit, ratios to each other system, loss.

    ``scale`` multiplies the shown times (1000 for milliseconds), not the ratios.
    """
    names = list(measured)
    widths = [max(14, len(n) + 4) for n in names]
    header = f"{'system':<18}{unit:>12}"
    header += "".join(f"{'÷ ' + n:>{w}}" for n, w in zip(names, widths, strict=True))
    header += f"{'final J':>12}"
    lines = [title, header, "-" * len(header)]
    for name in names:
        row = f"{name:<18}{measured[name].median * scale:>12.{digits}g}"
        for other, w in zip(names, widths, strict=True):
            row += f"{measured[name].median / measured[other].median:>{w}.2f}"
        loss = measured[name].final_loss
        row += f"{'' if loss is None else f'{loss:.5f}':>12}"
        lines.append(row)
    return "\n".join(lines)


@dataclass
class Target:
    """One cell of the issue's target table."""

    workload: str
    what: str
    limit: float
    value: float

    @property
    def met(self) -> bool:
        """value ≤ limit."""
        return self.value <= self.limit


def targets_table(targets: Sequence[Target]) -> str:
    """The targets, each with its measured ratio and whether it is met."""
    lines = [
        "Targets (median ratios from this run; ≤ target is met)",
        f"{'workload':<26}{'ratio':<34}{'measured':>10}{'target':>9}  met",
    ]
    lines.append("-" * len(lines[-1]))
    for t in targets:
        lines.append(
            f"{t.workload:<26}{t.what:<34}{t.value:>10.2f}{'≤ ' + format(t.limit, '.3g'):>9}  "
            f"{'yes' if t.met else 'NO'}"
        )
    return "\n".join(lines)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, numpy scalars and tuples as plain JSON data."""
    if hasattr(value, "__dataclass_fields__"):
        data = asdict(value)
        for name in ("median", "met"):
            if hasattr(value, name):
                data[name] = getattr(value, name)
        return to_jsonable(data)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return None
    return value


def write_json(path: str, data: Any) -> None:
    """Write ``data`` as indented JSON, making the folder if needed."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_jsonable(data), fh, indent=1)
        fh.write("\n")


# --- command line ----------------------------------------------------------------------------


def parser(description: str, thread_counts: bool = False) -> argparse.ArgumentParser:
    """The options every benchmark script takes.

    With ``thread_counts``, ``--threads`` takes several counts (default 1 and 2), one
    whole run each (``run.py``); otherwise one (default 1).
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per system (≥ 3)")
    threads_help = (
        "threads for every system's BLAS, OpenMP, torch and XLA pools (1: on a shared or "
        "two-core machine, BLAS threads that wait for busy cores make timings noisy)"
    )
    if thread_counts:
        p.add_argument(
            "--threads",
            type=int,
            nargs="+",
            default=[1, 2],
            help=threads_help + "; several counts run one after another, each in a fresh "
            "process (XLA takes its threads once, at start), default 1 2",
        )
    else:
        p.add_argument("--threads", type=int, default=1, help=threads_help + ", default 1")
    p.add_argument("--epochs", type=int, default=1, help="P2, P3: epochs per repetition")
    p.add_argument("--p1-epochs", type=int, default=50, help="P1: epochs per repetition")
    p.add_argument(
        "--lbfgs-iters", type=int, default=10, help="P4: L-BFGS iterations per repetition"
    )
    p.add_argument("--p5-steps", type=int, default=5000, help="P5: steps per repetition")
    p.add_argument("--p6-epochs", type=int, default=1, help="P6: epochs per repetition")
    p.add_argument("--scaling-rows", type=int, default=15000, help="scaling: m of the width sweep")
    p.add_argument("--json", default=None, help="also write the results to this JSON file")
    return p


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Drop the OpenBLAS overrides (by re-running), pin threads, print the environment."""
    clean_blas_environment()
    configure_xla(args.threads)
    if args.reps < 3:
        raise SystemExit("--reps: medians need at least 3 repetitions")
    import scipy.optimize  # noqa: F401  (load every BLAS before threadpoolctl limits them)
    import sklearn.neural_network  # noqa: F401
    import torch  # noqa: F401

    pin_threads(args.threads)
    env = environment(args.threads)
    print(f"date: {env['date']}   machine: {env['machine']}, {env['cores']} cores")
    print(f"load average at start: {env['load_average']}")
    print(f"threads per system: {args.threads}   BLAS: {blas_line(env)}")
    if env["openblas_overrides_unset"]:
        print(f"unset for this process: {env['openblas_overrides_unset']}")
    print(f"versions: {env['versions']}")
    print()
    return env


def main_single(run: Callable[[argparse.Namespace], tuple[list[Any], list[Target]]]) -> None:
    """Run one workload script on its own: its tables, its targets, optional JSON."""
    doc = sys.modules["__main__"].__doc__ or ""
    args = parser(doc.splitlines()[0] if doc else "benchmark").parse_args()
    env = setup(args)
    results, targets = run(args)
    for result in results:
        print()
        print(result.table)
    print()
    print(targets_table(targets))
    if args.json:
        write_json(args.json, {"environment": env, "results": results, "targets": targets})
