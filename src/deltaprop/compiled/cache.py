"""Where numba keeps the compiled engine between processes, chosen before numba is imported.

numba's disk cache (``cache=True``) writes machine code beside an index keyed
by the source file, so a later process loads it instead of compiling again.
deltaprop points it at a folder of the user's cache (``$XDG_CACHE_HOME`` or
``~/.cache``, then ``deltaprop/numba``) unless ``NUMBA_CACHE_DIR`` is already
set, in a subfolder named by a hash of the sources the machine code depends
on (``kernels.py``, ``sparse.py``, ``codes.py``, the exported signatures of ``aot.py``
and the constants of ``activations.py``; the ahead-of-time module is named by it too):
numba's own index watches only the file a function is defined in, so a change
to a constant it reads from elsewhere would otherwise keep stale code.
When that folder cannot be made or written (a read-only home, a sandbox), the
engine compiles in memory instead, quietly: every process then pays the
compilation once, and nothing else changes.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

SOURCES = (
    "compiled/kernels.py",
    "compiled/sparse.py",
    "compiled/codes.py",
    "compiled/aot.py",
    "activations.py",
)
"""The files (under the package) whose contents the compiled code depends on."""


def source_key(package: Path | None = None) -> str:
    """A short hash of :data:`SOURCES` (in ``package``, deltaprop's own by default).

    It names the cache subfolder of this version of the engine.
    """
    package = package or Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:16]


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/deltaprop/numba/<key>``, or ``~/.cache/deltaprop/numba/<key>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "deltaprop" / "numba" / source_key()


def writable(folder: Path) -> bool:
    """Whether ``folder`` exists (or can be made) and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def choose() -> bool:
    """Point numba at a writable cache folder; whether the disk cache can be used.

    A ``NUMBA_CACHE_DIR`` set by the user is kept when it is writable. If numba
    was imported before deltaprop, its own choice of folder stands.
    """
    given = os.environ.get("NUMBA_CACHE_DIR")
    if "numba" in sys.modules:  # too late to choose: numba read its settings already
        return given is None or writable(Path(given))
    if given:
        return writable(Path(given))
    try:
        folder = default_dir()
    except RuntimeError:  # no home folder to be found
        return False
    if not writable(folder):
        return False
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    return True


ON_DISK = choose()
"""True when compiled code is kept on disk between processes."""
