"""GPU: deltaprop on torch-CUDA and on CuPy beside plain PyTorch on the same card, float32.

Workloads (same initial weights for every system, deltaprop's initialisation):

- P2: 784-256-10 relu, momentum 0.9, α = 0.01, batch 128 and batch 1024; time per epoch;
- P3: 784-512-512-10 relu, momentum 0.9, α = 0.01, batch 256; time per epoch;
- P4: 784-256-10 relu, full-batch L-BFGS on 10000 rows; time per evaluation of J and ∇J
  (deltaprop: scipy's driver on the host, evaluations on the device; PyTorch:
  ``torch.optim.LBFGS`` on the device);
- the crossover: 784-H-10 relu, batch 128, one epoch on ``--rows`` rows, for H from 16
  to 1024: deltaprop on the device against deltaprop's numpy engine on this CPU; the
  smallest H from which the device is faster.

Medians over ``--reps`` repetitions taken in turns; the data is put on the device once,
before timing; every timed run ends with the device synchronised. Final J of every
system is scored on the host in float64 by one function. Targets (issue 18): deltaprop
on torch-CUDA ≤ 1.2 × PyTorch's time on P2 and P3, and the same final J within float32
rounding (here: relative difference ≤ 1e-4).

    .venv/bin/python benchmarks/gpu.py [--device cuda|cpu] [--reps 3] [--epochs 1]

Without a CUDA device it says so and exits cleanly (status 0). ``--device cpu`` runs the
same comparison on torch's CPU device (deltaprop on torch-CPU against PyTorch on the
CPU), so that the script is exercised where there is no card: those are CPU figures.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from benchdata import as_dtype, fashion
from harness import Measured, Run, System, take_turns
from systems import Spec, final_loss, torch_lbfgs, unpack

import deltaprop as dp
from deltaprop._arrays import to_numpy

WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
"""The crossover sweep's hidden widths H of 784-H-10."""

J_RTOL = 1e-4
"""Final J of deltaprop and PyTorch counted equal within float32 rounding below this."""


def synchronize(device: str) -> None:
    """Wait for the device to finish what it was given (a no-op on the CPU)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed_on(device: str, work: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of ``work``, the device synchronised before and after."""
    synchronize(device)
    start = time.perf_counter()
    result = work()
    synchronize(device)
    return time.perf_counter() - start, result


def train_options(spec: Spec, units: int) -> dict[str, Any]:
    """deltaprop's train() arguments for the spec."""
    if spec.optimizer == "lbfgs":
        return {"optimizer": "lbfgs", "tol": 0.0, "epochs": units, "seed": spec.seed}
    return {
        "optimizer": "momentum",
        "learning_rate": spec.lr,
        "momentum": spec.momentum,
        "batch_size": spec.batch,
        "epochs": units,
        "seed": spec.seed,
    }


def deltaprop_system(spec: Spec, xp: str | None, device: str | None) -> System:
    """``dp.train`` on arrays of ``xp`` on ``device`` (None, None: numpy on this CPU)."""
    net0 = spec.network()
    X: Any
    Y: Any
    if xp is None:
        X, Y = spec.X, spec.onehot
    else:
        probe = net0.to(xp, device)
        X, Y = probe.from_host(spec.X), probe.from_host(spec.onehot)  # once, before timing
    where = device or "cpu"

    def system(warmup: bool) -> Run:
        net = net0.to(xp, device)
        units = 1 if warmup else spec.units
        seconds, hist = timed_on(where, lambda: dp.train(net, X, Y, **train_options(spec, units)))
        theta = np.asarray(to_numpy(net.params), dtype=np.float64)
        if spec.optimizer == "lbfgs":
            return Run(seconds, hist.steps[-1], theta)
        return Run(seconds, units, theta)

    return system


def torch_system(spec: Spec, device: str) -> System:
    """Plain PyTorch on ``device``: ``nn.Sequential``, ``nn.CrossEntropyLoss``, ``torch.optim``.

    The epoch's loss stays on the device and is read once per epoch, as deltaprop does.
    """
    import torch

    X = torch.from_numpy(spec.X).to(device)
    y = torch.from_numpy(spec.labels.astype(np.int64)).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()
    W0, b0 = unpack(spec, spec.theta0())

    def model() -> Any:
        layers: list[Any] = []
        for k in range(len(W0)):
            linear = torch.nn.Linear(W0[k].shape[1], W0[k].shape[0], dtype=X.dtype, device=device)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W0[k]))
                linear.bias.copy_(torch.from_numpy(b0[k]))
            layers.append(linear)
            if k < len(W0) - 1:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    def sgd(net: Any, epochs: int) -> None:
        opt = torch.optim.SGD(net.parameters(), lr=spec.lr, momentum=spec.momentum)
        rng = np.random.default_rng(spec.seed)
        m, bs = spec.m, spec.batch
        for _ in range(epochs):
            order = torch.from_numpy(rng.permutation(m)).to(device)  # once per epoch
            total = torch.zeros((), dtype=torch.float64, device=device)
            for first in range(0, m, bs):
                idx = order[first : first + bs]
                opt.zero_grad()
                loss = loss_fn(net(X[idx]), y[idx])
                loss.backward()
                opt.step()
                total += loss.detach().double() * idx.shape[0]
            if not math.isfinite(total.item()):
                raise FloatingPointError("PyTorch's training loss is not finite")

    def lbfgs(net: Any, iterations: int) -> int:
        return torch_lbfgs(net, X, y, loss_fn, iterations)

    def theta(net: Any) -> np.ndarray:
        linears = [layer for layer in net if hasattr(layer, "weight")]
        parts = [lin.weight.detach().cpu().numpy().ravel() for lin in linears]
        parts += [lin.bias.detach().cpu().numpy().ravel() for lin in linears]
        return np.concatenate(parts).astype(np.float64)

    def system(warmup: bool) -> Run:
        units = 1 if warmup else spec.units
        net = model()
        if spec.optimizer == "lbfgs":
            seconds, evaluations = timed_on(device, lambda: lbfgs(net, units))
            return Run(seconds, evaluations, theta(net))
        seconds, _ = timed_on(device, lambda: sgd(net, units))
        return Run(seconds, units, theta(net))

    return system


def device_systems(spec: Spec, device: str) -> dict[str, System]:
    """deltaprop on torch (and on CuPy, on a CUDA device where CuPy imports), and PyTorch."""
    systems = {f"deltaprop[torch-{device}]": deltaprop_system(spec, "torch", device)}
    if device.startswith("cuda") and has_cupy():
        systems["deltaprop[cupy]"] = deltaprop_system(spec, "cupy", device)
    systems[f"PyTorch[{device}]"] = torch_system(spec, device)
    return systems


def has_cupy() -> bool:
    """Whether CuPy imports (it needs a CUDA toolkit and card)."""
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


def measure(
    title: str, unit: str, spec: Spec, systems: dict[str, System], reps: int
) -> tuple[str, dict[str, Measured]]:
    """Run the systems in turns; the table (median per unit in ms, ÷ PyTorch, final J)."""
    print(f"{title} …", flush=True)
    measured, last = take_turns(systems, reps)
    for name, run in last.items():
        measured[name].final_loss = None if run.theta is None else final_loss(spec, run.theta)
    torch_name = next((n for n in measured if n.startswith("PyTorch")), None)
    header = f"{'system':<24}{unit + ' (ms)':>16}{'÷ PyTorch':>12}{'final J':>12}"
    lines = [title, header, "-" * len(header)]
    for name, m in measured.items():
        ratio = m.median / measured[torch_name].median if torch_name else math.nan
        loss = "" if m.final_loss is None else f"{m.final_loss:.6f}"
        lines.append(f"{name:<24}{m.median * 1e3:>16.4g}{ratio:>12.2f}{loss:>12}")
    return "\n".join(lines), measured


def targets(workload: str, measured: dict[str, Measured], device: str) -> list[str]:
    """The issue's two targets for deltaprop on torch against PyTorch on the same device."""
    ours, theirs = measured[f"deltaprop[torch-{device}]"], measured[f"PyTorch[{device}]"]
    ratio = ours.median / theirs.median
    assert ours.final_loss is not None and theirs.final_loss is not None
    rel = abs(ours.final_loss - theirs.final_loss) / abs(theirs.final_loss)
    return [
        f"{workload:<18} time ÷ PyTorch {ratio:8.3f}  (target ≤ 1.2)  "
        f"{'met' if ratio <= 1.2 else 'NOT met'}",
        f"{workload:<18} |ΔJ| / J       {rel:8.2e}  (target ≤ {J_RTOL:g})  "
        f"{'met' if rel <= J_RTOL else 'NOT met'}",
    ]


def crossover(X: np.ndarray, labels: np.ndarray, device: str, reps: int) -> str:
    """784-H-10 relu, batch 128, one epoch: deltaprop on the device against this CPU's numpy."""
    lines = [
        f"crossover: 784-H-10 relu, batch 128, one epoch of {len(X)} rows, float32; "
        f"deltaprop on torch-{device} against deltaprop's numpy engine on this CPU",
        f"{'H':>6}{'CPU numpy (ms)':>18}{f'torch-{device} (ms)':>20}{'CPU ÷ device':>14}",
    ]
    first = None
    for width in WIDTHS:
        spec = Spec(X=X, labels=labels, sizes=(784, width, 10), activation="relu", batch=128)
        systems = {
            "cpu": deltaprop_system(spec, None, None),
            "device": deltaprop_system(spec, "torch", device),
        }
        measured, _ = take_turns(systems, reps, log=lambda line: None)
        cpu, dev = measured["cpu"].median, measured["device"].median
        if first is None and dev < cpu:
            first = width
        lines.append(f"{width:>6}{cpu * 1e3:>18.4g}{dev * 1e3:>20.4g}{cpu / dev:>14.2f}")
    lines.append(
        f"the device is faster from H = {first}"
        if first is not None
        else f"the device is not faster at any H up to {WIDTHS[-1]}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the options, check the device, run every workload, print the tables."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu")
    p.add_argument("--reps", type=int, default=3, help="timed repetitions per system (≥ 3)")
    p.add_argument("--epochs", type=int, default=1, help="P2, P3: epochs per repetition")
    p.add_argument("--lbfgs-iters", type=int, default=10, help="P4: iterations per repetition")
    p.add_argument("--rows", type=int, default=None, help="use the first ROWS examples (P2, P3)")
    p.add_argument("--crossover-rows", type=int, default=10000, help="rows of the crossover sweep")
    p.add_argument("--only", nargs="+", choices=["P2", "P3", "P4", "crossover"], default=None)
    args = p.parse_args(argv)
    if args.reps < 3:
        p.error("--reps: medians need at least 3 repetitions")
    try:
        import torch
    except ImportError:
        print("benchmarks/gpu.py: torch is not installed; nothing to compare")
        return 0
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print(
            f"benchmarks/gpu.py: no CUDA device (torch {torch.__version__}, "
            "torch.cuda.is_available() is False); nothing measured. "
            "--device cpu runs the same comparison on torch's CPU device."
        )
        return 0
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else platform.processor()
    print(
        f"device: {device} ({name or platform.machine()}), torch {torch.__version__}, "
        f"CUDA {torch.version.cuda}, CuPy {'yes' if has_cupy() else 'not installed'}"
    )
    X_all, labels_all, source = fashion()
    only = set(args.only or ["P2", "P3", "P4", "crossover"])
    out: list[str] = []
    goals: list[str] = []
    X32 = as_dtype(X_all, "float32", args.rows)
    labels = labels_all[: args.rows]
    m = len(X32)
    for batch in (128, 1024) if "P2" in only else ():
        spec = Spec(
            X=X32,
            labels=labels,
            sizes=(784, 256, 10),
            activation="relu",
            lr=0.01,
            batch=batch,
            units=args.epochs,
        )
        title = f"P2 {source} {m}×784, 784-256-10 relu, momentum 0.9, batch {batch}, float32"
        table, measured = measure(title, "per epoch", spec, device_systems(spec, device), args.reps)
        out.append(table)
        goals += targets(f"P2 batch {batch}", measured, device)
    if "P3" in only:
        spec = Spec(
            X=X32,
            labels=labels,
            sizes=(784, 512, 512, 10),
            activation="relu",
            lr=0.01,
            batch=256,
            units=args.epochs,
        )
        title = f"P3 {source} {m}×784, 784-512-512-10 relu, momentum 0.9, batch 256, float32"
        table, measured = measure(title, "per epoch", spec, device_systems(spec, device), args.reps)
        out.append(table)
        goals += targets("P3", measured, device)
    if "P4" in only:
        spec = Spec(
            X=as_dtype(X_all, "float32", 10000),
            labels=labels_all[:10000],
            sizes=(784, 256, 10),
            activation="relu",
            optimizer="lbfgs",
            units=args.lbfgs_iters,
        )
        title = f"P4 {source} 10000×784, 784-256-10 relu, full-batch L-BFGS, float32"
        table, _ = measure(title, "per evaluation", spec, device_systems(spec, device), args.reps)
        out.append(table)
    if "crossover" in only:
        rows = args.crossover_rows
        out.append(
            crossover(as_dtype(X_all, "float32", rows), labels_all[:rows], device, args.reps)
        )
    print()
    print("\n\n".join(out))
    if goals:
        print()
        print("\n".join(goals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
