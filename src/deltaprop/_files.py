"""Files: the size of one about to be read (the usual faults as one-line errors), and
Ctrl-C held back while one is written."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back for the block, then deliver it: a write is never cut short.

    A KeyboardInterrupt that lands between creating a temporary file and noting its
    name would leave the file behind; held here, it is raised (by the handler that
    was in place) as soon as the block ends. Outside the main thread, where signal
    handlers cannot be set, the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except (ValueError, OSError):  # no signals here (an embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt


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
