"""The ``deltaprop`` command: argument parsing and error-to-exit-code mapping only.

Exit status: 0 success, 1 a check that ran and failed, 2 bad input (one line on
stderr naming what was wrong, no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from .costs import COSTS
from .gradcheck import check_gradient
from .network import Network

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the command line; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def parse_layers(text: str) -> list[int]:
    """'64-25-64' -> [64, 25, 64]."""
    try:
        sizes = [int(part) for part in text.split("-")]
    except ValueError:
        raise UsageError(
            f"--layers: expected unit counts joined by '-', such as 64-25-64, got {text!r}"
        ) from None
    return sizes


def _add_network_options(p: argparse.ArgumentParser, layers: str) -> None:
    p.add_argument("--layers", default=layers, help=f"layer sizes, input first (default {layers})")
    p.add_argument("--activation", default="sigmoid", help="hidden activation (default sigmoid)")
    p.add_argument(
        "--output", default=None, help="output activation (default: what the cost needs)"
    )
    p.add_argument("--cost", default="squared_error", help=f"one of {', '.join(COSTS)}")
    p.add_argument("--weight-decay", type=float, default=0.0, help="λ (default 0)")
    p.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deltaprop",
        description="Fully-connected networks trained by backpropagation, every equation checked.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    g = sub.add_parser(
        "gradcheck",
        help="check backpropagation's gradient against central differences",
        description="Compare ∇J from backpropagation with central differences of J on random "
        "data, overall and per W⁽ˡ⁾, b⁽ˡ⁾.",
        epilog="example: deltaprop gradcheck --layers 64-25-64 --weight-decay 1e-4 --examples 10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_network_options(g, "64-25-64")
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
    return parser


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
        parse_layers(args.layers),
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.run(args))
    except (UsageError, ValueError) as exc:
        print(f"deltaprop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("deltaprop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
