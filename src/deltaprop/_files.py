"""The size of a file about to be read, with the usual faults as one-line errors."""

from __future__ import annotations

import os
from typing import Any


def file_size(path: Any, error: type[Exception], directory: str) -> int:
    """The size in bytes of ``path``, or ``error`` naming it: missing, unreadable, a folder.

    ``directory`` ends the message for a folder: "expected a model file".
    """
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if os.path.isdir(path):
        raise error(f"{path}: is a directory, {directory}")
    return size
