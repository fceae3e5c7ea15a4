"""Sparse autoencoders, self-taught learning and stacked autoencoders (UFLDL's exercises)."""

from __future__ import annotations

import argparse
import gzip
import re
import struct

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import deltaprop as dp
from deltaprop.autoencoder import (
    autoencoder_network,
    check_sparse_gradient,
    encode,
    grid_shape,
    kl_divergence,
    mean_activation,
    normalize_patches,
    sample_patches,
    self_taught_learning,
    self_taught_split,
    sparse_cost_and_grad,
    sparse_objective,
    stack,
    stacked_autoencoder,
    tile_array,
    tiles_png,
    train_softmax,
    train_sparse_autoencoder,
)
from deltaprop.autoencoder import cost as cost_module
from deltaprop.autoencoder.command import add_parsers
from deltaprop.autoencoder.estimator import SparseAutoencoder
from deltaprop.data import load_dataset


@pytest.fixture(scope="module")
def digits():
    """The digits' training part (train + validation) and test split, pixels in [0, 1]."""
    ds = load_dataset("digits", seed=0)
    X = np.concatenate([ds.X_train, ds.X_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    return X, y, ds.X_test, ds.y_test


@pytest.fixture(scope="module")
def patches(digits):
    """UFLDL's preprocessing on the digits: 8×8 patches normalised to [0.1, 0.9]."""
    return normalize_patches(sample_patches(digits[0].reshape(-1, 8, 8), 2000, 8, seed=0))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- the cost and its gradient --------------------------------------------------------------


def test_gradient_check_at_the_tutorials_sizes(patches):
    # UFLDL's exercise: 64 visible, 25 hidden, ρ = 0.01, λ = 1e-4, β = 3, 10 patches, ε = 1e-4;
    # its threshold for a correct implementation is 1e-9.
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
    res = check_sparse_gradient(net, patches[:10], sparsity_target=0.01, beta=3.0, epsilon=1e-4)
    assert res.n_checked == net.n_params == 3289
    assert res.relative_error < 1e-9, res.relative_error
    assert res.ok and [p.name for p in res.per_layer] == ["W1", "W2", "b1", "b2"]


def test_gradient_check_linear_decoder_float32_and_trained_weights():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(10, 16))  # a linear decoder takes inputs outside [0, 1]
    net = autoencoder_network(16, 5, linear_decoder=True, dtype="float32", seed=1)
    theta = rng.normal(scale=0.3, size=net.n_params)  # non-zero biases, away from the init
    res = check_sparse_gradient(net, X, sparsity_target=0.05, beta=2.0, params=theta)
    assert res.relative_error < 1e-9 and res.ok  # evaluated in float64 whatever the dtype


def test_a_planted_wrong_sparsity_derivative_is_caught(patches, monkeypatch):
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
    right = cost_module.kl_delta
    monkeypatch.setattr(
        cost_module, "kl_delta", lambda rho, beta, r, rc: 1.01 * right(rho, beta, r, rc)
    )
    res = check_sparse_gradient(net, patches[:10], max_coords=20)
    assert not res.ok and res.relative_error > 1e-4


def test_agrees_with_autograd():
    autograd = pytest.importorskip("autograd")
    anp = pytest.importorskip("autograd.numpy")
    s1, s2, rho, beta, lam = 6, 4, 0.05, 3.0, 1e-3

    def J_sparse(theta, X):  # the docstring's equation, written independently
        W1 = anp.reshape(theta[: s2 * s1], (s2, s1))
        W2 = anp.reshape(theta[s2 * s1 : 2 * s2 * s1], (s1, s2))
        b1, b2 = theta[2 * s2 * s1 : 2 * s2 * s1 + s2], theta[2 * s2 * s1 + s2 :]
        a2 = 1 / (1 + anp.exp(-(anp.dot(X, W1.T) + b1)))
        a3 = 1 / (1 + anp.exp(-(anp.dot(a2, W2.T) + b2)))
        rho_hat = anp.mean(a2, axis=0)
        kl = rho * anp.log(rho / rho_hat) + (1 - rho) * anp.log((1 - rho) / (1 - rho_hat))
        data = 0.5 * anp.sum((a3 - X) ** 2) / X.shape[0]
        return data + lam / 2 * (anp.sum(W1**2) + anp.sum(W2**2)) + beta * anp.sum(kl)

    rng = np.random.default_rng(7)
    net = autoencoder_network(s1, s2, weight_decay=lam, seed=0)
    theta = rng.normal(scale=0.5, size=net.n_params)
    X = rng.uniform(size=(9, s1))
    J, g = sparse_objective(net, X, sparsity_target=rho, beta=beta)(theta)
    assert J == pytest.approx(float(J_sparse(theta, X)), rel=1e-12)
    g_oracle = autograd.grad(J_sparse)(theta, X)
    assert np.linalg.norm(g - g_oracle) <= 1e-10 * np.linalg.norm(g_oracle)


def test_j_sparse_is_the_networks_j_plus_beta_times_kl(patches):
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=2)
    X = patches[:50]
    J, _ = sparse_objective(net, X, sparsity_target=0.01, beta=3.0)(np.asarray(net.params))
    rho_hat = mean_activation(net, X)
    assert rho_hat.mean() == pytest.approx(0.5, abs=0.1)  # the initial ρ̂ is near σ(0)
    assert J == pytest.approx(
        sum(net.cost_terms(X, X)) + 3.0 * float(np.sum(kl_divergence(np, 0.01, rho_hat))),
        rel=1e-12,
    )
    # With β = 0 the sparse cost is the seed's J(W,b), and δ⁽²⁾ backprop's own.
    J0, g0 = sparse_objective(net, X, sparsity_target=0.01, beta=0.0)(np.asarray(net.params))
    J_plain, g_plain = net.cost_and_grad(X, X)
    assert J0 == pytest.approx(J_plain, rel=1e-14)
    np.testing.assert_allclose(g0, g_plain, rtol=1e-12, atol=1e-15)


def test_kl_divergence_by_hand():
    # KL(0.1 ‖ 0.5) = 0.1 log(0.1/0.5) + 0.9 log(0.9/0.5) = −0.160944 + 0.529008 = 0.368064
    assert float(kl_divergence(np, 0.1, np.array(0.5))) == pytest.approx(0.368064, abs=1e-6)
    assert float(kl_divergence(np, 0.3, np.array(0.3))) == 0.0


def test_a_unit_saturated_on_every_example_keeps_j_finite():
    # b₁ = 50: a = σ(50 + …) rounds to 1 on every example, but 1 − ρ̂ = mean σ(−z) ≈ 2e-22.
    net = autoencoder_network(4, 2, seed=0)
    net.b[0][0] = 50.0
    X = np.full((3, 4), 0.5)
    W, b = net.W, net.b
    grad = np.zeros(net.n_params)
    dW, db = net.unpack(grad)
    terms = sparse_cost_and_grad(np, W, b, net.activations, net.cost, 0.0, 0.01, 3.0, X, dW, db)
    z = 50.0 + X[0] @ W[0][0]
    assert float(terms.rho_hat[0]) == 1.0
    assert float(terms.rho_hat_c[0]) == pytest.approx(np.exp(-z), rel=1e-12)
    assert np.isfinite(terms.total) and np.all(np.isfinite(grad))
    # KL(ρ ‖ ρ̂₀) = ρ log ρ + (1 − ρ)(log(1 − ρ) − log σ(−z)), log σ(−z) = −z − log1p(e^(−z))
    kl0 = 0.01 * np.log(0.01) + 0.99 * (np.log(0.99) + z + np.log1p(np.exp(-z)))
    kl1 = float(kl_divergence(np, 0.01, terms.rho_hat[1]))
    assert float(terms.sparsity) == pytest.approx(3.0 * (kl0 + kl1), rel=1e-12)


def test_bad_networks_and_arguments_are_refused(patches):
    with pytest.raises(ValueError, match=r"\[s1, s2, s1\]"):
        check_sparse_gradient(dp.Network([64, 25, 10]), patches[:5])
    with pytest.raises(ValueError, match="'sigmoid'"):
        check_sparse_gradient(dp.Network([64, 25, 64], activation="tanh"), patches[:5])
    net = autoencoder_network(64, 25)
    with pytest.raises(ValueError, match=r"sparsity_target \(ρ\) must lie strictly between"):
        train_sparse_autoencoder(net, patches, sparsity_target=1.0)
    with pytest.raises(ValueError, match="beta"):
        train_sparse_autoencoder(net, patches, beta=-1.0)
    with pytest.raises(ValueError, match="X has 63 features"):
        train_sparse_autoencoder(net, patches[:, :63])


# --- training ---------------------------------------------------------------------------------


def test_rho_hat_moves_toward_rho_during_training(patches):
    net = autoencoder_network(64, 25, weight_decay=1e-4, seed=0)
    before = mean_activation(net, patches)
    history = train_sparse_autoencoder(net, patches, sparsity_target=0.01, beta=3.0, max_iter=30)
    after = mean_activation(net, patches)
    assert len(history) == 30 and not history.converged
    assert np.all(np.abs(after - 0.01) < 0.2 * np.abs(before - 0.01))  # every unit, ρ̂_j → ρ
    assert history.mean_activation[-1] == pytest.approx(after.mean(), rel=1e-12)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.train_loss[-1] == pytest.approx(
        history.train_data[-1] + history.train_decay[-1] + history.train_sparsity[-1]
    )


def test_a_callback_can_stop_training(patches):
    net = autoencoder_network(64, 10, seed=0)
    seen = []
    history = train_sparse_autoencoder(
        net,
        patches[:200],
        max_iter=50,
        callbacks=[lambda info: seen.append(info.epoch) or 3 in seen],
    )
    assert seen == [0, 1, 2, 3] and len(history) == 4
    assert history.stop_reason == "stopped by a callback"


# --- data and pictures ------------------------------------------------------------------------


def test_patches_are_image_windows_and_normalised_as_ufldl():
    images = np.arange(3 * 5 * 5, dtype=float).reshape(3, 5, 5)
    P = sample_patches(images, 40, 3, seed=1)
    windows = {
        images[i, r : r + 3, c : c + 3].tobytes()
        for i in range(3)
        for r in range(3)
        for c in range(3)
    }
    assert P.shape == (40, 9) and all(p.tobytes() in windows for p in P)
    np.testing.assert_array_equal(P, sample_patches(images, 40, 3, seed=1))  # seeded
    N = normalize_patches(np.random.default_rng(0).uniform(size=(500, 64)))
    assert N.min() >= 0.1 and N.max() <= 0.9
    # Per patch: x − x̄ over σ = 3 std, then 0.1 + 0.4 (· + 1); no value here is clipped.
    x = np.array([[0.0, 1.0], [1.0, 0.0]])  # x − x̄ = ±0.5, std (n − 1) = 0.57735, σ = 1.73205
    np.testing.assert_allclose(
        normalize_patches(x), 0.1 + 0.4 * (1 + np.array([[-1, 1], [1, -1]]) * 0.5 / 1.7320508)
    )
    with pytest.raises(ValueError, match="patch_size is 6, larger than the 5×5 images"):
        sample_patches(images, 2, 6)


def test_tiles_follow_display_network():
    assert grid_shape(25) == (5, 5) and grid_shape(200) == (12, 17) and grid_shape(10) == (3, 4)
    W = np.random.default_rng(0).normal(size=(25, 64))
    grid = tile_array(W)
    assert grid.shape == (46, 46)  # 1 + 5 (8 + 1) pixels on each side
    assert np.all(grid[0, :] == -1) and np.all(grid[:, 9] == -1)  # the borders are black
    centred = W - W.mean()
    np.testing.assert_allclose(
        grid[1:9, 1:9], (centred[0] / np.abs(centred[0]).max()).reshape(8, 8)
    )
    png = tiles_png(W, scale=3)
    assert png_size(png) == (138, 138)
    wide = tiles_png(np.ones((200, 28 * 28)), scale=1)  # 12 rows × 17 columns of 28×28
    assert png_size(wide) == (1 + 17 * 29, 1 + 12 * 29)
    with pytest.raises(ValueError, match="not a square image"):
        tile_array(np.ones((4, 10)))


# --- self-taught learning and stacked autoencoders ------------------------------------------------


def test_self_taught_learning_end_to_end_on_digits(digits):
    X, y, _, _ = digits
    X_u, X_tr, y_tr, X_te, y_te, classes = self_taught_split(X, y, (5, 6, 7, 8, 9))
    assert classes == [0, 1, 2, 3, 4] and set(np.unique(y_tr)) == {0, 1, 2, 3, 4}
    assert len(X_u) + len(X_tr) + len(X_te) == len(X) and abs(len(X_tr) - len(X_te)) <= 1
    result = self_taught_learning(
        X_u, X_tr, y_tr, X_te, y_te, n_hidden=25, pretrain_iter=30, softmax_iter=30, seed=0
    )
    assert result.network.layer_sizes == (64, 25, 5) and result.accuracy_after is None
    assert result.accuracy_before > 0.8  # chance is 0.2
    assert result.baseline_accuracy is not None and result.baseline_accuracy > 0.9


def test_fine_tuning_raises_accuracy_over_the_frozen_features(digits):
    X, y, X_test, y_test = digits
    result = stacked_autoencoder(
        X[:600],
        y[:600],
        X_test,
        y_test,
        hidden=(25, 25),
        weight_decay=3e-4,
        pretrain_iter=25,
        softmax_iter=25,
        finetune_iter=50,
        seed=0,
    )
    assert result.network.layer_sizes == (64, 25, 25, 10)
    assert result.accuracy_after is not None
    assert result.accuracy_after > result.accuracy_before + 0.05
    assert result.accuracy_after > 0.85
    assert result.finetune_history is not None and len(result.finetune_history) == 50


def test_stack_copies_the_pretrained_weights(digits):
    X, y = digits[0][:100], digits[1][:100]
    ae = autoencoder_network(64, 8, seed=0)
    softmax, _ = train_softmax(encode(ae, X), y, 10, max_iter=5)
    net = stack([ae], softmax)
    np.testing.assert_array_equal(net.W[0], ae.W[0])
    np.testing.assert_array_equal(net.b[1], softmax.b[0])
    np.testing.assert_allclose(net.predict(X), softmax.predict(encode(ae, X)), rtol=1e-12)
    with pytest.raises(ValueError, match="8 hidden units, but the next layer takes 64"):
        stack([ae, ae], softmax)


# --- the scikit-learn transformer ---------------------------------------------------------------


def test_transformer_in_a_pipeline(digits):
    X, y, X_test, y_test = digits
    sae = SparseAutoencoder(
        n_hidden=32, sparsity_target=0.1, weight_decay=3e-4, max_iter=40, random_state=0
    )
    model = make_pipeline(sae, LogisticRegression(max_iter=2000))
    with pytest.warns(ConvergenceWarning, match="raise max_iter"):
        model.fit(X[:800], y[:800])
    assert model.score(X_test, y_test) > 0.85
    assert sae.transform(X_test).shape == (len(X_test), 32)
    assert sae.components_.shape == (32, 64) and sae.n_iter_ == 40
    assert list(sae.get_feature_names_out()[:2]) == ["sparseautoencoder0", "sparseautoencoder1"]
    np.testing.assert_allclose(sae.transform(X_test), encode(sae.network_, X_test))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([SparseAutoencoder(max_iter=5, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# --- the command line -----------------------------------------------------------------------------


def command(argv, capsys):
    parser = argparse.ArgumentParser(prog="deltaprop")
    add_parsers(parser.add_subparsers())
    args = parser.parse_args([str(a) for a in argv])
    code = args.run(args)
    return code, capsys.readouterr().out


def idx(array: np.ndarray) -> bytes:
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    return head + array.astype(">u1").tobytes()


def test_autoencoder_command_checks_trains_and_writes(tmp_path, capsys):
    model = tmp_path / "sae.safetensors"
    argv = ["autoencoder", "digits", "--patches", "500", "--hidden", "16", "--iterations", "10"]
    code, out = command([*argv, "--check-gradient", "-o", model, "--quiet"], capsys)
    assert code == 0
    assert "64-16-64 (sigmoid decoder) on 500 8×8 patches of digits" in out
    assert "PASS" in out and "mean ρ̂ 0.5" in out
    net = dp.load(model)
    assert net.layer_sizes == (64, 16, 64)
    assert dp.load_metadata(model)["extra"]["kind"] == "sparse-autoencoder"
    tiles = tmp_path / "sae.tiles.png"
    assert png_size(tiles.read_bytes()) == (4 * 37, 4 * 37)  # 4 × 4 tiles of 8×8, 1-pixel borders
    with pytest.raises(ValueError, match="already exists; pass --force"):
        command([*argv, "-o", model, "--quiet"], capsys)
    assert command([*argv, "-o", model, "--quiet", "--force"], capsys)[0] == 0


def test_autoencoder_command_on_an_idx_file(tmp_path, capsys):
    images = np.random.default_rng(0).integers(0, 256, size=(12, 10, 10))
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(idx(images))
    png = tmp_path / "t.png"
    argv = ["autoencoder", path, "--input", "images", "--hidden", "4", "--iterations", "3"]
    code, out = command([*argv, "--tiles", png, "--quiet"], capsys)
    assert code == 0 and "12 10×10 images" in out
    assert png_size(png.read_bytes()) == (4 * 23, 4 * 23)  # 2 × 2 tiles of 10×10


@pytest.mark.parametrize(
    "argv,words",
    [
        (
            ["autoencoder", "digits", "--sparsity", "1.5"],
            "--sparsity (ρ) must lie strictly between",
        ),
        (
            ["autoencoder", "digits", "--patch-size", "9"],
            "--patch-size is 9, larger than digits's 8×8",
        ),
        (["autoencoder", "iris"], "'iris' is not an image dataset"),
        (["autoencoder", "no/such/file"], "no/such/file: no such file or directory"),
        (["stacked", "digits", "--hidden", "10-x"], "--hidden: expected unit counts joined by '-'"),
        (
            ["stacked", "digits", "--weight-decay", "-1"],
            "--weight-decay must be a finite number at least 0.0, got -1.0",
        ),
    ],
)
def test_command_errors_name_the_option(argv, words, capsys):
    with pytest.raises(ValueError, match=re.escape(words)):
        command(argv, capsys)


def test_stacked_command_on_digits_reports_before_and_after(tmp_path, capsys):
    model = tmp_path / "stacked.safetensors"
    argv = ["stacked", "digits", "--hidden", "12-12", "--train-examples", "300", "--quiet"]
    iters = [
        "--pretrain-iterations",
        "8",
        "--softmax-iterations",
        "8",
        "--finetune-iterations",
        "15",
    ]
    code, out = command([*argv, *iters, "-o", model], capsys)
    assert code == 0 and "stacked autoencoder 64-12-12-10 on digits: 300 training" in out
    assert "test accuracy before fine-tuning" in out and "test accuracy after fine-tuning" in out
    extra = dp.load_metadata(model)["extra"]
    assert extra["task"] == "classification" and extra["accuracy_after_finetuning"] > 0.5
    assert dp.load(model).layer_sizes == (64, 12, 12, 10)
    assert (tmp_path / "stacked.tiles.png").exists()
    code, out = command([*argv, *iters, "--self-taught", "--no-baseline"], capsys)
    assert code == 0 and "self-taught learning 64-12-12 → softmax on digits" in out
    assert "with self-taught features" in out and "after fine-tuning" not in out


def test_stacked_command_on_an_mnist_directory(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for part, n in (("train", 40), ("t10k", 20)):
        (tmp_path / f"{part}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(idx(rng.integers(0, 256, size=(n, 10, 10))))
        )
        (tmp_path / f"{part}-labels.idx1-ubyte").write_bytes(idx(np.arange(n) % 10))
    argv = ["stacked", tmp_path, "--hidden", "6", "--quiet", "--pretrain-iterations", "3"]
    code, out = command([*argv, "--softmax-iterations", "3", "--finetune-iterations", "3"], capsys)
    assert code == 0 and "stacked autoencoder 100-6-10" in out and "40 training, 20 test" in out
    (tmp_path / "t10k-labels.idx1-ubyte").unlink()
    with pytest.raises(ValueError, match="no t10k-labels-idx1-ubyte"):
        command(argv, capsys)
    with pytest.raises(ValueError, match="has no labels"):
        command(["stacked", tmp_path / "train-images-idx3-ubyte.gz"], capsys)


def test_help_has_examples(capsys):
    for name in ("autoencoder", "stacked"):
        with pytest.raises(SystemExit):
            command([name, "--help"], capsys)
        out = capsys.readouterr().out
        assert "examples:" in out and f"deltaprop {name} digits" in out
