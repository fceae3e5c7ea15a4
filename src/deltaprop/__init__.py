"""deltaprop: fully-connected networks trained by backpropagation, every equation checked.

>>> import numpy as np, deltaprop as dp
>>> net = dp.Network([64, 25, 64], weight_decay=1e-4, seed=0)
>>> X = np.random.default_rng(0).uniform(size=(10, 64))
>>> J, grad = net.cost_and_grad(X, X)
>>> dp.check_gradient(net, X, X).ok
True
"""

from ._version import __version__
from .activations import ACTIVATIONS, Activation
from .backprop import Trace
from .checkpoints import load_checkpoint
from .costs import COSTS, Cost
from .gradcheck import DeltaCheck, GradientCheck, ParamCheck, check_deltas, check_gradient
from .history import EpochEnd, History, TrainingDiverged, TrainingInterrupted
from .io import ModelFileError, load_metadata, load_model, save_model
from .network import Layout, Network
from .objective import Batch, NetworkObjective, Objective, Terms
from .training import train, trainer

load = load_model

__all__ = [
    "ACTIVATIONS",
    "COSTS",
    "Activation",
    "Batch",
    "Cost",
    "DeltaCheck",
    "EpochEnd",
    "GradientCheck",
    "History",
    "Layout",
    "ModelFileError",
    "Network",
    "NetworkObjective",
    "Objective",
    "ParamCheck",
    "Terms",
    "Trace",
    "TrainingDiverged",
    "TrainingInterrupted",
    "__version__",
    "check_deltas",
    "check_gradient",
    "load",
    "load_checkpoint",
    "load_metadata",
    "load_model",
    "save_model",
    "train",
    "trainer",
]
