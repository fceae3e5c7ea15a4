"""What the four experiments share: prose, the networks in words, short numbers."""

from __future__ import annotations

import numpy as np

from ...network import Network
from ..notation import Sym, fmt_number, subscripts, to_unicode
from ..records import Prose


def prose(text: str) -> Prose:
    """A paragraph, its index subscripts in Unicode (δ_i -> δᵢ)."""
    return Prose(subscripts(text))


def describe(net: Network) -> str:
    """The network in words, read from the network itself.

    >>> describe(Network([2, 4, 1], activation="tanh"))
    'a 2-4-1 network with tanh hidden units and a sigmoid output'
    """
    hidden, out = net.activation_label, net.output_activation.name
    shape = "-".join(map(str, net.layer_sizes))
    an_out = ("an " if out[0] in "aeiou" else "a ") + out
    if net.n_layers == 2:
        return f"a {shape} network with {an_out} output"
    if hidden == out:
        return f"a {shape} network with {hidden} units throughout"
    return f"a {shape} network with {hidden} hidden units and {an_out} output"


def own_network(net: Network, worked: Network, reason: str) -> Prose:
    """Says plainly that an experiment runs on a network of its own, and which."""
    own, theirs = describe(net), describe(worked)
    here = "one of the same shape" if own == theirs else theirs
    return prose(
        f"This experiment runs on a network of its own, {own}, whatever network the worked "
        f"example uses (here {here}). {reason}"
    )


def array_name(name: str) -> str:
    """ "W1" -> "W⁽¹⁾"."""
    return to_unicode(Sym(name[0], "", f"({name[1:]})"))


def f4(x: float) -> str:
    """A number for a claim's evidence: four significant digits."""
    return fmt_number(x, 4)


def norm(g: np.ndarray) -> float:
    """The Euclidean norm ‖g‖."""
    return float(np.linalg.norm(g))
