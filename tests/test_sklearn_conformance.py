"""scikit-learn's own MLP tests, run against deltaprop.sklearn.

The module tested is the ``sklearn/neural_network/tests/test_mlp.py`` that ships in
the installed scikit-learn wheel; nothing of it is copied here. It is executed from
its installed file under a private module name while ``sklearn.neural_network``'s
``MLPClassifier`` and ``MLPRegressor`` are deltaprop's, so its own
``from sklearn.neural_network import MLPClassifier, MLPRegressor`` binds deltaprop's
classes, also inside its ``parametrize`` lists, which are built at import.
Afterwards ``sklearn.neural_network`` is put back as it was. scikit-learn's pytest
fixtures (``global_random_seed``) come from its ``sklearn.conftest`` plugin.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path
from types import ModuleType

import pytest
import sklearn.neural_network

import deltaprop.sklearn

pytest_plugins = ["sklearn.conftest"]

SOURCE = Path(sklearn.neural_network.__file__).parent / "tests" / "test_mlp.py"


def load_with_deltaprop() -> ModuleType:
    """scikit-learn's test_mlp.py, executed with deltaprop's two estimators as its imports."""
    spec = importlib.util.spec_from_file_location("_sklearn_test_mlp_on_deltaprop", SOURCE)
    assert spec is not None and spec.loader is not None, f"no test_mlp.py at {SOURCE}"
    module = importlib.util.module_from_spec(spec)
    names = ("MLPClassifier", "MLPRegressor")
    originals = {name: getattr(sklearn.neural_network, name) for name in names}
    try:
        for name in names:
            setattr(sklearn.neural_network, name, getattr(deltaprop.sklearn, name))
        spec.loader.exec_module(module)
    finally:
        for name, cls in originals.items():
            setattr(sklearn.neural_network, name, cls)
    for name in names:
        bound = getattr(module, name)
        assert bound is getattr(deltaprop.sklearn, name), f"{name} is {bound}, not deltaprop's"
    return module


_mlp = load_with_deltaprop()

PRIVATE = "reads scikit-learn's private internals, which a drop-in need not have: "
XFAIL = {
    "test_fit": PRIVATE + "it builds a fitted state by hand (coefs_ set on an unfitted "
    "estimator, _coef_grads, _intercept_grads) and then calls partial_fit",
    "test_gradient": PRIVATE + "it calls _loss_grad_lbfgs and _unpack",
    "test_learning_rate_warmstart": PRIVATE + "it reads _optimizer.learning_rate",
    "test_adaptive_learning_rate": PRIVATE + "it reads _optimizer.learning_rate",
}
"""The tests of test_mlp.py expected to fail (strictly: one that passes is reported)."""


def _collect() -> dict[str, object]:
    tests: dict[str, object] = {}
    for name, func in inspect.getmembers(_mlp, inspect.isfunction):
        if not name.startswith("test_") or func.__module__ != _mlp.__name__:
            continue
        if name in XFAIL:
            func = pytest.mark.xfail(reason=XFAIL[name], strict=True)(func)
        tests[name] = func
    return tests


globals().update(_collect())


def test_every_expected_failure_names_a_test() -> None:
    """Each XFAIL entry is a test of the installed test_mlp.py (no stale entry)."""
    assert set(XFAIL) <= {name for name in dir(_mlp) if name.startswith("test_")}
