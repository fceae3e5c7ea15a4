"""The build step pyproject.toml cannot say: the engine's kernels compiled ahead of time.

Everything else about the package is in pyproject.toml. Here ``build_ext``
compiles ``deltaprop.compiled.kernels`` with ``numba.pycc`` into the extension
module ``deltaprop.compiled._aot_<key>`` (see ``src/deltaprop/compiled/aot.py``)
for the CPU of the machine that builds it. The compilation runs in a
subprocess that imports only the few source files the kernels read, so the
build needs numba, numpy and scipy (pyproject's build requirements), not the
package's other dependencies.

Where it fails (no C compiler, say), the build goes on without the module and
says so: deltaprop then compiles the same kernels with numba's JIT at their
first use, and nothing else changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"

# Imports deltaprop.compiled's sources (argv[1]: the src folder) as bare packages: without
# deltaprop/__init__.py, whose imports need the runtime dependencies.
PRELUDE = r"""
import sys, types
from pathlib import Path
src = Path(sys.argv[1])
for name in ("deltaprop", "deltaprop.compiled"):
    package = types.ModuleType(name)
    package.__path__ = [str(src.joinpath(*name.split(".")))]
    sys.modules[name] = package
"""
KEY = PRELUDE + "from deltaprop.compiled.cache import source_key\nprint(source_key())\n"
BUILD = PRELUDE + "from deltaprop.compiled import aot\nprint(aot.build(Path(sys.argv[2])))\n"


def run(code: str, *args: str, cache: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter, numba's JIT cache in ``cache`` (thrown away)."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-c", code, str(SRC), *args], capture_output=True, text=True, env=env
    )


def key() -> str:
    """The source key of the tree being built (``deltaprop.compiled.cache.source_key``)."""
    with tempfile.TemporaryDirectory(prefix="deltaprop-key-") as scratch:
        done = run(KEY, cache=scratch)
    if done.returncode != 0:
        raise RuntimeError(f"setup.py: could not read the kernels' source key:\n{done.stderr}")
    return done.stdout.strip()


class BuildKernels(build_ext):
    """``build_ext`` whose one extension is the kernels compiled by numba.pycc."""

    def build_extension(self, ext: Extension) -> None:
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        in_place = SRC / "deltaprop" / "compiled" / target.name
        if in_place.is_file() and in_place != target:  # built before from these very sources
            shutil.copyfile(in_place, target)  # (an editable install's second pip call)
            return
        with tempfile.TemporaryDirectory(prefix="deltaprop-aot-") as scratch:
            done = run(BUILD, scratch, cache=scratch)
            built = Path(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None
            if built is None or not built.is_file():
                print(
                    "deltaprop: the kernels were not compiled ahead of time; numba will compile "
                    "them at their first use instead.\n" + done.stderr[-2000:],
                    file=sys.stderr,
                )
                return
            shutil.copyfile(built, target)


setup(
    ext_modules=[Extension(f"deltaprop.compiled._aot_{key()}", sources=[], optional=True)],
    cmdclass={"build_ext": BuildKernels},
)
