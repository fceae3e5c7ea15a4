"""The ``deltaprop`` command: argument parsing and error-to-exit-code mapping.

Exit status: 0 success; 1 a run that went wrong on its own terms (a gradient
check that failed, training that diverged: the model with the last finite
parameters and its history are still written); 2 bad input, reported in one line
on stderr naming the file, row, column or option, with no traceback; 130 Ctrl-C
during training, after a checkpoint of the last completed epoch is written (or
a line saying why it could not be); 141 the reader of standard output went away
(``deltaprop info m | head -3``), ended quietly as Unix tools do.

The subcommands' work is in :mod:`deltaprop.commands`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .commands import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
    cmd_datasets,
    cmd_evaluate,
    cmd_gradcheck,
    cmd_info,
    cmd_predict,
    cmd_train,
)
from .costs import COSTS
from .optim import OPTIMIZERS

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


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
        help="hidden activation: sigmoid, tanh, relu, leaky_relu, softplus, identity; "
        "or one per hidden layer, such as relu,tanh",
    )
    p.add_argument(
        "--output", default=None, help="output activation (default: what the cost needs)"
    )
    p.add_argument("--cost", default="squared_error", help=f"one of {', '.join(COSTS)}")
    p.add_argument("--weight-decay", type=float, default=0.0, help="λ of (λ/2) Σ W² (default 0)")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _model_and_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA", help="a built-in dataset (its test split) or a file")
    _device_options(p)


def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend", choices=["numpy", "torch", "cupy"], help="the array library (default numpy)"
    )
    p.add_argument(
        "--device", help="where it computes: cpu, cuda or cuda:N (default: the library's own)"
    )


def build_parser() -> argparse.ArgumentParser:
    """Every subcommand and option of ``deltaprop``.

    Over 60 lines because it declares each option once, with its help, in the order
    ``--help`` prints them; any split would only scatter that list.
    """
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
        help="a built-in dataset (see 'deltaprop datasets') or a .csv, .parquet, .npy, .npz or "
        "IDX file",
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
    t.add_argument(
        "--target",
        help="target column: a name, or an index (0-based, negative from the end; default -1)",
    )
    t.add_argument(
        "--task",
        choices=["classification", "regression"],
        help="override the task inferred from the target",
    )
    t.add_argument(
        "--missing",
        choices=["impute", "drop", "error"],
        help="missing feature cells: impute (median + indicator, or a 'missing' level; "
        "default), drop the rows, or stop with an error",
    )
    for flag, what in (
        ("--drop", "columns not to use as features"),
        ("--categorical", "one-hot these columns"),
        ("--numeric", "read these columns as numbers"),
    ):
        t.add_argument(flag, nargs="+", action="extend", metavar="COL", help=what)
    t.add_argument("--delimiter", help="CSV delimiter (default: detected: comma, semicolon, tab)")
    t.add_argument("--encoding", help="text encoding of a CSV (default UTF-8, with or without BOM)")
    t.add_argument("--layers", help="all layer sizes, input first, e.g. 40-100-100-10")
    t.add_argument("--hidden", help="hidden layer sizes only, e.g. 256-256, or none (default 100)")
    t.add_argument(
        "--activation",
        help="hidden activation (default tanh), or one per hidden layer: relu,tanh",
    )
    t.add_argument("--output", help="output activation (default by task)")
    t.add_argument("--cost", help=f"one of {', '.join(COSTS)} (default by task)")
    t.add_argument("--weight-decay", type=float, help="λ (default 1e-4)")
    t.add_argument("--init", help="ufldl, glorot or he (default by activation)")
    t.add_argument("--dtype", choices=["float32", "float64"])
    _device_options(t)
    t.add_argument("--optimizer", help=f"one of {', '.join(OPTIMIZERS)} (default adam)")
    t.add_argument("--learning-rate", type=float, help="α (default 1e-3)")
    t.add_argument(
        "--schedule",
        help="constant: α stays --learning-rate; cosine: α falls from --learning-rate to 0 "
        "along half a cosine over the --epochs (default constant; unused by L-BFGS)",
    )
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
    t.add_argument(
        "--dropout",
        metavar="P",
        help="drop each hidden unit with probability P while training (inverted dropout): "
        "one rate, or one per hidden layer such as 0.2,0.1 (default: off)",
    )
    t.add_argument(
        "--class-weight",
        metavar="balanced",
        help="balanced: weight each training example by n / (n_classes · its class's count); "
        "the validation J that early stopping watches stays unweighted",
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
    _model_and_data(e)
    e.set_defaults(run=cmd_evaluate)

    p = _sub(
        sub,
        "predict",
        "write a saved model's predictions for data as CSV",
        "deltaprop predict model.safetensors new.csv -o predictions.csv",
    )
    _model_and_data(p)
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
    g.add_argument(
        "--epsilon",
        type=float,
        default=1e-5,
        help="ε (default 1e-5; UFLDL's 1e-4 leaves an O(ε²) error near 1e-9 on small tanh and "
        "relu networks, which the 1e-9 pass mark then fails)",
    )
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
        "describe a saved model: task, columns, classes, network, training, scores",
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
    from .playground.command import add_parser as add_playground

    add_autoencoder(sub)
    add_playground(sub)
    return parser


# --- entry point -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        status = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (UsageError, ValueError, RuntimeError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except OSError as exc:  # a file that cannot be written: disk full, permissions
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so that the exit's flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced by one without a descriptor
        pass


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
