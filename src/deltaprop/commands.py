"""What each ``deltaprop`` subcommand does, once :mod:`deltaprop.cli` has parsed its arguments.

Each ``cmd_*(args)`` returns the exit status and prints its report; bad input
raises ``UsageError`` or a ``ValueError`` with a one-line message, which ``cli``
turns into exit status 2. Every file a command will write is checked before
any work starts (see :func:`check_outputs`), so a run is never lost to a path
that cannot be written.
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import app, runs
from ._validate import check_count
from .data import DATASETS
from .gradcheck import check_gradient
from .io import atomic_write_bytes, load_metadata, load_model, save_model
from .metrics import confusion_lines
from .metrics import describe as describe_scores
from .network import Network
from .training import TrainingDiverged, TrainingInterrupted

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input from the command line; reported in one line with exit status 2."""


# --- output paths -------------------------------------------------------------------------------


def check_outputs(paths: Mapping[str, Path], *, force: bool, exempt: Path | None = None) -> None:
    """A UsageError for the first path that cannot be written, before anything is computed.

    A path must not be a directory, must not exist unless ``force`` (``exempt``,
    the checkpoint a run resumes from, may), and its folder (or the nearest one
    that exists, for folders still to be made) must be a folder that a file can
    be created in: that is tried, with a temporary file removed at once.
    """
    for path in paths.values():
        if path.is_dir():
            raise UsageError(f"{path}: is a directory; give a file name")
        if path.exists() and not force and path != exempt:
            raise UsageError(f"{path}: already exists; pass --force to overwrite it")
        folder = path.absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise UsageError(f"{path}: cannot be written: {folder} is a file, not a folder")
        probe = folder / f".deltaprop-probe-{secrets.token_hex(4)}"
        try:
            probe.touch(exist_ok=False)
            probe.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UsageError(f"{path}: cannot write in the folder {folder} ({reason})") from None


def _outputs(model: str | None) -> dict[str, Path]:
    if model is None:
        return {}
    path = Path(model)
    stem = path.with_suffix("") if path.suffix == ".safetensors" else path
    return {
        "model": path,
        "history_json": stem.with_name(stem.name + ".history.json"),
        "history_csv": stem.with_name(stem.name + ".history.csv"),
        "plot": stem.with_name(stem.name + ".loss.png"),
    }


# --- train --------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    """Check settings and output paths, prepare the data, train, report, write the files.

    Over 60 lines because it is the run's script, step after step: splitting it
    would hide the order in which checks, training and writing happen.
    """
    overrides = {k: getattr(args, k, None) for k in app.DEFAULTS}
    settings = app.resolve_settings(args.data, args.config, overrides)
    outputs = _outputs(args.output_model)
    if args.no_plot:
        outputs.pop("plot", None)
    checkpoint = Path(
        args.checkpoint
        or (str(outputs["model"].with_suffix(".ckpt")) if outputs else "deltaprop-run.ckpt")
    )
    resume = None if args.resume is None else Path(args.resume)
    check_outputs({**outputs, "checkpoint": checkpoint}, force=args.force, exempt=resume)
    from .distributed import from_environment

    dp = from_environment()  # set when started as mpiexec -n P python -m mpi4py -m deltaprop
    root = dp is None or dp.is_root
    quiet = args.quiet or not root
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
    prepared = runs.prepare(args.data, settings, dp)
    net = runs.build_network(prepared, settings)
    if prepared.columns is not None and len(prepared.columns.columns) <= 50:
        say("columns (kinds and statistics from the training rows):")
        say("\n".join(prepared.columns.describe()))
    elif prepared.columns is not None:
        say(f"columns: {len(prepared.columns.columns)} (their kinds: deltaprop info MODEL)")
    name = prepared.target.name
    say(
        f"target {name}: {prepared.target.describe()}"
        if name
        else f"task: {prepared.target.describe()}"
    )
    for note in prepared.notes:
        say(f"note: {note}")
    say(f"{net}")
    if dp is None:
        say(
            f"data: {prepared.source} ({prepared.task}), {len(prepared.X_train)} training, "
            f"{len(prepared.X_val)} validation, {len(prepared.X_test)} test examples"
        )
    else:
        shards = dp.comm.gather(len(prepared.X_train), root=0)
        say(
            f"data: {prepared.source} ({prepared.task}) on {dp.size} MPI ranks, training rows "
            f"per rank: {shards}"
        )
    base = runs.baseline(prepared, dp)
    status = EXIT_OK
    try:
        history = runs.run_training(
            net,
            prepared,
            settings,
            checkpoint=str(checkpoint),
            resume=args.resume,
            progress=not quiet,
            progress_every=10,
            comm=None if dp is None else dp.comm,
        )
    except TrainingInterrupted as exc:
        print(
            f"deltaprop: interrupted; checkpoint saved to {exc.checkpoint}; continue with "
            f"--resume {exc.checkpoint}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except OSError as exc:
        if not _during_interrupt(exc):
            raise
        print(
            f"deltaprop: interrupted; the checkpoint could not be written to {checkpoint} "
            f"({exc.strerror or exc}); the run is lost",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except TrainingDiverged as exc:
        print(f"deltaprop: {exc}", file=sys.stderr)
        history, status = exc.history, EXIT_FAILED
    if not root:
        return status  # rank 0 reports and writes the files
    test = runs.scores(net, prepared.target, prepared.X_test, prepared.Y_test, base)
    lines = [f"stopped: {history.stop_reason}" if status == EXIT_OK else "stopped: diverged"]
    if test:
        lines.append(f"test: {describe_scores(test)}")
        if "confusion" in test and len(prepared.classes) <= 12:
            lines += confusion_lines(test["confusion"], prepared.classes)
        lines += runs.reference_lines(prepared.source, test.get("accuracy"))
    if outputs:
        outputs["model"].parent.mkdir(parents=True, exist_ok=True)
        meta = runs.model_metadata(prepared, settings, history, test, base)
        save_model(net, outputs["model"], metadata=meta, force=True)
        atomic_write_bytes(outputs["history_json"], runs.history_json(history).encode())
        atomic_write_bytes(outputs["history_csv"], history.to_csv().encode())
        written = [outputs["model"], outputs["history_json"], outputs["history_csv"]]
        if "plot" in outputs and len(history) > 0:
            from .plots import loss_curve_png

            title = (
                f"{prepared.source}: {'-'.join(map(str, net.layer_sizes))} "
                f"{net.activation_label}, {net.cost.name}, {settings['optimizer']}"
            )
            atomic_write_bytes(outputs["plot"], loss_curve_png(history, title))
            written.append(outputs["plot"])
        lines.append("wrote: " + ", ".join(str(p) for p in written))
    print("\n".join(lines))
    return status


def _during_interrupt(exc: BaseException) -> bool:
    """True if ``exc`` was raised while a KeyboardInterrupt was being handled."""
    seen: BaseException | None = exc.__context__
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


# --- evaluate, predict, info --------------------------------------------------------------------


def _load(model: str, args: Any = None) -> tuple[Network, dict[str, Any], dict[str, Any]]:
    """The model, its "extra" and its metadata; on ``args``' --backend and --device if given."""
    xp = device = None
    if getattr(args, "backend", None) is not None or getattr(args, "device", None) is not None:
        xp, device = args.backend or "numpy", args.device
        app.check_device(
            {"backend": xp, "device": device}, {"backend": "--backend", "device": "--device"}
        )
    meta = load_metadata(model)
    net = load_model(model, xp=xp, device=device)
    extra = meta.get("extra") or {}
    return net, extra if isinstance(extra, dict) else {}, meta


def cmd_evaluate(args: argparse.Namespace) -> int:
    """The model's scores on DATA beside the baseline stored with it."""
    net, extra, _ = _load(args.model, args)
    X, Y, what, notes = runs.data_for_model(args.data, net, extra, args.model)
    if Y is None or len(Y) == 0:
        raise UsageError(f"{args.data}: no targets to evaluate against")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    target = runs.stored_target(extra, net, args.model)
    stored = extra.get("baseline")
    base: dict[str, Any] = stored if isinstance(stored, dict) else {}
    result = runs.scores(net, target, X, Y, base)
    print(f"{args.model} on {what} ({len(X)} examples): {describe_scores(result)}")
    if "confusion" in result and len(target.classes) <= 12:
        print("\n".join(confusion_lines(result["confusion"], target.classes)))
    if runs.is_dataset(args.data):
        for line in runs.reference_lines(args.data, result.get("accuracy")):
            print(line)
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    """Predictions for every row of DATA, as CSV, in the target's classes or units."""
    if args.output is not None:
        check_outputs({"predictions": Path(args.output)}, force=args.force)
    net, extra, _ = _load(args.model, args)
    X, _, _, notes = runs.data_for_model(args.data, net, extra, args.model, with_targets=False)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    text = runs.predictions_csv(net, X, runs.stored_target(extra, net, args.model))
    if args.output is None:
        sys.stdout.write(text)
    else:
        atomic_write_bytes(args.output, text.encode())
        print(f"wrote {len(X)} predictions to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    """The model: task, columns and their preprocessing, classes, network, settings, scores."""
    net, extra, meta = _load(args.model)
    out = [f"{args.model}"]
    out.append(f"  network      {'-'.join(map(str, net.layer_sizes))}, {net.n_params} parameters")
    hidden = net.activation_label
    out.append(f"  activations  hidden {hidden}; output {net.output_activation.name}")
    out.append(f"  cost         {net.cost.name}, weight decay λ = {net.weight_decay:g}")
    out.append(f"  dtype        {net.dtype}, init {net.init}, seed {net.seed}")
    out.append(f"  saved by     deltaprop {meta.get('deltaprop_version', '?')}")
    if extra.get("data"):
        out.append(f"  trained on   {extra['data']}")
    if extra.get("task") in ("classification", "regression"):
        target = runs.stored_target(extra, net, args.model)
        out.append(f"  task         {target.describe()}")
        if target.name:
            out.append(f"  target       {target.name}")
        if target.classes:
            out.append(f"  classes      {', '.join(target.classes)[:400]}")
    pre = extra.get("preprocessing")
    if isinstance(pre, dict) and isinstance(pre.get("columns"), dict):
        from .data import TableEncoder

        columns = TableEncoder.from_dict(pre["columns"], f"{args.model}: metadata")
        out.append(f"  features     {columns.n_features} from {len(columns.inputs)} columns:")
        out += ["  " + line for line in columns.describe()]
    settings = extra.get("settings") or {}
    if settings:
        out.append(
            f"  optimizer    {settings.get('optimizer')}, α = {settings.get('learning_rate')}"
            f"{' (cosine to 0)' if settings.get('schedule') == 'cosine' else ''}, "
            f"batch {settings.get('batch_size')}, epochs ≤ {settings.get('epochs')}, "
            f"seed {settings.get('seed')}"
        )
    out += _history_lines(extra.get("history"))
    test = extra.get("test") or {}
    if test:
        out.append(f"  test         {describe_scores(test)}")
    print("\n".join(out))
    return EXIT_OK


def _history_lines(history: Any) -> list[str]:
    if not isinstance(history, dict) or not history.get("epoch"):
        return []
    losses = history.get("train_loss") or []
    vals = [v for v in history.get("val_loss") or [] if v is not None and not _nan(v)]
    lines = [f"  epochs       {len(history['epoch'])} ({history.get('stop_reason', '')})"]
    if losses:
        val = f", validation {vals[-1]:.6g}" if vals else ""
        lines.append(f"  final J      training {losses[-1]:.6g}{val}")
    if history.get("best_epoch") is not None:
        lines.append(f"  best epoch   {history['best_epoch']}")
    return lines


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# --- datasets, gradcheck ------------------------------------------------------------------------


def cmd_datasets(args: argparse.Namespace) -> int:
    """The built-in datasets as a table, or one of them as JSON."""
    if args.name is None:
        print(f"{'name':<15}{'task':<16}{'features':>9}{'classes':>9}  description")
        for info in DATASETS.values():
            k = "-" if info.n_classes is None else str(info.n_classes)
            print(f"{info.name:<15}{info.task:<16}{info.n_features:>9}{k:>9}  {info.description}")
        return EXIT_OK
    if args.name not in DATASETS:
        raise UsageError(f"unknown dataset {args.name!r}; choose one of: {', '.join(DATASETS)}")
    info = DATASETS[args.name]
    described = {
        "name": info.name,
        "description": info.description,
        "task": info.task,
        "n_features": info.n_features,
        "n_classes": info.n_classes,
        "source": info.source,
        "preprocessing": info.preprocessing,
        "train_defaults": app.PRESETS.get(info.name, {}),
        "references": app.REFERENCES.get(info.name, (None, []))[1],
    }
    print(json.dumps(described, indent=2, ensure_ascii=False))
    return EXIT_OK


def _random_batch(net: Network, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1] (like UFLDL's image patches) and targets the cost accepts."""
    check_count("--examples", m)
    s_in, s_out = net.layer_sizes[0], net.layer_sizes[-1]
    X = rng.uniform(size=(m, s_in))
    if net.cost.name == "cross_entropy":
        Y = np.eye(s_out)[rng.integers(0, s_out, size=m)]
    elif s_in == s_out and net.output_activation.name == "sigmoid":
        Y = X.copy()  # an autoencoder, as in UFLDL's exercise
    else:
        Y = rng.uniform(size=(m, s_out))
    return X, Y


def cmd_gradcheck(args: argparse.Namespace) -> int:
    """Backpropagation's gradient against central differences, per W⁽ˡ⁾ and b⁽ˡ⁾."""
    sizes = app.parse_sizes("--layers", args.layers)
    net = Network(
        sizes,
        activation=app.per_layer("--activation", args.activation, len(sizes) - 2),
        output_activation=args.output,
        cost=args.cost,
        weight_decay=args.weight_decay,
        dtype=args.dtype,
        seed=args.seed,
    )
    X, Y = _random_batch(net, args.examples, np.random.default_rng(args.seed + 1))
    res = check_gradient(
        net, X, Y, epsilon=args.epsilon, threshold=args.threshold, max_coords=args.max_coords
    )
    print(f"{net}")
    print(f"m = {args.examples} random examples, ε = {res.epsilon:g}, evaluated in float64")
    print(f"{'param':<8}{'checked':>14}   relative difference ‖g − ĝ‖/‖g + ĝ‖")
    for p in res.per_layer:
        mark = "✓" if p.ok else "✗"
        print(f"{p.name:<8}{p.n_checked:>7}/{p.n_total:<6}   {p.relative_error:.3e} {mark}")
    verdict = "PASS" if res.ok else "FAIL"
    print(
        f"overall {res.n_checked:>6} coords   {res.relative_error:.3e}   {verdict} "
        f"(threshold {res.threshold:g} overall, {res.layer_threshold:g} per array)"
    )
    return EXIT_OK if res.ok else EXIT_FAILED
