"""Self-taught learning and stacked autoencoders: UFLDL's exercises after the sparse autoencoder.

Self-taught learning. A sparse autoencoder learns features a⁽²⁾ from unlabelled
inputs; a softmax classifier is trained on the features of the labelled ones.
UFLDL's protocol on MNIST: digits 5–9 without their labels, digits 0–4 labelled
(half to train, half to test), 200 hidden units, ρ = 0.1, λ = 3e-3, β = 3, 400
L-BFGS iterations, then softmax with λ = 1e-4 for 100 iterations: 98.3 %.

Stacked autoencoders. Greedy layer-wise pre-training: autoencoder 1 learns
h¹ = f(W⁽¹⁾x + b⁽¹⁾) from the inputs, autoencoder 2 learns h² from h¹, and so on;
a softmax layer is trained on the last features. Stacking the encoders and the
softmax gives one network x → h¹ → h² → softmax whose J(W,b) (cross-entropy plus
weight decay) is then minimised over every layer at once by backpropagation:
fine-tuning. UFLDL's 784-200-200-10 on MNIST: 87.7 % before fine-tuning, 97.6 %
after.

The fine-tuned network is a plain :class:`~deltaprop.Network` trained by
``deltaprop.train(..., optimizer="lbfgs")``, so gradient checks, ``explain``,
model files and ``deltaprop evaluate`` work on it. Two deliberate differences
from UFLDL's code: the softmax layer has a bias b (UFLDL's softmax has none),
and the fine-tuning weight decay applies to every layer (UFLDL's
``stackedAECost`` decays only the softmax weights).

References: UFLDL Tutorial, "Self-Taught Learning", "Exercise: Implement deep
networks for digit classification"; Raina et al. 2007, "Self-taught learning";
Bengio et al. 2007, "Greedy layer-wise training of deep networks".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._arrays import to_numpy
from .._validate import check_count
from ..data import one_hot
from ..network import Network, make_rng
from ..training import History, train
from .cost import autoencoder_network, encode
from .fit import SparseHistory, train_sparse_autoencoder

Log = Callable[[str], None]
"""Receives a line about each stage of a pipeline; the library itself never prints."""


@dataclass(frozen=True)
class PretrainedLayer:
    """One autoencoder of a stack, trained on the previous layer's features."""

    autoencoder: Network  # [s_in, s_hidden, s_in]
    history: SparseHistory
    mean_activation: np.ndarray  # ρ̂ on the data it was trained on, (s_hidden,)


@dataclass(frozen=True)
class StackedResult:
    """What a self-taught or stacked pipeline produced, and its test accuracies.

    Attributes:
      network: the whole classifier x → h¹ → … → softmax; fine-tuned when
        ``finetune_history`` is not None, else the frozen features with the
        trained softmax on top.
      layers: the pre-trained autoencoders, first layer first.
      accuracy_before: test accuracy of the softmax on the frozen features.
      accuracy_after: test accuracy after fine-tuning (None without it).
      baseline_accuracy: test accuracy of a softmax on the raw inputs, trained
        with the same λ and iterations (None when not asked for).
      softmax_history, finetune_history: the L-BFGS histories.
    """

    network: Network
    layers: tuple[PretrainedLayer, ...]
    accuracy_before: float
    accuracy_after: float | None
    baseline_accuracy: float | None
    softmax_history: History
    finetune_history: History | None


def accuracy(net: Network, X: Any, labels: Any) -> float:
    """The fraction of rows whose largest output is at their label (0 … s_{n_l} − 1)."""
    out = to_numpy(net.predict(X))
    return float(np.mean(np.argmax(out, axis=1) == np.asarray(labels)))


def train_softmax(
    features: Any,
    labels: Any,
    n_classes: int,
    *,
    weight_decay: float = 1e-4,
    max_iter: int = 100,
    seed: int | np.random.Generator | None = 0,
) -> tuple[Network, History]:
    """Softmax regression on the features: the 2-layer network [s, k] by L-BFGS.

    J = −(1/m) Σᵢ Σ_c 1{yᵢ = c} log p_c(x⁽ⁱ⁾) + (λ/2) Σ W², p = softmax(Wx + b).
    """
    X = np.asarray(to_numpy(features), dtype=np.float64)
    net = Network(
        [X.shape[1], n_classes],
        output_activation="softmax",
        cost="cross_entropy",
        weight_decay=weight_decay,
        seed=seed,
    )
    Y = one_hot(np.asarray(labels), n_classes)
    history = train(net, X, Y, optimizer="lbfgs", epochs=max_iter)
    return net, history


def pretrain(
    X: Any,
    hidden: Sequence[int],
    *,
    sparsity_target: float = 0.1,
    beta: float = 3.0,
    weight_decay: float = 3e-3,
    max_iter: int = 400,
    seed: int | np.random.Generator | None = 0,
    log: Log | None = None,
    progress: bool = False,
) -> list[PretrainedLayer]:
    """Greedy layer-wise pre-training: one sparse autoencoder per hidden size, in turn.

    Autoencoder k is trained on hᵏ⁻¹ (h⁰ = X) and gives hᵏ = f(W⁽¹⁾hᵏ⁻¹ + b⁽¹⁾)
    to the next. The generator from ``seed`` initialises every autoencoder.
    """
    if not hidden:
        raise ValueError("hidden: need at least one hidden layer size")
    rng = make_rng(seed)
    features = X
    layers = []
    for k, size in enumerate(hidden, start=1):
        n_in = int(np.shape(features)[1])
        if log:
            log(f"pre-training autoencoder {k}: {n_in}-{size}-{n_in}")
        ae = autoencoder_network(n_in, size, weight_decay=weight_decay, seed=rng)
        history = train_sparse_autoencoder(
            ae,
            features,
            sparsity_target=sparsity_target,
            beta=beta,
            max_iter=max_iter,
            progress=progress,
        )
        features = encode(ae, features)
        rho_hat = np.asarray(to_numpy(features), dtype=np.float64).mean(axis=0)
        layers.append(PretrainedLayer(ae, history, rho_hat))
        if log:
            log(
                f"  J_sparse = {history.train_loss[-1]:.5g} after {len(history)} iterations, "
                f"mean ρ̂ = {rho_hat.mean():.4f}"
            )
    return layers


def stack(encoders: Sequence[Network], softmax: Network, *, weight_decay: float = 1e-4) -> Network:
    """One network x → h¹ → … → softmax with the encoders' W⁽¹⁾, b⁽¹⁾ and the softmax's W, b.

    Layer k of the result gets W[k] = encoders[k].W[0], b[k] = encoders[k].b[0];
    its last layer gets the softmax's. ``weight_decay`` is λ for fine-tuning.
    """
    sizes = [enc.layer_sizes[0] for enc in encoders] + list(softmax.layer_sizes)
    for k, enc in enumerate(encoders):
        if enc.layer_sizes[1] != sizes[k + 1]:
            raise ValueError(
                f"encoders[{k}] has {enc.layer_sizes[1]} hidden units, but the next layer "
                f"takes {sizes[k + 1]} inputs"
            )
    net = Network(
        sizes,
        activation="sigmoid",
        output_activation="softmax",
        cost="cross_entropy",
        weight_decay=weight_decay,
        seed=0,
    )
    for k, part in enumerate([*encoders, softmax]):
        net.W[k][...] = net.from_host(to_numpy(part.W[0]))
        net.b[k][...] = net.from_host(to_numpy(part.b[0]))
    return net


def stacked_autoencoder(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    hidden: Sequence[int] = (200, 200),
    X_unlabelled: Any = None,
    sparsity_target: float = 0.1,
    beta: float = 3.0,
    weight_decay: float = 3e-3,
    softmax_weight_decay: float = 1e-4,
    pretrain_iter: int = 400,
    softmax_iter: int = 100,
    finetune_iter: int = 400,
    n_classes: int | None = None,
    baseline: bool = False,
    seed: int = 0,
    log: Log | None = None,
    progress: bool = False,
) -> StackedResult:
    """Pre-train, train a softmax on the last features, stack, fine-tune; accuracies on test.

    UFLDL's four stages in order, in one function so that they read as the exercise
    does (each stage is one call: ``pretrain``, ``train_softmax``, ``stack``, ``train``).

    Args:
      X_train, y_train: labelled training inputs (m, n) and labels 0 … k − 1.
      X_test, y_test: the test inputs and labels.
      hidden: the hidden sizes, first layer first (UFLDL: 200, 200).
      X_unlabelled: pre-train on these inputs instead of X_train (self-taught
        learning); None pre-trains on X_train.
      sparsity_target, beta, weight_decay: ρ, β and λ of every autoencoder
        (UFLDL: 0.1, 3, 3e-3).
      softmax_weight_decay: λ of the softmax and of fine-tuning (UFLDL: 1e-4).
      pretrain_iter, softmax_iter, finetune_iter: L-BFGS iterations of each
        autoencoder, the softmax and fine-tuning (UFLDL: 400, 100, 400); 0
        fine-tuning iterations skips fine-tuning.
      n_classes: k; by default 1 + the largest label.
      baseline: also train a softmax on the raw inputs, for comparison.
      seed: seeds every initialisation.
      log: receives a line per stage (the library never prints).
      progress: per-iteration progress on stderr, as ``deltaprop.train``.
    """
    y_train, y_test = _labels("y_train", y_train), _labels("y_test", y_test)
    k = int(max(y_train.max(), y_test.max())) + 1 if n_classes is None else n_classes
    check_count("finetune_iter", finetune_iter, low=0)
    rng = make_rng(seed)
    source = X_train if X_unlabelled is None else X_unlabelled
    layers = pretrain(
        source,
        hidden,
        sparsity_target=sparsity_target,
        beta=beta,
        weight_decay=weight_decay,
        max_iter=pretrain_iter,
        seed=rng,
        log=log,
        progress=progress,
    )
    encoders = [layer.autoencoder for layer in layers]
    features = X_train
    for enc in encoders:
        features = encode(enc, features)
    if log:
        log(f"training softmax on {np.shape(features)[1]} features, {k} classes")
    softmax, softmax_history = train_softmax(
        features, y_train, k, weight_decay=softmax_weight_decay, max_iter=softmax_iter, seed=rng
    )
    net = stack(encoders, softmax, weight_decay=softmax_weight_decay)
    before = accuracy(net, X_test, y_test)
    if log:
        log(f"  test accuracy, softmax on the frozen features: {100 * before:.2f} %")
    after, finetune_history = None, None
    if finetune_iter > 0:
        if log:
            log(f"fine-tuning {'-'.join(map(str, net.layer_sizes))} for {finetune_iter} iterations")
        finetune_history = train(
            net,
            X_train,
            one_hot(y_train, k),
            optimizer="lbfgs",
            epochs=finetune_iter,
            progress=progress,
        )
        after = accuracy(net, X_test, y_test)
        if log:
            log(f"  test accuracy after fine-tuning: {100 * after:.2f} %")
    baseline_accuracy = None
    if baseline:
        raw, _ = train_softmax(
            X_train, y_train, k, weight_decay=softmax_weight_decay, max_iter=softmax_iter, seed=rng
        )
        baseline_accuracy = accuracy(raw, X_test, y_test)
        if log:
            log(f"  softmax on the raw inputs: {100 * baseline_accuracy:.2f} %")
    return StackedResult(
        net, tuple(layers), before, after, baseline_accuracy, softmax_history, finetune_history
    )


def self_taught_learning(
    X_unlabelled: Any,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    n_hidden: int = 200,
    baseline: bool = True,
    **options: Any,
) -> StackedResult:
    """Features from an autoencoder trained on unlabelled data, a softmax on labelled ones.

    The one-layer, not fine-tuned case of :func:`stacked_autoencoder`, pre-trained
    on ``X_unlabelled``; ``accuracy_before`` is the self-taught accuracy and
    ``baseline_accuracy`` that of a softmax on the raw inputs. UFLDL's defaults.

    Args:
      X_unlabelled: the inputs the autoencoder learns its features from.
      X_train, y_train, X_test, y_test: as for :func:`stacked_autoencoder`.
      n_hidden: the hidden layer's size (UFLDL: 200).
      baseline: also train a softmax on the raw inputs.
      options: ``sparsity_target``, ``beta``, ``weight_decay``,
        ``softmax_weight_decay``, ``pretrain_iter``, ``softmax_iter``, ``seed``,
        ``log``, ``progress``, as for :func:`stacked_autoencoder` (same defaults).
    """
    for name in ("hidden", "X_unlabelled", "finetune_iter"):
        if name in options:
            raise TypeError(f"self_taught_learning() got an unexpected keyword argument {name!r}")
    return stacked_autoencoder(
        X_train,
        y_train,
        X_test,
        y_test,
        hidden=(n_hidden,),
        X_unlabelled=X_unlabelled,
        finetune_iter=0,
        baseline=baseline,
        **options,
    )


def self_taught_split(
    X: Any, labels: Any, unlabelled_classes: Sequence[int] = (5, 6, 7, 8, 9)
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """UFLDL's split: (X_unlabelled, X_train, y_train, X_test, y_test, labelled classes).

    Rows whose label is in ``unlabelled_classes`` become unlabelled data. The
    others keep their order; the first half (rounded) trains, the rest tests,
    and their labels are renumbered 0 … k − 1 in increasing order of the class.
    """
    X, y = np.asarray(X), _labels("labels", labels)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but labels has {y.shape[0]}")
    hidden_set = {int(c) for c in unlabelled_classes}
    unlabelled = np.isin(y, list(hidden_set))
    classes = sorted(int(c) for c in np.unique(y[~unlabelled]))
    if not unlabelled.any() or len(classes) < 2:
        raise ValueError(
            f"unlabelled classes {sorted(hidden_set)}: need some unlabelled rows and at least "
            f"two labelled classes; the labels hold {sorted(int(c) for c in np.unique(y))}"
        )
    labelled = np.flatnonzero(~unlabelled)
    n_train = round(labelled.size / 2)
    renumber = np.searchsorted(classes, y[labelled])
    train_rows, test_rows = labelled[:n_train], labelled[n_train:]
    return (
        X[unlabelled],
        X[train_rows],
        renumber[:n_train],
        X[test_rows],
        renumber[n_train:],
        classes,
    )


def _labels(name: str, labels: Any) -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu" or y.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of integer labels, got shape {y.shape} "
            f"dtype {y.dtype}"
        )
    if y.min() < 0:
        raise ValueError(f"{name} must hold labels 0 … k − 1, found {y.min()}")
    return y.astype(np.int64)
