"""The ``deltaprop`` command: argument parsing and error-to-exit-code mapping.

Exit status: 0 success; 1 a run that went wrong on its own terms (a gradient
check that failed, training that diverged: the model with the last finite
parameters and its history are still written); 2 bad input, reported in one line
on stderr naming the file, row, column or option, with no traceback; 130 Ctrl-C
during training, after a checkpoint of the last completed epoch is written.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import app
from .costs import COSTS
from .data import DATASETS
from .gradcheck import check_gradient
from .io import atomic_write_bytes, load_metadata, load_model, save_model
from .network import Network
from .optim import OPTIMIZERS
from .training import TrainingDiverged, TrainingInterrupted

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input from the command line; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _sub(sub: Any, name: str, help: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=help[0].upper() + help[1:] + ".",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--layers",
        default="64-25-64",
        help="all layer sizes, input first (default 64-25-64, UFLDL's autoencoder)",
    )
    p.add_argument(
        "--activation",
        default="sigmoid",
        help="hidden activation: sigmoid, tanh, relu, leaky_relu, softplus, identity",
    )
    p.add_argument(
        "--output", default=None, help="output activation (default: what the cost needs)"
    )
    p.add_argument("--cost", default="squared_error", help=f"one of {', '.join(COSTS)}")
    p.add_argument("--weight-decay", type=float, default=0.0, help="λ of (λ/2) Σ W² (default 0)")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deltaprop",
        description="Fully-connected networks trained by backpropagation, every equation checked.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    t = _sub(
        sub,
        "train",
        "train a network on a built-in dataset or a data file",
        "deltaprop train mnist1d -o model.safetensors\n  "
        "deltaprop train data.csv --target label --hidden 64-64 --epochs 50 -o m.safetensors",
    )
    t.add_argument(
        "data",
        metavar="DATA",
        help="a built-in dataset (see 'deltaprop datasets') or a .csv, .npy, .npz or IDX file",
    )
    t.add_argument(
        "-o",
        "--output-model",
        metavar="MODEL",
        help="write the model here (.safetensors), with MODEL's stem + "
        ".history.json/.csv and .loss.png beside it",
    )
    t.add_argument("--config", metavar="TOML", help="settings file; options given here win")
    t.add_argument("--labels", help="labels file for IDX images")
    t.add_argument("--target", help="target column of a CSV (name or index; default the last)")
    t.add_argument("--layers", help="all layer sizes, input first, e.g. 40-100-100-10")
    t.add_argument("--hidden", help="hidden layer sizes only, e.g. 256-256 (default 100)")
    t.add_argument("--activation", help="hidden activation (default tanh)")
    t.add_argument("--output", help="output activation (default by task)")
    t.add_argument("--cost", help=f"one of {', '.join(COSTS)} (default by task)")
    t.add_argument("--weight-decay", type=float, help="λ (default 1e-4)")
    t.add_argument("--init", help="ufldl, glorot or he (default by activation)")
    t.add_argument("--dtype", choices=["float32", "float64"])
    t.add_argument("--optimizer", help=f"one of {', '.join(OPTIMIZERS)} (default adam)")
    t.add_argument("--learning-rate", type=float, help="α (default 1e-3)")
    t.add_argument("--momentum", type=float, help="μ for momentum and nesterov (default 0.9)")
    t.add_argument("--epochs", type=int, help="epoch budget (L-BFGS: iterations)")
    t.add_argument("--batch-size", type=int, help="examples per update (0: full batch)")
    t.add_argument("--val-size", type=float, help="validation fraction (default 0.2)")
    t.add_argument("--test-size", type=float, help="test fraction for files (default 0.2)")
    t.add_argument(
        "--early-stopping",
        type=int,
        metavar="N",
        help="stop after N epochs without a better validation loss (0: off)",
    )
    t.add_argument("--seed", type=int, help="seed for initialisation, splits and shuffles")
    t.add_argument(
        "--no-standardize",
        dest="standardize",
        action="store_const",
        const=False,
        help="keep file features as they are",
    )
    t.add_argument("--checkpoint", help="checkpoint file (default: MODEL with .ckpt)")
    t.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="write the checkpoint every N epochs (default 0: only on Ctrl-C)",
    )
    t.add_argument("--resume", metavar="CKPT", help="continue the run saved in CKPT")
    t.add_argument("--no-plot", action="store_true", help="do not draw the loss curve")
    t.add_argument("--force", action="store_true", help="overwrite existing output files")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    t.set_defaults(run=cmd_train)

    e = _sub(
        sub,
        "evaluate",
        "report a saved model's cost and accuracy (or RMSE) on data",
        "deltaprop evaluate model.safetensors mnist1d",
    )
    e.add_argument("model", metavar="MODEL")
    e.add_argument("data", metavar="DATA", help="a built-in dataset (its test split) or a file")
    e.set_defaults(run=cmd_evaluate)

    p = _sub(
        sub,
        "predict",
        "write a saved model's predictions for data as CSV",
        "deltaprop predict model.safetensors new.csv -o predictions.csv",
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA", help="a built-in dataset (its test split) or a file")
    p.add_argument("-o", "--output", help="CSV file to write (default: standard output)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(run=cmd_predict)

    g = _sub(
        sub,
        "gradcheck",
        "check backpropagation's gradient against central differences",
        "deltaprop gradcheck --layers 64-25-64 --weight-decay 1e-4 --examples 10",
    )
    _network_options(g)
    g.add_argument("--examples", type=int, default=10, help="m, random examples (default 10)")
    g.add_argument("--epsilon", type=float, default=1e-4, help="ε (default 1e-4, UFLDL)")
    g.add_argument("--threshold", type=float, default=1e-9, help="overall pass mark")
    g.add_argument(
        "--max-coords",
        type=int,
        default=None,
        help="check at most this many coordinates per W⁽ˡ⁾ and b⁽ˡ⁾",
    )
    g.set_defaults(run=cmd_gradcheck)

    d = _sub(
        sub, "datasets", "list the built-in datasets, or describe one", "deltaprop datasets mnist1d"
    )
    d.add_argument("name", nargs="?", metavar="NAME")
    d.set_defaults(run=cmd_datasets)

    i = _sub(
        sub,
        "info",
        "describe a saved model: architecture, cost, λ, training",
        "deltaprop info model.safetensors",
    )
    i.add_argument("model", metavar="MODEL")
    i.set_defaults(run=cmd_info)

    try:
        from .explain.command import add_parser as add_explain
    except ImportError:  # pragma: no cover - the explain package ships with deltaprop
        pass
    else:
        add_explain(sub)
    from .autoencoder.command import add_parsers as add_autoencoder

    add_autoencoder(sub)
    return parser


# --- train ------------------------------------------------------------------------------------

_TRAIN_KEYS = (
    "layers",
    "hidden",
    "activation",
    "output",
    "cost",
    "weight_decay",
    "init",
    "dtype",
    "optimizer",
    "learning_rate",
    "momentum",
    "epochs",
    "batch_size",
    "val_size",
    "test_size",
    "early_stopping",
    "seed",
    "target",
    "labels",
    "standardize",
    "checkpoint_every",
)


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


def cmd_train(args: argparse.Namespace) -> int:
    overrides = {k: getattr(args, k) for k in _TRAIN_KEYS}
    settings = app.resolve_settings(args.data, args.config, overrides)
    outputs = _outputs(args.output_model)
    if args.no_plot:
        outputs.pop("plot", None)
    if not args.force:
        for path in outputs.values():
            if path.exists():
                raise UsageError(f"{path}: already exists; pass --force to overwrite it")
    from .distributed import from_environment

    dp = from_environment()  # set when started as mpiexec -n P python -m mpi4py -m deltaprop
    root = dp is None or dp.is_root
    if dp is None:
        prepared = app.prepare(args.data, settings)
    else:
        prepared = app.prepare_shard(args.data, settings, dp)
    net = app.build_network(prepared, settings)
    checkpoint = args.checkpoint or (
        str(outputs["model"].with_suffix(".ckpt")) if outputs else "deltaprop-run.ckpt"
    )
    quiet = args.quiet or not root
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr))
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
    status = EXIT_OK
    try:
        history = app.run_training(
            net,
            prepared,
            settings,
            checkpoint=checkpoint,
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
    except TrainingDiverged as exc:
        print(f"deltaprop: {exc}", file=sys.stderr)
        history, status = exc.history, EXIT_FAILED
    if not root:
        return status  # rank 0 reports and writes the files
    test = app.metrics(net, prepared.task, prepared.X_test, prepared.Y_test)
    lines = [f"stopped: {history.stop_reason}" if status == EXIT_OK else "stopped: diverged"]
    if test:
        lines.append(f"test: {app.describe_metrics(test)}")
        lines += app.reference_lines(prepared.source, test.get("accuracy"))
    if outputs:
        outputs["model"].parent.mkdir(parents=True, exist_ok=True)
        meta = app.model_metadata(prepared, settings, history, test)
        save_model(net, outputs["model"], metadata=meta, force=True)
        atomic_write_bytes(outputs["history_json"], app.history_json(history).encode())
        atomic_write_bytes(outputs["history_csv"], history.to_csv().encode())
        written = [outputs["model"], outputs["history_json"], outputs["history_csv"]]
        if "plot" in outputs and len(history) > 0:
            from .plots import loss_curve_png

            title = (
                f"{prepared.source}: {'-'.join(map(str, net.layer_sizes))} "
                f"{net.activation.name}, {net.cost.name}, {settings['optimizer']}"
            )
            atomic_write_bytes(outputs["plot"], loss_curve_png(history, title))
            written.append(outputs["plot"])
        lines.append("wrote: " + ", ".join(str(p) for p in written))
    print("\n".join(lines))
    return status


# --- evaluate, predict, info -----------------------------------------------------------------


def _load(model: str) -> tuple[Network, dict[str, Any]]:
    net = load_model(model)
    extra = load_metadata(model).get("extra") or {}
    return net, extra if isinstance(extra, dict) else {}


def cmd_evaluate(args: argparse.Namespace) -> int:
    net, extra = _load(args.model)
    X, Y, what = app.data_for_model(args.data, net, extra, args.model)
    if Y is None:
        raise UsageError(f"{args.data}: no targets to evaluate against")
    result = app.metrics(net, extra.get("task", "regression"), X, Y)
    print(f"{args.model} on {what} ({len(X)} examples): {app.describe_metrics(result)}")
    if app.is_dataset(args.data):
        for line in app.reference_lines(args.data, result.get("accuracy")):
            print(line)
    return EXIT_OK


def cmd_predict(args: argparse.Namespace) -> int:
    net, extra = _load(args.model)
    X, _, _ = app.data_for_model(args.data, net, extra, args.model, with_targets=False)
    text = app.predictions_csv(
        net, X, extra.get("task", "regression"), [str(c) for c in extra.get("classes") or []]
    )
    if args.output is None:
        sys.stdout.write(text)
    else:
        if Path(args.output).exists() and not args.force:
            raise UsageError(f"{args.output}: already exists; pass --force to overwrite it")
        atomic_write_bytes(args.output, text.encode())
        print(f"wrote {len(X)} predictions to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    net, extra = _load(args.model)
    meta = load_metadata(args.model)
    print(f"{args.model}")
    print(f"  network      {'-'.join(map(str, net.layer_sizes))}, {net.n_params} parameters")
    print(f"  activations  hidden {net.activation.name}, output {net.output_activation.name}")
    print(f"  cost         {net.cost.name}, weight decay λ = {net.weight_decay:g}")
    print(f"  dtype        {net.dtype}, init {net.init}, seed {net.seed}")
    print(f"  saved by     deltaprop {meta.get('deltaprop_version', '?')}")
    if extra.get("data"):
        classes = extra.get("classes") or []
        task = extra.get("task")
        print(
            f"  trained on   {extra['data']} ({task}"
            + (f", {len(classes)} classes" if classes else "")
            + ")"
        )
    settings = extra.get("settings") or {}
    if settings:
        print(
            f"  optimizer    {settings.get('optimizer')}, α = {settings.get('learning_rate')}, "
            f"batch {settings.get('batch_size')}"
        )
    history = extra.get("history")
    if isinstance(history, dict) and history.get("epoch"):
        losses = history.get("train_loss") or []
        vals = [v for v in history.get("val_loss") or [] if v is not None and not _nan(v)]
        print(f"  epochs       {len(history['epoch'])} ({history.get('stop_reason', '')})")
        if losses:
            print(
                f"  final J      training {losses[-1]:.6g}"
                + (f", validation {vals[-1]:.6g}" if vals else "")
            )
        if history.get("best_epoch") is not None:
            print(f"  best epoch   {history['best_epoch']}")
    test = extra.get("test") or {}
    if test:
        print(f"  test         {app.describe_metrics(test)}")
    return EXIT_OK


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


# --- datasets, gradcheck ---------------------------------------------------------------------


def cmd_datasets(args: argparse.Namespace) -> int:
    if args.name is None:
        print(f"{'name':<15}{'task':<16}{'features':>9}{'classes':>9}  description")
        for info in DATASETS.values():
            k = "-" if info.n_classes is None else str(info.n_classes)
            print(f"{info.name:<15}{info.task:<16}{info.n_features:>9}{k:>9}  {info.description}")
        return EXIT_OK
    if args.name not in DATASETS:
        raise UsageError(f"unknown dataset {args.name!r}; choose one of: {', '.join(DATASETS)}")
    info = DATASETS[args.name]
    print(
        json.dumps(
            {
                "name": info.name,
                "description": info.description,
                "task": info.task,
                "n_features": info.n_features,
                "n_classes": info.n_classes,
                "source": info.source,
                "preprocessing": info.preprocessing,
                "train_defaults": app.PRESETS.get(info.name, {}),
                "references": app.REFERENCES.get(info.name, (None, []))[1],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return EXIT_OK


def _random_batch(net: Network, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Inputs in [0, 1] (like UFLDL's image patches) and targets the cost accepts."""
    if m < 1:
        raise UsageError(f"--examples must be at least 1, got {m}")
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
    net = Network(
        app.parse_sizes("--layers", args.layers),
        activation=args.activation,
        output_activation=args.output,
        cost=args.cost,
        weight_decay=args.weight_decay,
        dtype=args.dtype,
        seed=args.seed,
    )
    X, Y = _random_batch(net, args.examples, np.random.default_rng(args.seed + 1))
    res = check_gradient(
        net,
        X,
        Y,
        epsilon=args.epsilon,
        threshold=args.threshold,
        max_coords=args.max_coords,
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


# --- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except (UsageError, ValueError, RuntimeError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except OSError as exc:  # a file that cannot be written: disk full, permissions
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _fail(message: str, status: int) -> int:
    """Report an error in one line; under MPI, end every rank of the job with it."""
    mpi = sys.modules.get("mpi4py.MPI")
    world = getattr(mpi, "COMM_WORLD", None)
    if world is not None and world.Get_size() > 1:
        print(f"deltaprop: error (rank {world.Get_rank()}): {message}", file=sys.stderr, flush=True)
        world.Abort(status)  # the other ranks would wait for this one for ever
        return status
    print(f"deltaprop: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
