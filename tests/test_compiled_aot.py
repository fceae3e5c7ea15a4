"""The kernels compiled ahead of time (``compiled.aot``) against numba's JIT of the same source.

The package's build compiles ``kernels.epoch`` and ``kernels.update`` into an
extension module; training takes it where it is there, and numba's JIT where it
is not (``DELTAPROP_AOT=0``, a module of another key, arguments of other
types). Both must train the same θ, and a process on the ahead-of-time module
must not import numba at all (that is the start-up it saves).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.compiled import aot

BUILT = aot.module() is not None
needs_module = pytest.mark.skipif(not BUILT, reason="the ahead-of-time module was not built")


def test_the_install_built_the_module():
    # `make` installs with setup.py's build step; it fails only where no C compiler is.
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the build skips the ahead-of-time module by design")
    assert BUILT, (
        f"no module {aot.module_name()} beside compiled/aot.py: the kernels' sources changed "
        "since the install; build again with `pip install -e .` (make does it)"
    )


class Counted:
    """Counts calls of one exported function of the ahead-of-time module."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.n = 0
        module = aot.module()
        real = getattr(module, name)

        def counted(*args):  # type: ignore[no-untyped-def]
            self.n += 1
            return real(*args)

        monkeypatch.setattr(module, name, counted)


def fit(dtype, optimizer, *, dropout=0.0, weights=False, read_only=False, epochs=3):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 6)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 150)]
    if read_only:
        x.setflags(write=False)
    w = rng.uniform(0.5, 2.0, 150) if weights else None
    net = dp.Network(
        [6, 9, 7, 3],
        activation="tanh",
        cost="cross_entropy",
        weight_decay=1e-3,
        dtype=dtype,
        seed=4,
    )
    options = {"dropout": dropout} if dropout else {}
    dp.train(
        net, x, y, optimizer=optimizer, batch_size=16, epochs=epochs, sample_weight=w, **options
    )
    return net.params.copy()


CASES = [
    (np.float64, "adam", {}),
    (np.float64, "momentum", {"dropout": 0.2, "weights": True}),
    (np.float64, "nesterov", {}),
    (np.float32, "sgd", {"weights": True}),
    (np.float32, "adam", {"dropout": 0.3}),
]


@needs_module
@pytest.mark.parametrize(("dtype", "optimizer", "options"), CASES)
def test_ahead_of_time_trains_as_the_jit(dtype, optimizer, options, monkeypatch):
    counted = Counted(monkeypatch, f"epoch_{aot.suffix(dtype)}")
    ahead = fit(dtype, optimizer, **options)
    assert counted.n == 3  # one call an epoch, to the built module
    monkeypatch.setenv("DELTAPROP_AOT", "0")
    jit = fit(dtype, optimizer, **options)
    assert counted.n == 3  # the switch turned it off
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(ahead, jit, rtol=rtol, atol=rtol * np.abs(jit).max())


@needs_module
def test_a_read_only_array_goes_to_the_jit(monkeypatch):
    counted = Counted(monkeypatch, "epoch_f64")
    np.testing.assert_array_equal(fit(np.float64, "adam", read_only=True), fit(np.float64, "adam"))
    assert counted.n == 3 + 3  # the read-only run was refused by the module, then ran by the JIT


@needs_module
def test_the_per_step_update_is_exported_too(monkeypatch):
    counted = Counted(monkeypatch, "update_f64")
    from deltaprop.compiled import engine

    theta, grad = np.linspace(-1, 1, 7), np.linspace(0.5, -0.5, 7)
    opt = dp.optim.Adam()
    state = opt.init(np, theta)
    engine.update(opt, theta, grad, state, 0.1)
    assert counted.n == 1 and state["t"] == 1
    ref_theta, ref_state = np.linspace(-1, 1, 7), opt.init(np, np.linspace(-1, 1, 7))
    opt.update(np, ref_theta, grad, ref_state, 0.1)
    np.testing.assert_array_equal(theta, ref_theta)


def test_a_module_of_another_key_is_never_loaded(monkeypatch):
    # An editable install whose kernels.py changed after the build: the old module's name
    # carries the old key, so the JIT compiles the new source instead.
    monkeypatch.setattr(aot, "_loaded", {})
    monkeypatch.setattr(aot, "module_name", lambda key=None: "_aot_0000000000000000")
    assert aot.module() is None
    from deltaprop.compiled import kernels

    assert aot.kernel("epoch", np.float64) is kernels.epoch


CHILD = """
import sys
import numpy as np, deltaprop as dp
net = dp.Network([3, 4, 2], cost="cross_entropy", seed=0)
x = np.random.default_rng(0).normal(size=(8, 3))
dp.train(net, x, np.eye(2)[[0, 1] * 4], optimizer="adam", batch_size=2, epochs=2)
print("numba" in sys.modules, bool(np.all(np.isfinite(net.params))))
"""


@needs_module
@pytest.mark.parametrize(("switch", "expected"), [("1", "False True"), ("0", "True True")])
def test_training_on_the_module_never_imports_numba(switch, expected, tmp_path):
    env = {**os.environ, "DELTAPROP_AOT": switch, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_the_makefile_rebuilds_when_any_kernel_source_changes():
    # make's install stamp depends on the sources the module's key covers, so that
    # `make test` after an edit builds the module of the new key.
    from pathlib import Path

    from deltaprop.compiled import cache

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    listed = makefile.split("KERNEL_SOURCES := $(addprefix src/deltaprop/,")[1].split(")")[0]
    assert sorted(listed.replace("\\", " ").split()) == sorted(cache.SOURCES)


@needs_module
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_sparse_autoencoder_runs_on_the_module(dtype, monkeypatch):
    from deltaprop.autoencoder import cost

    counted = Counted(monkeypatch, f"sparse_cost_and_grad_{aot.suffix(dtype)}")
    net = cost.autoencoder_network(8, 3, seed=0, dtype=dtype)
    X = np.random.default_rng(1).uniform(0.1, 0.9, size=(10, 8)).astype(dtype)
    theta = net.params.astype(np.float64)
    J, g = cost.sparse_objective(net, X, sparsity_target=0.1)(theta)
    assert counted.n == 1
    monkeypatch.setenv("DELTAPROP_AOT", "0")
    J_jit, g_jit = cost.sparse_objective(net, X, sparsity_target=0.1)(theta)
    assert counted.n == 1
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(J, J_jit, rtol=rtol)
    np.testing.assert_allclose(g, g_jit, rtol=rtol, atol=rtol * np.abs(g_jit).max())
