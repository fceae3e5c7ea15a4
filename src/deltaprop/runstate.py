"""A training run's state in a checkpoint: what is written, and the checks when it is read back.

A checkpoint (``deltaprop.io``) holds the network's θ, the optimizer's arrays
(``opt/<name>``), the best θ so far for early stopping, and a JSON state: epoch,
step, the Generator's state, the optimizer's counters, the history, early
stopping's bookkeeping, elapsed time and the configuration. Resuming a
step-based run from it reproduces the uninterrupted run bit for bit; L-BFGS
keeps its curvature memory inside scipy, so a resumed L-BFGS run restarts that
memory from the checkpoint's θ.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import Array, to_numpy
from .checkpoints import load_checkpoint, save_checkpoint
from .history import History, TrainingInterrupted

Trainer = Any
"""A ``deltaprop.loop.Trainer`` (this module sits below the loop, which calls it)."""


def is_array(value: Any) -> bool:
    """Whether ``value`` is an array (optimizer state holds arrays and counters)."""
    return hasattr(value, "shape") and hasattr(value, "dtype")


def save_run(run: Trainer) -> None:
    """Write ``run``'s state to its checkpoint path, atomically."""
    arrays = {f"opt/{k}": v for k, v in run.state.items() if is_array(v)}
    if run.best_theta is not None:
        arrays["best_params"] = run.best_theta
    state = {
        "epoch": run.epoch,
        "step": run.step,
        "rng": run.rng.bit_generator.state,
        "opt_scalars": {k: v for k, v in run.state.items() if not is_array(v)},
        "history": run.history.to_dict(),
        "best_loss": run.best_loss,
        "wait": run.wait,
        "elapsed": run.elapsed,
        "config": dict(run.cfg.describe or {"optimizer": run.cfg.optimizer}),
    }
    assert run.checkpoint is not None
    save_checkpoint(run.checkpoint, run.net, arrays=arrays, state=state)


def restore_run(run: Trainer, path: str) -> None:
    """Put ``run`` where the checkpoint at ``path`` left it; every field is checked first."""
    saved, arrays, state = load_checkpoint(path)
    if saved.layer_sizes != run.net.layer_sizes or repr(saved) != repr(run.net):
        raise ValueError(
            f"{path}: cannot resume: it holds {saved!r}, but the network is {run.net!r}"
        )
    config = state.get("config")
    optimizer = config.get("optimizer") if isinstance(config, dict) else None
    if optimizer != run.cfg.optimizer:
        raise ValueError(
            f"{path}: cannot resume: it was trained with optimizer {optimizer!r}, "
            f"this run asks for {run.cfg.optimizer!r}"
        )
    saved_rates = config.get("dropout") if isinstance(config, dict) else None
    rates = None if run.cfg.dropout is None else list(run.cfg.dropout)
    if saved_rates != rates:  # other masks would not continue the run
        raise ValueError(
            f"{path}: cannot resume: it was trained with dropout {saved_rates!r}, "
            f"this run asks for {rates!r}"
        )
    fields = _checked_state(path, state, run.rng, type(run.history))
    opt_state = {k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}
    expected = {k for k, v in run.state.items() if is_array(v)}
    if set(opt_state) != expected:
        raise ValueError(
            f"{path}: checkpoint holds optimizer arrays {sorted(opt_state)}, "
            f"{run.cfg.optimizer} needs {sorted(expected)}"
        )
    for key, value in opt_state.items():
        if value.shape != (run.net.n_params,):
            raise ValueError(
                f"{path}: optimizer array {key!r} has shape {value.shape}, "
                f"θ has ({run.net.n_params},)"
            )
        run.state[key] = run.net.from_host(value)
    for key, value in fields["opt_scalars"].items():
        if key not in run.state or is_array(run.state[key]):
            raise ValueError(f"{path}: checkpoint state: unknown optimizer value {key!r}")
        run.state[key] = value
    if "best_params" in arrays:
        if arrays["best_params"].shape != (run.net.n_params,):
            raise ValueError(f"{path}: 'best_params' does not have θ's shape")
        run.best_theta = run.net.from_host(arrays["best_params"])
    run.theta[...] = run.net.from_host(to_numpy(saved.params))
    run.rng.bit_generator.state = fields["rng"]
    run.history = fields["history"]
    run.epoch, run.step = fields["epoch"], fields["step"]
    run.best_loss, run.wait = fields["best_loss"], fields["wait"]
    run.elapsed = fields["elapsed"]
    # A run that had stopped (early stopping, a callback, max_steps) stays stopped.
    if run.history.stop_reason:
        run.finish()


def _checked_state(
    path: str, state: dict[str, Any], rng: np.random.Generator, kind: type[History] = History
) -> dict[str, Any]:
    """The checkpoint's run state with every field's type checked, or a ValueError naming it."""

    def bad(name: str, expected: str) -> ValueError:
        return ValueError(
            f"{path}: checkpoint state: {name} must be {expected}, got {state.get(name)!r:.80}"
        )

    out: dict[str, Any] = {}
    for name in ("epoch", "step", "wait"):
        value = state.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad(name, "a whole number ≥ 0")
        out[name] = value
    for name in ("best_loss", "elapsed"):
        value = state.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(name, "a number")
        out[name] = float(value)
    scalars = state.get("opt_scalars")
    if not isinstance(scalars, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scalars.values()
    ):
        raise bad("opt_scalars", "a mapping of names to numbers")
    out["opt_scalars"] = scalars
    history = state.get("history")
    try:
        out["history"] = kind.from_dict(history)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise bad("history", "a training history") from None
    lengths = {len(v) for v in vars(out["history"]).values() if isinstance(v, list)}
    if lengths != {out["epoch"]} and not (out["epoch"] == 0 and lengths <= {0}):
        raise bad("history", f"one entry per completed epoch ({out['epoch']})")
    probe = np.random.Generator(type(rng.bit_generator)())
    try:
        probe.bit_generator.state = state.get("rng")  # type: ignore[assignment]
    except (TypeError, ValueError, KeyError, AttributeError):
        raise bad("rng", f"the state of a {type(rng.bit_generator).__name__} generator") from None
    out["rng"] = probe.bit_generator.state
    return out


@dataclass(frozen=True)
class EpochStart:
    """What a step-based run looked like when an epoch began: where to go back to."""

    theta: Array
    state: dict[str, Any]
    rng: Mapping[str, Any]
    step: int
    epoch: int


def rewind(run: Trainer) -> TrainingInterrupted:
    """Ctrl-C, wherever it landed: ``run`` back to its last whole epoch, saved to the checkpoint.

    A step-based epoch under way is undone (θ, optimizer state, generator,
    steps, history); L-BFGS's worker is stopped and θ put back to its last
    finite iterate. The parameters are then those after the last recorded epoch.
    """
    if run._epoch_run is not None:
        run._epoch_run.close()
        run._epoch_run = None
    start = run._start
    if start is not None and run.epoch == start.epoch:  # the epoch was not completed
        run.theta[...] = start.theta
        run.state, run.step = start.state, start.step
        run.rng.bit_generator.state = start.rng
        truncate(run.history, run.epoch)
    unit = "epoch"
    if run._lbfgs is not None and not run.finished:
        unit = "iteration"
        run._lbfgs.close()
        run.theta[...] = run.objective.from_host(run._lbfgs.last_finite)
    path = run.save_checkpoint() if run.checkpoint else None
    run.finished = True
    return TrainingInterrupted(
        f"interrupted; the parameters are those after {unit} {run.epoch}"
        + (f", saved to {path}" if path else ""),
        run.history,
        path,
    )


def truncate(history: History, n: int) -> None:
    """Keep the first n epochs of every per-epoch list."""
    for value in vars(history).values():
        if isinstance(value, list):
            del value[n:]


def copy_state(xp: Any, state: dict[str, Any]) -> dict[str, Any]:
    return {k: xp.asarray(v, copy=True) if is_array(v) else v for k, v in state.items()}
