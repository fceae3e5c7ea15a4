"""The ``deltaprop autoencoder`` and ``deltaprop stacked`` subcommands.

``add_parsers(subparsers)`` registers both; each ``run(args)`` returns the exit
status: 0 success, 1 a failed gradient check or a diverged run. Bad input
raises ``ValueError`` naming the option or file, which ``deltaprop.cli`` reports
in one line with exit status 2. Outputs are written atomically and an existing
file is never overwritten without ``--force``.

DATA is read by :func:`deltaprop.data.images.load_images` (digits, fashion-mnist,
a directory of MNIST's IDX files, or one IDX images file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_count, check_real
from ..app import parse_sizes
from ..data import one_hot
from ..data.images import load_images
from ..io import ModelFileExistsError, atomic_write_bytes
from ..network import make_rng
from ..training import TrainingDiverged
from .cost import (
    autoencoder_network,
    check_sparse_gradient,
    mean_activation,
    sparse_objective,
)
from .display import tiles_png
from .fit import train_sparse_autoencoder
from .patches import normalize_patches, sample_patches
from .stacked import self_taught_split, stacked_autoencoder

EXIT_OK, EXIT_FAILED = 0, 1

STACKED_DEFAULTS: dict[str, Any] = {"hidden": "200-200", "weight_decay": 3e-3}
"""UFLDL's settings for MNIST, used for every DATA without a preset."""

STACKED_PRESETS: dict[str, dict[str, Any]] = {"digits": {"hidden": "100-100", "weight_decay": 3e-4}}
"""Per-dataset settings. On the 8×8 digits, λ = 3e-3 lets the second autoencoder
settle on constant features (every unit at ρ̂ = ρ whatever the input: 22.8 % test
accuracy before fine-tuning); λ = 3e-4 keeps them informative (95.8 %)."""

UFLDL_STACKED = "UFLDL on MNIST, 784-200-200-10: 87.7 % before fine-tuning, 97.6 % after"
UFLDL_SELF_TAUGHT = "UFLDL on MNIST, 200 hidden, digits 5–9 unlabelled: 98.3 %"

AUTOENCODER_EPILOG = """\
examples:
  deltaprop autoencoder digits -o sae.safetensors        UFLDL's exercise: 10000 8×8 patches,
                                                         64-25-64, ρ = 0.01, λ = 1e-4, β = 3
  deltaprop autoencoder digits --check-gradient --iterations 50 --tiles tiles.png
  deltaprop autoencoder fashion-mnist --input images --hidden 196 --sparsity 0.1 \\
      --weight-decay 3e-3 -o fashion-sae.safetensors      whole 28×28 images, as for MNIST
  deltaprop autoencoder ~/mnist --input images --hidden 196 --sparsity 0.1 --weight-decay 3e-3

writes MODEL (safetensors) and MODEL's stem + .tiles.png: W⁽¹⁾'s rows as image tiles.
exit status: 0 done, 1 gradient check failed or training diverged, 2 bad input"""

STACKED_EPILOG = f"""\
examples:
  deltaprop stacked digits -o stacked.safetensors      greedy pre-training 64-100-100,
                                                       softmax, fine-tuning; accuracy before/after
  deltaprop stacked fashion-mnist --train-examples 10000
  deltaprop stacked ~/mnist                            UFLDL's exercise on MNIST's IDX files
  deltaprop stacked ~/mnist --self-taught              self-taught learning, 784-200: pre-train
                                                       on digits 5–9, classify 0–4 (half train,
                                                       half test)

references: {UFLDL_STACKED}; {UFLDL_SELF_TAUGHT}.
exit status: 0 done, 1 training diverged, 2 bad input"""


def add_parsers(subparsers: Any) -> None:
    """Register ``autoencoder`` and ``stacked`` on an argparse subparsers object.

    Over 60 lines because it declares every option of both subcommands, with its help.
    """
    a = subparsers.add_parser(
        "autoencoder",
        help="train a sparse autoencoder (UFLDL's exercise) and draw its features",
        description="Train a sparse autoencoder, J(W,b) + β Σ KL(ρ ‖ ρ̂_j), by L-BFGS on "
        "image patches or whole images, and draw W⁽¹⁾'s rows as image tiles.",
        epilog=AUTOENCODER_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument("data", metavar="DATA", help="digits, fashion-mnist, an IDX file or directory")
    _outputs(a)
    a.add_argument(
        "--input",
        choices=["patches", "images"],
        default="patches",
        help="random patches, normalised to [0.1, 0.9] (default), or whole images in [0, 1]",
    )
    a.add_argument("--patches", type=int, default=10_000, help="patches to sample (10000)")
    a.add_argument("--patch-size", type=int, default=8, help="patch side in pixels (8)")
    a.add_argument(
        "--no-normalize", action="store_true", help="keep the patches' pixels as they are"
    )
    a.add_argument("--hidden", type=int, default=25, help="hidden units s₂ (25)")
    _sparse_options(a, sparsity=0.01, weight_decay=1e-4)
    a.add_argument("--iterations", type=int, default=400, help="L-BFGS iterations (400)")
    a.add_argument(
        "--linear-decoder",
        action="store_true",
        help="identity output layer (UFLDL's linear decoder)",
    )
    a.add_argument(
        "--check-gradient",
        action="store_true",
        help="first check ∇J_sparse against central differences on 10 examples",
    )
    a.set_defaults(run=run_autoencoder)

    s = subparsers.add_parser(
        "stacked",
        help="stacked autoencoders or self-taught learning, accuracy before and after fine-tuning",
        description="Greedy layer-wise pre-training of sparse autoencoders, a softmax on the "
        "last features, then fine-tuning of the whole network by backpropagation; or, with "
        "--self-taught, features learned from unlabelled classes for the labelled ones.",
        epilog=STACKED_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("data", metavar="DATA", help="digits, fashion-mnist or an MNIST directory")
    _outputs(s)
    s.add_argument("--hidden", help="hidden sizes, first layer first (200-200; digits: 100-100)")
    _sparse_options(s, sparsity=0.1, weight_decay=None)
    s.add_argument(
        "--softmax-weight-decay", type=float, default=1e-4, help="λ of softmax and fine-tuning"
    )
    s.add_argument("--pretrain-iterations", type=int, default=400, help="per autoencoder (400)")
    s.add_argument("--softmax-iterations", type=int, default=100, help="(100)")
    s.add_argument("--finetune-iterations", type=int, default=400, help="0 skips (400)")
    s.add_argument(
        "--self-taught",
        action="store_true",
        help="pre-train on the --unlabelled classes, classify the others (no fine-tuning)",
    )
    s.add_argument("--unlabelled", default="5-9", help="classes used without labels (5-9)")
    s.add_argument("--train-examples", type=int, help="use this many training images (all)")
    s.add_argument("--no-baseline", action="store_true", help="skip the raw-input softmax")
    s.set_defaults(run=run_stacked)


def _outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output-model", metavar="MODEL", help="write the model here")
    p.add_argument("--tiles", metavar="PNG", help="the tiles image (default: beside MODEL)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.add_argument("--seed", type=int, default=0, help="random seed (0)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _sparse_options(
    p: argparse.ArgumentParser, *, sparsity: float, weight_decay: float | None
) -> None:
    p.add_argument("--sparsity", type=float, default=sparsity, help=f"ρ ({sparsity:g})")
    p.add_argument("--beta", type=float, default=3.0, help="β (3)")
    default = "3e-3; digits: 3e-4" if weight_decay is None else f"{weight_decay:g}"
    p.add_argument("--weight-decay", type=float, default=weight_decay, help=f"λ ({default})")


# --- data ------------------------------------------------------------------------------------


def _check_unit_range(name: str, X: np.ndarray) -> None:
    low, high = float(X.min()), float(X.max())
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name}: values lie in [{low:g}, {high:g}]; a sigmoid decoder reproduces [0, 1] "
            "only: rescale the data or pass --linear-decoder"
        )


def _sparse_values(args: argparse.Namespace) -> tuple[float, float, float]:
    """ρ, β and λ from the options, each checked under its option's name."""
    if not 0.0 < args.sparsity < 1.0:
        raise ValueError(f"--sparsity (ρ) must lie strictly between 0 and 1, got {args.sparsity}")
    beta = check_real("--beta", args.beta, low=0.0)
    return args.sparsity, beta, check_real("--weight-decay", args.weight_decay, low=0.0)


# --- outputs ---------------------------------------------------------------------------------


def _targets(args: argparse.Namespace) -> dict[str, Path]:
    """The files to write, refused up front if one exists and --force was not given."""
    out: dict[str, Path] = {}
    if args.output_model:
        model = Path(args.output_model)
        out["model"] = model
        stem = model.with_suffix("") if model.suffix == ".safetensors" else model
        out["tiles"] = stem.with_name(stem.name + ".tiles.png")
    if args.tiles:
        out["tiles"] = Path(args.tiles)
    if not args.force:
        for path in out.values():
            if path.exists():
                raise ModelFileExistsError(f"{path}: already exists; pass --force to overwrite it")
    return out


def _say(args: argparse.Namespace) -> Callable[[str], None]:
    if args.quiet:
        return lambda line: None
    return lambda line: print(line, file=sys.stderr)


# --- autoencoder ------------------------------------------------------------------------------


def run_autoencoder(args: argparse.Namespace) -> int:
    """Sample the data, optionally check the gradient, train, report, write model and tiles.

    Over 60 lines because it is the exercise's script, step after step, each step
    printing what it did; split up, its order would be harder to follow.
    """
    rho, beta, lam = _sparse_values(args)
    check_count("--hidden", args.hidden)
    check_count("--iterations", args.iterations)
    outputs = _targets(args)
    images = load_images(args.data, args.seed)
    n, h, w = images.train.shape
    if args.input == "patches":
        check_count("--patches", args.patches)
        p = check_count("--patch-size", args.patch_size)
        if p > min(h, w):
            raise ValueError(f"--patch-size is {p}, larger than {args.data}'s {h}×{w} images")
        X = sample_patches(images.train, args.patches, p, seed=args.seed)
        if not args.no_normalize:
            X = normalize_patches(X)
        shape = (p, p)
        what = f"{len(X)} {p}×{p} patches of {args.data}" + (
            "" if args.no_normalize else " (normalised to [0.1, 0.9])"
        )
    else:
        X, shape = images.train.reshape(n, h * w), (h, w)
        what = f"{n} {h}×{w} images of {args.data}"
    if not args.linear_decoder:
        _check_unit_range(f"{args.data}", X)

    net = autoencoder_network(
        X.shape[1],
        args.hidden,
        weight_decay=lam,
        linear_decoder=args.linear_decoder,
        seed=args.seed,
    )
    decoder = "linear" if args.linear_decoder else "sigmoid"
    print(f"sparse autoencoder {'-'.join(map(str, net.layer_sizes))} ({decoder} decoder) on {what}")
    print(f"ρ = {rho:g}, β = {beta:g}, λ = {lam:g}")
    if args.check_gradient:
        sample = X[make_rng(args.seed).choice(len(X), size=min(10, len(X)), replace=False)]
        many = net.n_params > 20_000
        check = check_sparse_gradient(
            net, sample, sparsity_target=rho, beta=beta, max_coords=200 if many else None
        )
        verdict = "PASS" if check.ok else "FAIL"
        print(
            f"gradient check on {len(sample)} examples, {check.n_checked} coordinates: "
            f"‖g − ĝ‖/‖g + ĝ‖ = {check.relative_error:.3e} ({verdict}, UFLDL's threshold 1e-9)"
        )
        if not check.ok:
            return EXIT_FAILED

    J0, _ = sparse_objective(net, X, sparsity_target=rho, beta=beta)(np.asarray(net.params))
    rho0 = float(mean_activation(net, X).mean())
    try:
        history = train_sparse_autoencoder(
            net,
            X,
            sparsity_target=rho,
            beta=beta,
            max_iter=args.iterations,
            progress=not args.quiet,
        )
    except TrainingDiverged as exc:
        print(f"deltaprop: {exc}", file=sys.stderr)
        return EXIT_FAILED
    rho_hat = mean_activation(net, X)
    print(
        f"J_sparse {J0:.5g} → {history.train_loss[-1]:.5g} after {len(history)} iterations "
        f"({history.stop_reason})"
    )
    data, decay, sparsity = (
        history.train_data[-1],
        history.train_decay[-1],
        history.train_sparsity[-1],
    )
    print(f"  reconstruction {data:.5g}, weight decay {decay:.5g}, sparsity {sparsity:.5g}")
    print(
        f"mean ρ̂ {rho0:.4f} → {rho_hat.mean():.4f} (target ρ = {rho:g}); "
        f"ρ̂_j from {rho_hat.min():.4f} to {rho_hat.max():.4f}"
    )
    written = []
    if "model" in outputs:
        outputs["model"].parent.mkdir(parents=True, exist_ok=True)
        metadata = {
            "kind": "sparse-autoencoder",
            "data": args.data,
            "task": "autoencoder",
            "input": args.input,
            "image_shape": list(shape),
            "normalized": args.input == "patches" and not args.no_normalize,
            "sparsity_target": rho,
            "beta": beta,
            "mean_activation": rho_hat.tolist(),
            "history": history.to_dict(),
        }
        net.save(outputs["model"], metadata=metadata, force=args.force)
        written.append(outputs["model"])
    if "tiles" in outputs:
        atomic_write_bytes(outputs["tiles"], tiles_png(net.W[0], shape), force=args.force)
        written.append(outputs["tiles"])
    if written:
        print("wrote: " + ", ".join(map(str, written)))
    return EXIT_OK


# --- stacked ----------------------------------------------------------------------------------


def _classes(option: str, text: str) -> list[int]:
    """'5-9' → [5, 6, 7, 8, 9]; '1,3,5' → [1, 3, 5]."""
    try:
        if "-" in text:
            first, last = (int(v) for v in text.split("-"))
            return list(range(first, last + 1))
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{option}: expected classes such as 5-9 or 1,3,5, got {text!r}") from None


def run_stacked(args: argparse.Namespace) -> int:
    """Self-taught learning or stacked autoencoders on DATA; accuracies on its test images.

    Over 60 lines for the same reason as :func:`run_autoencoder`: one script, in order.
    """
    preset = {**STACKED_DEFAULTS, **STACKED_PRESETS.get(args.data, {})}
    hidden = parse_sizes("--hidden", args.hidden or preset["hidden"])
    if args.self_taught and args.hidden is None:
        hidden = hidden[:1]  # UFLDL's self-taught learning has one hidden layer
    if args.weight_decay is None:
        args.weight_decay = preset["weight_decay"]
    rho, beta, lam = _sparse_values(args)
    check_real("--softmax-weight-decay", args.softmax_weight_decay, low=0.0)
    for option in ("pretrain_iterations", "softmax_iterations"):
        check_count("--" + option.replace("_", "-"), getattr(args, option))
    check_count("--finetune-iterations", args.finetune_iterations, low=0)
    outputs = _targets(args)
    images = load_images(args.data, args.seed)
    if images.train_labels is None or images.test is None or images.test_labels is None:
        raise ValueError(f"DATA: {args.data} has no labels; stacked needs labelled images")
    n, h, w = images.train.shape
    X, y = images.train.reshape(n, h * w), images.train_labels
    if args.train_examples is not None:
        keep = check_count("--train-examples", args.train_examples)
        rows = np.sort(make_rng(args.seed).permutation(n)[: min(keep, n)])
        X, y = X[rows], y[rows]
    _check_unit_range(args.data, X)

    if args.self_taught:
        unlabelled = _classes("--unlabelled", args.unlabelled)
        X_pre, X_train, y_train, X_test, y_test, classes = self_taught_split(X, y, unlabelled)
        finetune = 0
        print(
            f"self-taught learning {h * w}-{'-'.join(map(str, hidden))} → softmax on "
            f"{args.data}: {len(X_pre)} unlabelled images (classes {args.unlabelled}), "
            f"{len(X_train)} training and {len(X_test)} test images of classes "
            f"{', '.join(map(str, classes))}"
        )
    else:
        X_pre, X_train, y_train = None, X, y
        X_test, y_test = images.test.reshape(len(images.test), h * w), images.test_labels
        classes = list(range(int(max(y.max(), y_test.max())) + 1))
        finetune = args.finetune_iterations
        print(
            f"stacked autoencoder {'-'.join(map(str, [h * w, *hidden, len(classes)]))} on "
            f"{args.data}: {len(X_train)} training, {len(X_test)} test images"
        )
    print(f"ρ = {rho:g}, β = {beta:g}, λ = {lam:g}; softmax λ = {args.softmax_weight_decay:g}")
    try:
        result = stacked_autoencoder(
            X_train,
            y_train,
            X_test,
            y_test,
            hidden=hidden,
            X_unlabelled=X_pre,
            sparsity_target=rho,
            beta=beta,
            weight_decay=lam,
            softmax_weight_decay=args.softmax_weight_decay,
            pretrain_iter=args.pretrain_iterations,
            softmax_iter=args.softmax_iterations,
            finetune_iter=finetune,
            n_classes=len(classes),
            baseline=not args.no_baseline,
            seed=args.seed,
            log=_say(args),
            progress=not args.quiet,
        )
    except TrainingDiverged as exc:
        print(f"deltaprop: {exc}", file=sys.stderr)
        return EXIT_FAILED

    label = "with self-taught features" if args.self_taught else "before fine-tuning"
    lines = [(f"test accuracy {label}", result.accuracy_before)]
    if result.accuracy_after is not None:
        lines.append(("test accuracy after fine-tuning", result.accuracy_after))
    if result.baseline_accuracy is not None:
        lines.append(("softmax on the raw pixels", result.baseline_accuracy))
    for text, value in lines:
        print(f"{text:<40}{100 * value:6.2f} %")
    print(f"  ({UFLDL_SELF_TAUGHT if args.self_taught else UFLDL_STACKED})")

    written = []
    if "model" in outputs:
        outputs["model"].parent.mkdir(parents=True, exist_ok=True)
        net = result.network
        data_term, decay = net.cost_terms(X_test, one_hot(y_test, net.layer_sizes[-1]))
        final = result.accuracy_before if result.accuracy_after is None else result.accuracy_after
        history = result.finetune_history
        metadata = {
            "kind": "self-taught" if args.self_taught else "stacked-autoencoder",
            "data": args.data,
            "task": "classification",
            "classes": [str(c) for c in classes],
            "settings": {"seed": args.seed, "optimizer": "lbfgs", "hidden": hidden},
            "sparsity_target": rho,
            "beta": beta,
            "pretrain_weight_decay": lam,
            "history": None if history is None else history.to_dict(),
            "test": {"loss": data_term + decay, "data_term": data_term, "accuracy": final},
            "accuracy_before_finetuning": result.accuracy_before,
            "accuracy_after_finetuning": result.accuracy_after,
            "baseline_softmax_accuracy": result.baseline_accuracy,
        }
        net.save(outputs["model"], metadata=metadata, force=args.force)
        written.append(outputs["model"])
    if "tiles" in outputs:
        png = tiles_png(result.layers[0].autoencoder.W[0], (h, w))
        atomic_write_bytes(outputs["tiles"], png, force=args.force)
        written.append(outputs["tiles"])
    if written:
        print("wrote: " + ", ".join(map(str, written)))
    return EXIT_OK
