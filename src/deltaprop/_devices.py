"""Where arrays live: host memory or a device (a CUDA card), and inputs checked against it.

A network's arrays live in one place, its namespace ``xp`` and its ``device``.
numpy arrays, torch tensors on the CPU and array-api-strict arrays on its
``CPU_DEVICE`` are host memory; a torch tensor on "cuda:0", a CuPy array (or an
array-api-strict array on one of its simulated devices) lives on a device.

Inputs are taken where the network's arrays are, and nothing is copied between
host and device behind the caller's back:

- a network on the host takes host data (numpy arrays, lists, CPU tensors),
  converted once to its namespace;
- a network on a device takes arrays of its own namespace on its own device,
  kept there (checked and cast on the device);
- anything else (a numpy X for a CUDA network, a CPU tensor for a CUDA network,
  a CUDA tensor for a numpy network) is refused with a ValueError naming the
  argument, where its data is, where the network's is, and how to move it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Namespace = Any


def library(xp: Namespace) -> str:
    """The array library's import name: "numpy", "torch", "cupy", "array_api_strict"."""
    if xp is np:
        return "numpy"
    return str(getattr(xp, "__name__", "")).removeprefix("array_api_compat.").split(".")[0]


def resolve_device(xp: Namespace, device: Any) -> Any:
    """The device of ``xp`` that ``device`` names, checked, in the form its arrays report.

    None is the namespace's default device. torch takes "cpu", "cuda", "cuda:1"
    or a ``torch.device``; CuPy "cuda", "cuda:1", an int or a ``cupy.cuda.Device``.
    A device that cannot be used (no CUDA card, a CPU build of torch) is a
    ValueError naming ``device`` and what is missing.
    """
    lib = library(xp)
    if lib == "numpy":
        if device is None or device == "cpu":
            return device
        raise ValueError(
            f"device: numpy arrays live in host memory (device 'cpu'), got {device!r}; "
            "for a GPU use xp='torch' or xp='cupy'"
        )
    if lib == "torch" and device is not None:
        import torch

        try:
            asked = torch.device(device)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(f"device: {device!r} is not a torch device ({exc})") from None
        if asked.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device: {device!r} needs a CUDA device, but {cuda_missing()}")
        device = asked
    if lib == "cupy":
        device = _cupy_device(device)
    try:
        probe = xp.asarray(0.0, device=device) if device is not None else xp.asarray(0.0)
    except (RuntimeError, AssertionError, TypeError, ValueError) as exc:
        raise ValueError(f"device: {device!r} is not a usable {lib} device ({exc})") from None
    import array_api_compat

    return array_api_compat.device(probe)


def cuda_missing() -> str:
    """Why no CUDA device can be used here, in words ("" when one can)."""
    try:
        import torch
    except ImportError:
        return "torch is not installed (pip install torch)"
    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build (no CUDA)"
    if not torch.cuda.is_available():
        return (
            f"torch {torch.__version__} finds no CUDA device (torch.cuda.is_available() is False)"
        )
    return ""


def _cupy_device(device: Any) -> Any:
    import cupy

    if device is None or isinstance(device, cupy.cuda.Device):
        return device
    if isinstance(device, int) and not isinstance(device, bool):
        return cupy.cuda.Device(device)
    if isinstance(device, str) and (device == "cuda" or device.startswith("cuda:")):
        index = device.partition(":")[2]
        return cupy.cuda.Device(int(index) if index.isdigit() else 0)
    raise ValueError(
        f"device: CuPy arrays live on a CUDA device ('cuda', 'cuda:1' or an int), got {device!r}"
    )


def is_host(xp: Namespace, device: Any) -> bool:
    """Whether arrays of ``xp`` on ``device`` are in host memory."""
    lib = library(xp)
    if lib == "numpy":
        return True
    if lib == "cupy":
        return False
    if device is None:
        return True
    text = str(device)
    return text == "cpu" or text.endswith("CPU_DEVICE')") or text == "CPU_DEVICE"


def where(xp: Namespace, device: Any) -> str:
    """Where arrays of ``xp`` on ``device`` live, in words: "torch on cuda:0"."""
    lib = library(xp)
    if lib == "numpy":
        return "numpy (host memory)"
    place = "the default device" if device is None else str(device)
    return f"{lib} on {place}" + (" (host memory)" if is_host(xp, device) else "")


def array_place(value: Any) -> tuple[Namespace, Any] | None:
    """(namespace, device) of an array of an array API library other than numpy, else None."""
    if isinstance(value, np.ndarray | np.generic) or not (
        hasattr(value, "__array_namespace__") or hasattr(value, "__dlpack__")
    ):
        return None
    import array_api_compat

    try:
        xp = array_api_compat.array_namespace(value)
    except TypeError:
        return None
    if xp is np or library(xp) == "numpy":
        return None
    return xp, array_api_compat.device(value)


def placed(name: str, value: Any, xp: Namespace, device: Any) -> bool:
    """Whether ``value`` is already an array of ``xp`` on ``device`` (then it stays there).

    False for host data that the network takes by converting it (host data for a
    network on the host). Otherwise a ValueError naming ``name``: data on another
    device, host data for a network on a device, or a device array of another
    namespace.
    """
    place = array_place(value)
    net_host = is_host(xp, device)
    if place is None:  # numpy, lists, numbers: host memory
        if net_host:
            return False
        raise ValueError(
            f"{name} is in host memory ({type(value).__name__}), but the network's arrays are "
            f"{where(xp, device)}: move it there first, e.g. "
            f"{_move_hint(xp, device, name)}"
        )
    their_xp, their_device = place
    if their_xp is xp and str(their_device) == str(device):
        return True
    if net_host and is_host(their_xp, their_device):
        return False  # host memory either way: converted as numpy data is
    raise ValueError(
        f"{name} is {where(their_xp, their_device)}, but the network's arrays are "
        f"{where(xp, device)}: move it there first, e.g. {_move_hint(xp, device, name)}"
    )


def _move_hint(xp: Namespace, device: Any, name: str) -> str:
    lib = library(xp)
    if lib == "torch":
        return f"torch.as_tensor({name}, device={str(device)!r})"
    if lib == "cupy":
        return f"cupy.asarray({name})"
    if lib == "numpy":
        return f"{name}.cpu() for a torch tensor, {name}.get() for a CuPy array"
    return f"xp.asarray({name}, device={device!r})"


def host_to(net: Any, host: Any) -> Any:
    """Host data as ``net`` takes it: as it is for a network on the host, else one copy to
    its device (in its dtype); None, device arrays and scipy.sparse matrices stay as they are."""
    if host is None or is_host(net.xp, net.device) or array_place(host) is not None:
        return host
    if hasattr(host, "tocsr"):  # sparse: the network says what it can do with it
        return host
    return net.from_host(np.asarray(host))
