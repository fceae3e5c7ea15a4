"""One workload's comparison: every system in turns, the GEMM limit, the floor, the table.

:func:`compare` times deltaprop, scikit-learn, PyTorch and (where installed, for the
step-based optimizers) JAX's scanned epoch (``jax_scan.py``) on one :class:`Spec`,
adds the GEMM limit (``harness.gemm_limit``) and the floor (``floor.py``), scores every
final θ with one loss function and builds the ratio table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax_scan
from floor import floor_seconds
from harness import Measured, System, Target, gemm_limit, ratio_table, take_turns
from systems import Spec, deltaprop_system, final_loss, sklearn_system, torch_system

FLOOR = "floor"
"""The floor's name in the tables: computed, not timed (``floor.py``)."""

GENERIC = "deltaprop generic"
"""The name of deltaprop's reference engine in the tables (see :func:`engine_target`)."""


@dataclass
class Comparison:
    """A workload's result: timings per system, their table, and the spec's description.

    ``compile_seconds`` holds the compile times kept out of the timings (JAX's
    ``lower().compile()``); ``skipped`` each system left out, with the reason.
    """

    key: str
    title: str
    unit: str
    measured: dict[str, Measured]
    table: str
    compile_seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def engine_target(workload: str, result: Comparison) -> Target:
    """fast ÷ generic: the numpy engine's time over the reference engine's, to stay below 1."""
    fast, generic = result.measured["deltaprop"].median, result.measured[GENERIC].median
    return Target(workload, "fast ÷ generic engine", 1.0, fast / generic)


def optimizer_name(spec: Spec) -> str:
    """ "sgd", "momentum", "adam" or "lbfgs": the update's kind, for the floor."""
    if spec.optimizer == "sgd" and spec.momentum:
        return "momentum"
    return spec.optimizer


def floor_of(spec: Spec) -> float:
    """The floor of one of spec's units (epoch, step or evaluation), in seconds."""
    return floor_seconds(
        spec.sizes,
        spec.m,
        spec.batch,
        spec.activation,
        optimizer_name(spec),
        spec.dtype.name,
        per_step=spec.per_step,
    )


def compare(
    key: str,
    title: str,
    spec: Spec,
    reps: int,
    *,
    extra: dict[str, System] | None = None,
    generic: bool = False,
    gemm: bool = True,
    jax: bool = True,
    log: Any = print,
) -> Comparison:
    """Time deltaprop, scikit-learn, PyTorch, JAX (and ``extra`` systems) on ``spec``.

    Adds the GEMM limit of the spec's shapes and the floor, scores every final θ
    with :func:`systems.final_loss`, and builds the ratio table. With ``generic``,
    deltaprop's reference engine runs too, as :data:`GENERIC`. JAX runs where it is
    installed, ``jax`` is True and the optimizer is step-based.
    """
    systems: dict[str, System] = {
        "deltaprop": deltaprop_system(spec),
        "scikit-learn": sklearn_system(spec),
        "PyTorch": torch_system(spec),
    }
    skipped: dict[str, str] = {}
    scan: jax_scan.JaxScan | None = None
    if jax and spec.optimizer != "lbfgs":
        reason = jax_scan.unavailable()
        if reason is None:
            scan = jax_scan.JaxScan(spec)
            systems[jax_scan.JAX] = scan
        else:
            skipped[jax_scan.JAX] = reason
    if generic:
        systems[GENERIC] = deltaprop_system(spec, engine="reference")
    systems.update(extra or {})
    if gemm:
        if spec.optimizer == "lbfgs":  # one full-batch evaluation per unit
            systems["GEMM limit"] = gemm_limit(spec.sizes, spec.m, spec.m, spec.dtype, 3, 3)
        else:
            systems["GEMM limit"] = gemm_limit(
                spec.sizes, spec.m, spec.batch, spec.dtype, spec.units, spec.count(spec.units)
            )
    log(f"{key}: {title}")
    for name, reason in skipped.items():
        log(f"    {name} skipped: {reason}")
    measured, last = take_turns(systems, reps, log=log)
    for name, run in last.items():
        if run.theta is not None:
            measured[name].final_loss = final_loss(spec, run.theta)
    measured[FLOOR] = Measured(FLOOR, [floor_of(spec)], spec.count(spec.units))
    compile_seconds = {}
    if scan is not None and scan.compile_seconds is not None:
        compile_seconds[jax_scan.JAX] = scan.compile_seconds
    if spec.optimizer == "lbfgs":
        unit, scale = "ms/eval", 1e3
    elif spec.per_step:
        unit, scale = "µs/step", 1e6
    else:
        unit, scale = "s/epoch", 1.0
    table = ratio_table(f"{key}  {title}", unit, measured, scale=scale)
    for name, seconds in compile_seconds.items():
        table += f"\n{name}: compiled in {seconds:.2f} s (first call, not in the timings)"
    for name, reason in skipped.items():
        table += f"\n{name}: skipped, {reason}"
    return Comparison(key, title, unit, measured, table, compile_seconds, skipped)
