"""deltaprop beside another checkout of itself: the same workloads, in the same turns.

A change that should not cost speed (a refactor) is measured here: this tree's
deltaprop and the other tree's (say, the commit before the change, checked out with
``git worktree add /tmp/before <rev>``) train P1, P2 and P5 side by side with
scikit-learn and PyTorch, taking turns, so that a slow spell on a shared machine hits
both alike. The tables give every ratio; "deltaprop ÷ before" is the change's cost.

    .venv/bin/python benchmarks/versus_tree.py /tmp/before/src [--only P1 P2 P5] [--reps 5]
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import harness
import numpy as np
import p1_digits
import p2_fashion
import p5_online
from comparison import compare
from systems import Run, Spec, System, step_kwargs, timed

BEFORE = "deltaprop before"


def load_tree(src: str) -> ModuleType:
    """The deltaprop package under ``src`` (a checkout's src/), imported as another name."""
    root = Path(src) / "deltaprop"
    if not (root / "__init__.py").is_file():
        raise SystemExit(f"{src}: no deltaprop package there (expected {root}/__init__.py)")
    spec = importlib.util.spec_from_file_location(
        "deltaprop_before", root / "__init__.py", submodule_search_locations=[str(root)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deltaprop_before"] = module
    spec.loader.exec_module(module)
    return module


def tree_system(mod: ModuleType, spec: Spec) -> System:
    """``mod.train`` on the spec, from the shared initial weights (as ``deltaprop_system``)."""
    Y = spec.onehot
    theta0 = spec.theta0()

    def system(warmup: bool) -> Run:
        net = mod.Network(
            spec.sizes,
            activation=spec.activation,
            cost="cross_entropy",
            dtype=spec.dtype,
            seed=spec.seed,
        )
        net.params = theta0
        units = 1 if warmup else spec.units
        kwargs = step_kwargs(spec)
        seconds, _ = timed(
            lambda: mod.train(net, spec.X, Y, epochs=units, seed=spec.seed, **kwargs)
        )
        return Run(seconds, spec.count(units), np.array(net.params, dtype=np.float64))

    return system


def main() -> None:
    """Run the chosen workloads with both trees; print the tables and this tree's cost."""
    p = harness.parser(__doc__.splitlines()[0])
    p.add_argument("other", help="the other checkout's src/ folder")
    p.add_argument("--only", nargs="+", choices=["P1", "P2", "P5"], default=["P1", "P2", "P5"])
    args = p.parse_args()
    harness.setup(args)
    before = load_tree(args.other)
    specs: dict[str, Spec] = {}
    if "P1" in args.only:
        specs["P1 float64"] = p1_digits.make_spec("float64", args.p1_epochs)
    if "P2" in args.only:
        specs["P2 float32"] = p2_fashion.spec("float32", args.epochs)
    if "P5" in args.only:
        specs["P5 float64"] = p5_online.make_spec(args.p5_steps)
    targets = []
    for key, spec in specs.items():
        result = compare(
            key,
            f"{key}: this tree beside {args.other}",
            spec,
            args.reps,
            extra={BEFORE: tree_system(before, spec)},
            gemm=False,
            jax=False,
        )
        print()
        print(result.table)
        ratio = result.measured["deltaprop"].median / result.measured[BEFORE].median
        targets.append(harness.Target(key, "deltaprop ÷ deltaprop before", 1.05, ratio))
    print()
    print(harness.targets_table(targets))


if __name__ == "__main__":
    main()
