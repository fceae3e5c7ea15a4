"""``deltaprop playground``: a live local page where a learner steps backpropagation through.

TensorFlow Playground's controls (data sets, noise, features, layers, activations,
L1/L2, Play/Step/Reset, the surface of every unit, loss curves, the state in the URL)
and what it lacks: every number. The page computes no mathematics: it calls a JSON
API over deltaprop's own functions and draws what comes back.

- ``datasets``: the six 2-D data sets, the seven input features, the split, the grid;
- ``config``: the settings the page's controls and URL carry, checked;
- ``objectives``: J + λ₁ Σ|W| (L1) on the objective contract;
- ``session``: one tab's run (data, network, ``loop.Trainer``) and the bounded store;
- ``steps``: ``deltaprop.explain``'s records for the network on screen, as JSON;
- ``experiments``: explain's four questions asked of the network on screen;
- ``uploads``: a CSV through ``deltaprop.data``'s table reader;
- ``server``: the HTTP server (standard library; why, in its docstring), safety checks;
- ``command``: the ``deltaprop playground`` subcommand.
"""

from .server import Playground
from .session import Run, Sessions

__all__ = ["Playground", "Run", "Sessions"]
