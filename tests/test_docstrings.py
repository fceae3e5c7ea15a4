"""Every example in the core's docstrings runs and prints what it says.

explain's and the scikit-learn estimators' examples run in their own test files.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "deltaprop",
    "deltaprop._validate",
    "deltaprop.activations",
    "deltaprop.backprop",
    "deltaprop.costs",
    "deltaprop.compiled",
    "deltaprop.compiled.batches",
    "deltaprop.compiled.engine",
    "deltaprop.fused",
    "deltaprop.gradcheck",
    "deltaprop.history",
    "deltaprop.loop",
    "deltaprop.network",
    "deltaprop.objective",
    "deltaprop.optim",
    "deltaprop.optim.adam",
    "deltaprop.optim.gd",
    "deltaprop.optim.lbfgs",
    "deltaprop.optim.momentum",
    "deltaprop.optim.schedules",
    "deltaprop.training",
    "deltaprop.autoencoder.cost",
    "deltaprop.autoencoder.display",
    "deltaprop.autoencoder.patches",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_core_has_examples():
    attempted = sum(doctest.testmod(importlib.import_module(name)).attempted for name in MODULES)
    assert attempted >= 40
