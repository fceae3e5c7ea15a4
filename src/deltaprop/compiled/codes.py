"""The integer codes by which the compiled kernels know activations, costs and optimizers."""

from __future__ import annotations

SIGMOID, TANH, RELU, LEAKY_RELU, SOFTPLUS, IDENTITY, EXP, SOFTMAX = range(8)
"""Activation codes (``activations.ACTIVATIONS`` in order); EXP and SOFTMAX output only."""

SQUARED_ERROR, CROSS_ENTROPY, BINARY_CROSS_ENTROPY, POISSON = range(4)
"""Cost codes (``costs.COSTS`` in order)."""

NONE, GD, MOMENTUM, NESTEROV, ADAM = range(-1, 4)
"""Optimizer codes (NONE: no update)."""
