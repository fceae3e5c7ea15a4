"""The ``deltaprop explain`` subcommand: its options, their checks, and where the output goes.

``add_parser(subparsers)`` registers the subcommand; its ``run(args)`` prints
the explanation (or writes it atomically with ``-o FILE``) and returns the exit
status: 0 when every check is ✓ and every claim holds, 1 otherwise. Bad options
raise ``ValueError`` naming the option, which ``deltaprop.cli`` reports in one
line with exit status 2. The options are parsed here and their values checked
by ``explain()`` itself (``deltaprop._validate``); a message about an argument
is rephrased about its option (``m`` -> ``--examples``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from .._validate import check_choice
from ..activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from ..costs import COSTS
from ..io import ModelFileExistsError, atomic_write_bytes
from .api import explain
from .explanation import FORMATS

T = TypeVar("T", int, float)

DESCRIPTION = """\
Work backpropagation through a small network with real numbers: every z, a, δ,
∂J/∂W and ∂J/∂b in UFLDL's notation, then with its numbers, each derivative
beside its finite difference (✓/✗), one step of gradient descent, and four short
experiments that answer why the ½, why the average over m, why weight decay, and
whether δ really is ∂J/∂z."""

EPILOG = """\
examples:
  deltaprop explain                                  the default 3-3-2 network, in the terminal
  deltaprop explain --format html -o explain.html    one self-contained page (MathML, SVG)
  deltaprop explain --layers 2-3-2 --activation tanh --weight-decay 1e-3 --examples 4 --unit 2
  deltaprop explain --format json --no-experiments   every number, for a notebook

exit status: 0 all checks pass, 1 a check or claim fails, 2 bad input"""

_OPTION = {
    "layer_sizes": "--layers",
    "layers": "--layers",
    "activation": "--activation",
    "output_activation": "--output",
    "cost": "--cost",
    "weight_decay": "--weight-decay",
    "learning_rate": "--learning-rate",
    "seed": "--seed",
    "m": "--examples",
    "unit": "--unit",
}


def add_parser(subparsers: Any) -> None:
    """Register ``explain`` on an argparse subparsers object (from ``add_subparsers``).

    Over 60 lines because it is the option list itself, one ``add_argument`` each,
    read top to bottom as ``--help`` shows it.
    """
    p = subparsers.add_parser(
        "explain",
        help="work backpropagation through with numbers, every derivative checked",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Values are parsed in run(), so that a bad one is a ValueError naming its option.
    p.add_argument(
        "--layers",
        default="3-3-2",
        metavar="S1-S2-…",
        help="layer sizes, input first (default 3-3-2)",
    )
    p.add_argument(
        "--activation",
        default="sigmoid",
        help=f"hidden activation: {', '.join(HIDDEN_ACTIVATIONS)} (default sigmoid), "
        "or one per hidden layer: relu,tanh",
    )
    p.add_argument(
        "--output",
        default=None,
        metavar="ACTIVATION",
        help="output activation (default: what the cost needs, else sigmoid)",
    )
    p.add_argument(
        "--cost", default="squared_error", help=f"{', '.join(COSTS)} (default squared_error)"
    )
    p.add_argument("--weight-decay", default="0", metavar="λ", help="λ ≥ 0 (default 0)")
    p.add_argument(
        "--learning-rate",
        default="0.5",
        metavar="α",
        help="α of the one step of gradient descent shown (default 0.5)",
    )
    p.add_argument(
        "--seed",
        default="0",
        metavar="N",
        help="seeds the network, the examples and the experiments (default 0)",
    )
    p.add_argument("--examples", default="1", metavar="M", help="m, random examples (default 1)")
    p.add_argument(
        "--unit",
        default=None,
        metavar="I",
        help="hidden unit whose δ is worked path by path (default 1)",
    )
    p.add_argument(
        "--format", default="text", metavar="FORMAT", help=f"{', '.join(FORMATS)} (default text)"
    )
    p.add_argument(
        "-o",
        dest="out",
        default=None,
        metavar="FILE",
        help="write to FILE (atomically) instead of standard output",
    )
    p.add_argument("--force", action="store_true", help="let -o replace an existing file")
    p.add_argument(
        "--no-experiments",
        action="store_true",
        help="the worked example only, without the four experiments",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Build the explanation from parsed options, print or write it; the exit status."""
    fmt = check_choice("--format", args.format, FORMATS)
    options = _explain_arguments(args)
    try:
        expl = explain(**options)
    except ValueError as exc:
        raise _as_option_error(exc) from None
    color = (
        fmt == "text" and args.out is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    )
    text = expl.to_text(color=color) if fmt == "text" else expl.render(fmt)
    if args.out is None:
        sys.stdout.write(text)
    else:
        _write(args.out, text, force=args.force)
        print(f"wrote {args.out}")
    return 0 if expl.ok else 1


def _explain_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options as explain()'s arguments: parsed here, checked by explain() itself."""
    activations, costs = tuple(ACTIVATIONS), tuple(COSTS)
    return {
        "layers": _layers(args.layers),
        "activation": [  # one name, or one per hidden layer: relu,tanh
            check_choice("--activation", name, activations) for name in args.activation.split(",")
        ]
        if "," in args.activation
        else check_choice("--activation", args.activation, activations),
        "output_activation": None
        if args.output is None
        else check_choice("--output", args.output, activations),
        "cost": check_choice("--cost", args.cost, costs),
        "weight_decay": _parse("--weight-decay", args.weight_decay, float, "a number"),
        "learning_rate": _parse("--learning-rate", args.learning_rate, float, "a number"),
        "seed": _parse("--seed", args.seed, int, "a whole number"),
        "m": _parse("--examples", args.examples, int, "a whole number"),
        "unit": None if args.unit is None else _parse("--unit", args.unit, int, "a whole number"),
        "experiments": not args.no_experiments,
    }


def _layers(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split("-")]
    except ValueError:
        raise ValueError(
            f"--layers: expected unit counts joined by '-', such as 3-3-2, got {text!r}"
        ) from None
    if len(sizes) < 2:
        raise ValueError(f"--layers: need at least an input and an output layer, got {text!r}")
    if min(sizes) < 1:
        raise ValueError(f"--layers: every layer needs at least 1 unit, got {text!r}")
    return sizes


def _parse(option: str, text: str, kind: Callable[[str], T], expected: str) -> T:
    """``text`` read as an int or a float; its range is checked where it is used."""
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{option}: expected {expected}, got {text!r}") from None


def _as_option_error(exc: ValueError) -> ValueError:
    """A library error about argument ``name`` rephrased about its option ``--name``."""
    message = str(exc)
    for name in sorted(_OPTION, key=len, reverse=True):
        if re.match(rf"{name}\b", message):
            return ValueError(_OPTION[name] + message[len(name) :])
    return exc


def _write(path: str, text: str, *, force: bool) -> None:
    if not force and os.path.exists(path):
        raise ValueError(f"-o: {path} exists; pass --force to replace it")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"-o: the directory {directory} does not exist")
    try:
        atomic_write_bytes(path, text.encode("utf-8"), force=force)
    except ModelFileExistsError:
        raise ValueError(f"-o: {path} exists; pass --force to replace it") from None
    except OSError as exc:
        raise ValueError(f"-o: cannot write {path} ({exc.strerror or exc})") from None
