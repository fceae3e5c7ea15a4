"""Hardening: hostile files, killed processes, full disks and poisoned data (issue 10).

Each promise is tried by something that attacks it:

- **Reading never runs a file's content and never crashes.** Every reader (IDX raw and
  gzip, CSV, .npy, .npz, model files, checkpoints) is fed random and mutated bytes by
  hypothesis, and a corpus of hand-made hostile files; the only outcomes allowed are the
  right result or the reader's own error (DataError or ModelFileError: ValueErrors whose
  one-line message starts with the file's name), within a time limit.
- **No allocation bombs.** A 100-byte file claiming 10¹² elements is refused with a
  small peak (tracemalloc), and a subprocess with a small address space (RLIMIT_AS)
  shows that allocations tracemalloc cannot see (safetensors' Rust side) stay small too.
- **A crash never corrupts what was saved.** Training in a subprocess is SIGKILLed at
  seeded random moments and at every stage of a checkpoint write; each time the newest
  checkpoint loads and validates, and resuming from it ends with the uninterrupted run's
  θ, bit for bit. SIGINT saves, exits with 130, and resuming reproduces θ as well.
- **A full disk loses nothing.** ENOSPC injected into write and fsync, and a real
  RLIMIT_FSIZE in a subprocess: one clear line and exit status 2 from the command, the
  previous file intact, no temporary file left.
- **Poisoned data** (NaN, infinities, 1e300, constant columns, training that diverges)
  gives an error naming the place, or the documented behaviour.

DELTAPROP_STRESS=n multiplies the fuzz examples and kill points by n, for long runs.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gzip
import io
import json
import math
import os
import pickle
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas  # noqa: F401  (imported once here: memory bounds measure the data, not the import)
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.numpy import save as st_save

import deltaprop as dp
import deltaprop.modelformat as dpio
from deltaprop import app, runs
from deltaprop.cli import main
from deltaprop.data import (
    DataError,
    load_file,
    read_csv,
    read_idx,
    read_npy,
    read_npz,
)
from deltaprop.io import (
    ModelFileError,
    load_checkpoint,
    load_metadata,
    load_model,
    save_checkpoint,
    save_model,
)

STRESS = max(1, int(os.environ.get("DELTAPROP_STRESS") or 1))
MB = 1 << 20
POSIX = sys.platform != "win32"


def fuzz(examples: int) -> Any:
    """Hypothesis settings for a reader fuzz test: ``examples`` (× DELTAPROP_STRESS) inputs.

    Derandomized so that the suite always tries the same inputs (a stress run explores
    new ones). No deadline: a slow example is not a failure, a hang is, and
    :func:`time_limit` catches hangs.
    """
    return settings(
        max_examples=examples * STRESS,
        deadline=None,
        derandomize=STRESS == 1,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.large_base_example,
        ],
    )


class Hang(BaseException):
    """A reader ran past its time limit (a BaseException: no reader may swallow it)."""


@contextlib.contextmanager
def time_limit(seconds: float = 10.0) -> Iterator[None]:
    """Raise Hang in the block if it runs longer than ``seconds`` (POSIX; else no limit)."""
    if not POSIX:
        yield
        return

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def outcome(call: Callable[[], Any], path: Path, error: type[ValueError], *also: Path) -> Any:
    """``call()``'s result, or None when it raised ``error`` with a one-line message naming
    ``path`` (or one of the files ``also``). Any other exception, or a hang, fails."""
    try:
        with time_limit():
            return call()
    except error as exc:
        message = str(exc)
        assert message.startswith(tuple(str(p) for p in (path, *also))), message
        assert "\n" not in message and len(str(path)) + 5 < len(message) < 2000, message
        return None


def peak_memory(call: Callable[[], Any], error: type[Exception]) -> int:
    """Peak bytes tracemalloc sees while ``call`` runs; it must raise ``error``."""
    tracemalloc.start()
    try:
        with pytest.raises(error):
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with 1–4 random edits: bit flips, bytes set, cuts, inserts, deletions, and
    4- or 8-byte boundary integers (in both byte orders) written over a field."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "delete", "int"]))
        if kind == "flip" and data:
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[i:]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[i : i + draw(st.integers(1, 16))]
        elif kind == "int":
            width = draw(st.sampled_from([4, 8]))
            value = draw(st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1]))
            order = draw(st.sampled_from(["big", "little"]))
            data[i : i + width] = (value % 2 ** (8 * width)).to_bytes(width, order)
    return bytes(data)


# --- IDX ------------------------------------------------------------------------------------

IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_header(code: int, shape: tuple[int, ...], ndim: int | None = None) -> bytes:
    n = len(shape) if ndim is None else ndim
    return bytes([0, 0, code, n]) + struct.pack(f">{len(shape)}I", *shape)


IDX_MILLION = idx_header(0x08, (10**6, 10**6))


def idx_expected(raw: bytes) -> np.ndarray | None:
    """What a correct IDX reader makes of the uncompressed bytes ``raw``; None: an error."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_CODES or not 1 <= raw[3] <= 64:
        return None
    ndim, dtype = raw[3], np.dtype(IDX_CODES[raw[2]])
    if len(raw) < 4 + 4 * ndim:
        return None
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    if len(body) != math.prod(shape) * dtype.itemsize:
        return None
    try:
        return np.frombuffer(body, dtype=dtype).reshape(shape)
    except ValueError:  # a shape numpy cannot hold
        return None


_dims = st.integers(0, 5) | st.sampled_from([2**32 - 1, 2**31, 10**6])


@st.composite
def idx_files(draw: st.DrawFn) -> bytes:
    """Random bytes, hand-structured headers (valid or not) and mutated valid files."""
    kind = draw(st.sampled_from(["random", "structured", "mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=80))
    code = draw(st.sampled_from([*IDX_CODES, 0x00, 0x0A, 0xFF]))
    shape = tuple(draw(st.lists(_dims, min_size=1, max_size=4) | st.just((1,) * 65)))
    if kind == "structured":
        ndim = draw(st.sampled_from([None, 0, 3, 255]))
        declared = math.prod(shape) * np.dtype(IDX_CODES.get(code, ">u1")).itemsize
        payload = draw(
            st.binary(min_size=declared, max_size=declared)
            if declared <= 256 and draw(st.booleans())
            else st.binary(max_size=64)
        )
        return idx_header(code, shape, ndim) + payload
    small = tuple(min(d, 4) for d in shape[:3])
    values = np.arange(math.prod(small), dtype=IDX_CODES.get(code, ">u1")).reshape(small)
    return draw(mutated(idx_header(code if code in IDX_CODES else 8, small) + values.tobytes()))


@fuzz(250)
@given(raw=idx_files(), compress=st.booleans())
def test_fuzz_idx_gives_the_right_array_or_a_data_error(
    tmp_path: Path, raw: bytes, compress: bool
) -> None:
    path = tmp_path / "f-ubyte"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    got = outcome(lambda: read_idx(path), path, DataError)
    if raw[:2] == b"\x1f\x8b" and not compress:
        return  # the reader takes it for gzip: any clean outcome will do
    want = idx_expected(raw)
    if want is None:
        assert got is None, f"accepted an invalid file as {got!r}"
    else:
        assert got is not None, "refused a valid file"
        assert got.dtype.isnative and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


@fuzz(100)
@given(data=st.data())
def test_fuzz_corrupt_gzip_idx_gives_a_data_error(tmp_path: Path, data: st.DataObject) -> None:
    raw = idx_header(0x0C, (3, 4)) + np.arange(12, dtype=">i4").tobytes()
    broken = data.draw(mutated(gzip.compress(raw)))
    path = tmp_path / "g-ubyte.gz"
    path.write_bytes(broken)
    got = outcome(lambda: read_idx(path), path, DataError)
    if got is not None:  # a mutation gzip tolerates (its header's flags, mtime, OS byte)
        np.testing.assert_array_equal(got, np.arange(12).reshape(3, 4))


# --- CSV ------------------------------------------------------------------------------------

_CSV_CHARS = list(",\n\r\"' \t0123456789.-+eE;") + list("nainfNIxé") + ["\x00", "\ufeff"]


@fuzz(200)
@given(
    blob=st.text(alphabet=st.sampled_from(_CSV_CHARS), max_size=120)
    .map(lambda t: t.encode("utf-8"))
    .filter(bool)
    | st.binary(max_size=80)
)
def test_fuzz_csv_any_bytes_give_a_consistent_result_or_a_data_error(
    tmp_path: Path, blob: bytes
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(blob)
    got = outcome(lambda: read_csv(path), path, DataError)
    if got is not None:
        X, y, names = got
        assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == len(names)
        assert len(y) == len(X) > 0 and np.all(np.isfinite(X))
        assert (y.dtype == np.float64 and np.all(np.isfinite(y))) or y.dtype.kind == "U"


_cells = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["nan", " NaN", "inf", "-Infinity", "1e999", "-1e400", "", " ", "abc"]),
    st.sampled_from(["1e-400", " 7 ", "+3", "1_000", "0x10", "\u0661"]),
)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


@fuzz(150)
@given(
    table=st.integers(2, 4).flatmap(
        lambda n: st.lists(st.lists(_cells, min_size=n, max_size=n), min_size=1, max_size=5)
    )
)
def test_fuzz_csv_tables_give_exactly_the_cells_or_name_the_bad_one(
    tmp_path: Path, table: list[list[str]]
) -> None:
    # The reader's contract, restated: every feature cell a finite number; the target
    # (last) column numbers, else class names, but never empty, NaN or infinite.
    n = len(table[0])
    names = [f"c{j}" for j in range(n)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(",".join(row) for row in [names, *table]) + "\n", "utf-8")
    got = outcome(lambda: read_csv(path), path, DataError)

    def finite(cell: str) -> bool:
        value = _number(cell)
        return value is not None and math.isfinite(value)

    targets = [row[-1] for row in table]
    bad_target = any(
        not t.strip() or (_number(t) is not None and not math.isfinite(float(t))) for t in targets
    )
    if bad_target or not all(finite(cell) for row in table for cell in row[:-1]):
        assert got is None
        return
    assert got is not None
    X, y, got_names = got
    assert got_names == tuple(names[:-1])
    np.testing.assert_array_equal(X, [[float(c) for c in row[:-1]] for row in table])
    if all(finite(t) for t in targets):
        np.testing.assert_array_equal(y, [float(t) for t in targets])
    else:
        assert list(y) == [t.strip() for t in targets]


# --- .npy / .npz ----------------------------------------------------------------------------


def npy_bytes(descr: str, shape: str, payload: bytes = b"", fortran: bool = False) -> bytes:
    """A version 1.0 .npy file written by hand: ``descr`` and ``shape`` are Python literals."""
    text = f"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}"
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + payload


NPY_F8 = "'<f8'"
_DESCRS = ["'<f8'", "'>i4'", "'<f2'", "'|u1'", "'|O'", "'<c16'", "'<U4'", "'|b1'", "'<M8[s]'"]
_DESCRS += ["[('a', '<f8')]", "'V8'", "'<f8'.__class__", "1"]


@st.composite
def npy_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "structured", "mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=80))
    if kind == "structured":
        dims = st.integers(-3, 4) | st.sampled_from([2**31, 2**63, 2**64, 10**12])
        shape = draw(
            st.lists(dims, max_size=4).map(lambda d: repr(tuple(d)))
            | st.sampled_from(["[2, 2]", "(1.5,)", "'x'", "(" + "(" * 50 + ")" * 50 + ",)"])
        )
        payload = draw(st.binary(max_size=64) | st.integers(0, 4).map(lambda k: bytes(8 * k)))
        return npy_bytes(draw(st.sampled_from(_DESCRS)), shape, payload, draw(st.booleans()))
    array = np.arange(draw(st.integers(0, 12)), dtype=draw(st.sampled_from(["<f8", "<i2"])))
    buffer = io.BytesIO()
    np.save(buffer, array.reshape(-1, 2) if array.size % 2 == 0 else array)
    return draw(mutated(buffer.getvalue()))


@fuzz(250)
@given(raw=npy_files())
def test_fuzz_npy_gives_a_consistent_result_or_a_data_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "f.npy"
    path.write_bytes(raw)
    got = outcome(lambda: read_npy(path), path, DataError)
    if got is not None:
        X, y = got
        assert X.dtype == np.float64 and X.ndim == 2 and len(X) == len(y) > 0
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


_numeric_dtypes = st.sampled_from(["<f8", ">f4", "<f2", "<i8", ">i2", "|u1", "<u4", "<u8"])


@fuzz(100)
@given(
    array=hnp.arrays(
        _numeric_dtypes, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)
    ).filter(lambda a: a.shape[1] >= 2),
    fortran=st.booleans(),
)
def test_fuzz_npy_round_trip_or_refused_when_not_finite(
    tmp_path: Path, array: np.ndarray, fortran: bool
) -> None:
    path = tmp_path / "a.npy"
    np.save(path, np.asfortranarray(array) if fortran else array)
    got = outcome(lambda: read_npy(path), path, DataError)
    values = array.astype(np.float64)
    wraps = array.dtype.kind == "u" and int(array[:, -1].max()) >= 2**63  # as int64 labels
    if not np.all(np.isfinite(values)) or wraps:
        assert got is None
        return
    X, y = got
    np.testing.assert_array_equal(X, values[:, :-1])
    np.testing.assert_array_equal(y, array[:, -1])
    assert y.dtype == (np.int64 if array.dtype.kind in "iu" else np.float64)


def test_npy_header_that_needs_python_2_parsing_reads_quietly(tmp_path: Path) -> None:
    # A header ending in a line of spaces is not a Python literal, so numpy falls back to
    # its Python 2 header parser, with a UserWarning (an error under pytest): found by
    # the fuzzer above with DELTAPROP_STRESS=10.
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }\n"
    text += " " * (-(10 + len(text)) % 64)
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
    (tmp_path / "py2.npy").write_bytes(header + np.array([1.0, 2.0]).tobytes())
    X, y = read_npy(tmp_path / "py2.npy")
    np.testing.assert_array_equal(X, [[1.0]])
    np.testing.assert_array_equal(y, [2.0])


def npz_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@st.composite
def npz_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "members", "mutated"]))
    if kind == "random":
        return draw(st.binary(max_size=80))
    if kind == "members":
        names = st.sampled_from(["X.npy", "y.npy", "Y.npy", "other.npy", "X"])
        members = draw(st.dictionaries(names, npy_files(), max_size=3))
        return npz_bytes(members, draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])))
    m = draw(st.integers(1, 4))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, X=np.arange(3.0 * m).reshape(m, 3), y=np.arange(m))
    return draw(mutated(buffer.getvalue()))


@fuzz(200)
@given(raw=npz_files())
def test_fuzz_npz_gives_a_consistent_result_or_a_data_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "f.npz"
    path.write_bytes(raw)
    got = outcome(lambda: read_npz(path), path, DataError)
    if got is not None:
        X, y = got
        assert X.dtype == np.float64 and X.ndim == 2 and len(X) == len(y) > 0
        assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


@fuzz(80)
@given(
    X=hnp.arrays(_numeric_dtypes, hnp.array_shapes(min_dims=2, max_dims=4, max_side=4)),
    compressed=st.booleans(),
    fortran=st.booleans(),
)
def test_fuzz_npz_round_trip(
    tmp_path: Path, X: np.ndarray, compressed: bool, fortran: bool
) -> None:
    y = np.arange(X.shape[0], dtype=np.int16)
    path = tmp_path / "a.npz"
    (np.savez_compressed if compressed else np.savez)(
        path, X=np.asfortranarray(X) if fortran else X, y=y
    )
    got = outcome(lambda: read_npz(path), path, DataError)
    flat = X.reshape(X.shape[0], -1).astype(np.float64)
    if X.shape[0] == 0 or not np.all(np.isfinite(flat)):
        assert got is None
        return
    np.testing.assert_array_equal(got[0], flat)
    np.testing.assert_array_equal(got[1], y)


@fuzz(150)
@given(
    raw=st.binary(max_size=64) | idx_files() | npy_files(),
    name=st.sampled_from(["d.csv", "d.npy", "d.npz", "d-ubyte", "d-ubyte.gz", "d.bin", "d"]),
)
def test_fuzz_load_file_never_crashes(tmp_path: Path, raw: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    (tmp_path / "labels.idx").write_bytes(idx_header(0x08, (2,)) + b"\x00\x01")
    labels = tmp_path / "labels.idx" if name.endswith(("ubyte", ".gz")) else None
    got = outcome(lambda: load_file(path, labels_path=labels), path, DataError, *[labels or path])
    if got is not None:
        X, y = got
        assert X.dtype == np.float64 and X.ndim == 2 and len(X) == len(y) > 0
        assert np.all(np.isfinite(X))


# --- model files and checkpoints --------------------------------------------------------------


@functools.cache
def _model_bytes() -> bytes:
    """A valid 3-4-2 model file, the base that mutations start from."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.safetensors"
        net = dp.Network([3, 4, 2], seed=0, weight_decay=1e-3)
        save_model(net, path, metadata={"a": [1, 2]})
        return path.read_bytes()


@functools.cache
def _checkpoint_bytes() -> bytes:
    """A valid checkpoint with one extra array and a state holding a big int."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.ckpt"
        net = dp.Network([3, 4, 2], seed=0)
        moment = np.linspace(0, 1, net.n_params)
        state = {"epoch": 3, "rng": {"s": 2**70}}
        save_checkpoint(path, net, arrays={"opt/m": moment}, state=state)
        return path.read_bytes()


def check_network(net: dp.Network) -> None:
    """A loaded network is a whole one: finite θ of the length its layers need."""
    assert net.params.shape == (net.n_params,) and np.all(np.isfinite(net.params))
    assert net.predict(np.zeros((1, net.layer_sizes[0]))).shape == (1, net.layer_sizes[-1])


@fuzz(250)
@given(data=st.data())
def test_fuzz_model_files_load_whole_or_give_a_model_file_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(data.draw(mutated(_model_bytes()) | st.binary(max_size=64)))
    net = outcome(lambda: load_model(path), path, ModelFileError)
    meta = outcome(lambda: load_metadata(path), path, ModelFileError)
    assert net is None or meta is not None  # load_model checks all that load_metadata does
    if net is not None:
        check_network(net)
        assert tuple(meta["layer_sizes"]) == net.layer_sizes


@fuzz(120)
@given(data=st.data())
def test_fuzz_model_tensor_bytes_load_exactly_or_are_refused_by_the_checksum(
    tmp_path: Path, data: st.DataObject
) -> None:
    # Overwrite bytes of θ only: the file stays well-formed, so the loader must return
    # exactly the original parameters when no byte changed, and refuse the file (the
    # checksum of the tensors no longer matches) when any did.
    original = _model_bytes()
    base = bytearray(original)
    start = 8 + int.from_bytes(base[:8], "little")
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(start, len(base) - 1))
        base[i] = data.draw(st.integers(0, 255))
    path = tmp_path / "m.safetensors"
    path.write_bytes(bytes(base))
    theta = np.frombuffer(bytes(base[start:]), dtype="<f8")
    net = outcome(lambda: load_model(path), path, ModelFileError)
    if bytes(base) == original:
        assert net is not None and net.params.tobytes() == theta.tobytes()
    else:
        assert net is None


METADATA = json.dumps(
    {
        "format": "deltaprop-model",
        "format_version": 1,
        "deltaprop_version": "0.1.0",
        "layer_sizes": [3, 4, 2],
        "activation": "sigmoid",
        "output_activation": "sigmoid",
        "cost": "squared_error",
        "weight_decay": 0.0,
        "dtype": "float64",
        "init": "ufldl",
        "seed": 0,
        "extra": {},
    }
)
"""The metadata of a 3-4-2 model, as save_model writes it."""

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_FIELDS = ["format", "format_version", "layer_sizes", "activation", "output_activation"]
_FIELDS += ["cost", "weight_decay", "dtype", "init", "seed", "extra", "deltaprop_version"]


@fuzz(200)
@given(
    changes=st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=3),
    removed=st.sets(st.sampled_from(_FIELDS), max_size=2),
    tensor=st.none()
    | st.fixed_dictionaries(
        {
            "dtype": st.sampled_from(["F64", "F32", "F16", "BF16", "I64", "BOOL", "Q8", "F8_E4M3"]),
            "shape": st.lists(st.integers(-1, 40) | st.sampled_from([2**32, 2**64]), max_size=3),
            "data_offsets": st.lists(st.integers(0, 300) | st.just(2**64 - 1), max_size=3),
        }
    ),
    body=st.integers(0, 300),
)
def test_fuzz_hand_made_safetensors_headers(
    tmp_path: Path,
    changes: dict[str, Any],
    removed: set[str],
    tensor: dict[str, Any] | None,
    body: int,
) -> None:
    # Either a fuzzed tensor entry (for safetensors' own parser) or the right one, so
    # that the fuzzed metadata fields reach deltaprop's checks.
    theta = dp.Network([3, 4, 2], seed=0).params.tobytes()  # 26 float64 values
    info = json.loads(METADATA)
    info.update(changes)
    for key in removed:
        del info[key]
    entry = tensor or {"dtype": "F64", "shape": [26], "data_offsets": [0, 208]}
    header = {"params": entry, "__metadata__": {"deltaprop": json.dumps(info)}}
    text = json.dumps(header).encode()
    path = tmp_path / "h.safetensors"
    path.write_bytes(
        len(text).to_bytes(8, "little") + text + theta[: 208 if tensor is None else body]
    )
    got = outcome(lambda: load_model(path), path, ModelFileError)
    if got is not None:
        check_network(got)


@fuzz(100)
@given(text=mutated(METADATA.encode()))
def test_fuzz_metadata_text(tmp_path: Path, text: bytes) -> None:
    # A well-formed safetensors file around mutated metadata text: the mutations land in
    # deltaprop's own JSON and field checks rather than in safetensors' framing.
    theta = dp.Network([3, 4, 2], seed=0).params
    path = tmp_path / "t.safetensors"
    meta = text.decode("utf-8", errors="replace")
    path.write_bytes(st_save({"params": theta}, metadata={"deltaprop": meta}))
    got = outcome(lambda: load_model(path), path, ModelFileError)
    if got is not None:
        check_network(got)


@fuzz(150)
@given(data=st.data())
def test_fuzz_checkpoints_load_whole_or_give_a_model_file_error(
    tmp_path: Path, data: st.DataObject
) -> None:
    path = tmp_path / "c.ckpt"
    path.write_bytes(data.draw(mutated(_checkpoint_bytes())))
    got = outcome(lambda: load_checkpoint(path), path, ModelFileError)
    if got is not None:
        net, arrays, state = got
        check_network(net)
        assert isinstance(state, dict) and len(arrays) == 1
        assert all(a.flags.writeable for a in arrays.values())


@fuzz(60)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    values=st.data(),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_fuzz_model_round_trip_is_bit_exact(
    tmp_path: Path, sizes: list[int], values: st.DataObject, dtype: str
) -> None:
    net = dp.Network(sizes, seed=0, dtype=dtype)
    width = 32 if dtype == "float32" else 64
    floats = st.floats(allow_nan=False, allow_infinity=False, width=width)
    theta = values.draw(hnp.arrays(np.dtype(dtype), net.n_params, elements=floats))
    net.params = theta
    path = tmp_path / "m.safetensors"
    save_model(net, path)
    assert load_model(path).params.tobytes() == theta.tobytes()  # -0.0 and subnormals too


# --- the hostile corpus ---------------------------------------------------------------------


class Canary:
    """Unpickling this creates the file ``path``: proof that a loader ran the file's code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def _zip_flags(data: bytes, *, encrypted: bool = False, method: int | None = None) -> bytes:
    """Set the encryption bit or the compression method in every zip header."""
    raw = bytearray(data)
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        i = raw.find(signature)
        while i >= 0:
            if encrypted:
                raw[i + flag_at] |= 1
            if method is not None:
                raw[i + method_at : i + method_at + 2] = struct.pack("<H", method)
            i = raw.find(signature, i + 4)
    return bytes(raw)


def _zip_lying_size(data: bytes, name: bytes, size: int) -> bytes:
    """Make every zip header claim that member ``name`` decompresses to ``size`` bytes."""
    raw = bytearray(data)
    for signature, name_len_at, size_at, name_at in (
        (b"PK\x03\x04", 26, 22, 30),
        (b"PK\x01\x02", 28, 24, 46),
    ):
        i = raw.find(signature)
        while i >= 0:
            n = struct.unpack("<H", raw[i + name_len_at : i + name_len_at + 2])[0]
            if raw[i + name_at : i + name_at + n] == name:
                raw[i + size_at : i + size_at + 4] = struct.pack("<I", size)
            i = raw.find(signature, i + 4)
    return bytes(raw)


def _safetensors(
    header: dict[str, Any] | bytes, body: bytes = b"", length: int | None = None
) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if length is None else length
    return n.to_bytes(8, "little") + text + body


def _npz_lying_size() -> bytes:
    """An .npz whose zip directory and X header both claim 800 MB; the data are 8 bytes."""
    header = npy_bytes(NPY_F8, "(12500000, 8)")
    members = {"X.npy": header + bytes(8), "y.npy": npy_bytes(NPY_F8, "(12500000,)")}
    return _zip_lying_size(
        npz_bytes(members, zipfile.ZIP_DEFLATED), b"X.npy", len(header) + 800_000_000
    )


@functools.cache
def _npz_bomb() -> bytes:
    """An .npz whose X member declares 16 bytes but decompresses to 64 MiB (in ~64 KiB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as member:
            member.write(npy_bytes("'<f8'", "(2, 1)"))
            for _ in range(64):
                member.write(bytes(MB))
        zf.writestr("y.npy", npy_bytes("'<f8'", "(2,)", bytes(16)))
    return buffer.getvalue()


def _deep_json(depth: int) -> bytes:
    return b'{"params": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8], "x": ' + (
        b"[" * depth + b"]" * depth + b"}}"
    )


def _meta(**changes: Any) -> str:
    info = {
        "format": "deltaprop-model",
        "format_version": 1,
        "deltaprop_version": "0.1.0",
        "layer_sizes": [1, 1],
        "activation": "sigmoid",
        "output_activation": "sigmoid",
        "cost": "squared_error",
        "weight_decay": 0.0,
        "dtype": "float64",
        "init": "ufldl",
        "seed": 0,
        "extra": {},
        **changes,
    }
    return json.dumps(info)


def _params(dtype: str, n: int, meta: str) -> dict[str, Any]:
    width = {"F64": 8, "F32": 4, "F16": 2, "BOOL": 1, "I64": 8}.get(dtype, 8)
    return {
        "params": {"dtype": dtype, "shape": [n], "data_offsets": [0, n * width]},
        "__metadata__": {"deltaprop": meta},
    }


# (file name, bytes, the words the error must contain). Readers are chosen by file name.
HOSTILE: list[tuple[str, Callable[[Path], bytes], str]] = [
    # IDX: wrong magic, types, dimensions, counts
    ("magic-ubyte", lambda d: b"\x08\x03\x00\x00" + bytes(20), "not an IDX file: magic bytes"),
    ("type-ubyte", lambda d: idx_header(0x0A, (2,)) + bytes(2), "unknown IDX type code 0x0A"),
    ("count-ubyte", lambda d: idx_header(0x08, (60000, 28, 28)) + bytes(100), "truncated data"),
    ("claim-ubyte", lambda d: IDX_MILLION + bytes(88), "1000000 × 1000000"),
    ("max-dims-ubyte", lambda d: idx_header(0x0E, (2**32 - 1,) * 4) + bytes(8), "too many"),
    ("empty-overflow-ubyte", lambda d: idx_header(0x08, (0, *[2**32 - 1] * 3)), "too many"),
    ("dims65-ubyte", lambda d: idx_header(0x08, (1,) * 65) + b"\x00", "65 dimensions declared"),
    ("ndim255-ubyte", lambda d: bytes([0, 0, 8, 255]) + bytes(40), "truncated IDX header"),
    ("claim-ubyte.gz", lambda d: gzip.compress(IDX_MILLION), "more than max_bytes"),
    ("cut-ubyte.gz", lambda d: gzip.compress(idx_header(8, (64,)) + bytes(64))[:30], "gzip"),
    # .npy: magic, counts, signs, overflow, dtypes, pickles, code in the header
    ("magic.npy", lambda d: b"\x93NUMPX\x01\x00" + bytes(120), "not a valid .npy array"),
    ("count.npy", lambda d: npy_bytes(NPY_F8, "(1000, 3)", bytes(8)), "truncated data"),
    ("negative.npy", lambda d: npy_bytes(NPY_F8, "(-1, -2)", bytes(16)), "negative size"),
    ("overflow.npy", lambda d: npy_bytes(NPY_F8, "(2**62, 2**62)"), "not a valid .npy array"),
    ("product.npy", lambda d: npy_bytes(NPY_F8, "(4611686018427387904, 4)"), "too many"),
    ("empty-huge.npy", lambda d: npy_bytes(NPY_F8, "(0, 18446744073709551616)"), "too many"),
    ("complex.npy", lambda d: npy_bytes("'<c16'", "(1, 2)", bytes(32)), "is not real numbers"),
    ("record.npy", lambda d: npy_bytes("[('a', '<f8')]", "(1,)", bytes(8)), "not real numbers"),
    ("time.npy", lambda d: npy_bytes("'<M8[s]'", "(1, 2)", bytes(16)), "not real numbers"),
    (
        "code.npy",
        lambda d: npy_bytes(f"__import__('builtins').open({str(d / 'canary')!r}, 'w')", "(1,)"),
        "not a valid .npy array",
    ),
    ("tokens.npy", lambda d: npy_bytes(NPY_F8, ")0, 2)"), "not a valid .npy array"),
    (
        "long-header.npy",
        lambda d: b"\x93NUMPY\x02\x00" + struct.pack("<I", 100_000) + b"{" * 100_000,
        "not a valid .npy array",
    ),
    (
        "pickle.npy",
        lambda d: _save_npy(np.array([Canary(d / "canary"), 1], dtype=object)),
        "holds Python objects",
    ),
    (
        "uint64.npy",
        lambda d: _save_npy(np.array([[1, 2**64 - 1]], dtype=np.uint64)),
        "y holds 18446744073709551615, more than a 64-bit integer label holds",
    ),
    # .npz: not a zip, bombs, lies, encryption, unknown methods, pickles
    ("junk.npz", lambda d: b"PK\x03\x04" + bytes(60), "not a valid .npz (zip) file"),
    ("names.npz", lambda d: npz_bytes({"a.npy": _save_npy(np.ones((2, 2)))}), "found: a"),
    ("bomb.npz", lambda d: _npz_bomb(), "extra data after the array"),
    ("lying-size.npz", lambda d: _npz_lying_size(), "the member holds 8"),
    (
        "encrypted.npz",
        lambda d: _zip_flags(_npz_xy(), encrypted=True),
        "cannot read the .npz (zip) file",
    ),
    ("method.npz", lambda d: _zip_flags(_npz_xy(), method=99), "compression method"),
    (
        "pickle.npz",
        lambda d: npz_bytes(
            {"X.npy": _save_npy(np.array([[Canary(d / "canary")]])), "y.npy": _save_npy([0])}
        ),
        "holds Python objects",
    ),
    # CSV
    ("field.csv", lambda d: b"a,b\n" + b"1" * 200_000 + b",2\n", "field larger than field limit"),
    ("nul.csv", lambda d: b"a,b,c\n1,\x00,3\n", "line 2, column 'b'"),
    ("bytes.csv", lambda d: b"a,b\n\x80\x81,1\n", "not UTF-8 text"),
    ("quote.csv", lambda d: b'a,b\n"1,2\n', "line 2: a quoted field"),
    ("long-cell.csv", lambda d: b"a,b\n" + b"x" * 100_000 + b",1\n", "(100002 characters) is not"),
    # model files (safetensors): lying lengths, claims, shapes, dtypes, deep or huge JSON
    ("length-huge.safetensors", lambda d: _safetensors({}, length=2**64 - 1), "says 1844674"),
    (
        "length-short.safetensors",
        lambda d: _safetensors(_params("F64", 1, _meta()), bytes(8), length=20),
        "not a valid safetensors file",
    ),
    (
        "claim.safetensors",
        lambda d: _safetensors(
            {"params": {"dtype": "F64", "shape": [10**6] * 2, "data_offsets": [0, 8 * 10**12]}}
        ),
        "not a valid safetensors file",
    ),
    (
        "shape-overflow.safetensors",
        lambda d: _safetensors(
            {"params": {"dtype": "F64", "shape": [2**32] * 3, "data_offsets": [0, 8]}}, bytes(8)
        ),
        "not a valid safetensors file",
    ),
    (
        "negative.safetensors",
        lambda d: _safetensors(
            {"params": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}}, bytes(8)
        ),
        "not a valid safetensors file",
    ),
    (
        "dtype-q8.safetensors",
        lambda d: _safetensors(_params("Q8", 4, _meta()), bytes(32)),
        "not a valid safetensors file",
    ),
    (
        "dtype-bool.safetensors",
        lambda d: _safetensors(_params("BOOL", 4, _meta(layer_sizes=[1, 2])), bytes(4)),
        "has dtype bool, the metadata says float64",
    ),
    (
        "dtype-f16.safetensors",
        lambda d: _safetensors(_params("F16", 2, _meta(dtype="float16")), bytes(4)),
        "unknown dtype 'float16'",
    ),
    (
        "dtype-object.safetensors",
        lambda d: _safetensors(_params("F64", 2, _meta(dtype="object")), bytes(16)),
        "unknown dtype 'object'",
    ),
    (
        "layers-overflow.safetensors",
        lambda d: _safetensors(_params("F64", 2, _meta(layer_sizes=[2**64, 2**64])), bytes(16)),
        "layer_sizes [18446744073709551616, 18446744073709551616] need",
    ),
    ("deep.safetensors", lambda d: _safetensors(_deep_json(5000), bytes(8)), "not a valid"),
    (
        "deep-meta.safetensors",
        lambda d: _safetensors(_params("F64", 2, "[" * 50_000 + "]" * 50_000), bytes(16)),
        "'deltaprop' metadata is not valid JSON",
    ),
    (
        "huge-meta.safetensors",
        lambda d: _safetensors(_params("F64", 2, _meta(extra={"x": "a" * (20 * MB)})), bytes(16)),
        "more than the limit of 16777216",
    ),
    (
        "long-field.safetensors",
        lambda d: _safetensors(_params("F64", 2, _meta(activation="x" * 5 * MB)), bytes(16)),
        "unknown activation 'xxxxx",
    ),
    (
        "long-dtype.safetensors",
        lambda d: _safetensors(
            {"params": {"dtype": "Q" * MB, "shape": [2], "data_offsets": [0, 16]}}, bytes(16)
        ),
        "not a valid safetensors file",
    ),
    (
        "many-layers.safetensors",
        lambda d: _safetensors(_params("F64", 2, _meta(layer_sizes=[1] * 200_000)), bytes(16)),
        "need 399998",
    ),
    ("pickle.safetensors", lambda d: pickle.dumps(Canary(d / "canary")), "header length"),
    (
        "torch-zip.safetensors",
        lambda d: npz_bytes({"archive/data.pkl": pickle.dumps(Canary(d / "canary"))}),
        "header length",
    ),
    (
        "model-as.ckpt",
        lambda d: _safetensors(_params("F64", 2, _meta(layer_sizes=[1, 1])), bytes(16)),
        "format is 'deltaprop-model', expected 'deltaprop-checkpoint'",
    ),
    (
        "arrays.ckpt",
        lambda d: _safetensors(
            _params(
                "F64",
                2,
                _meta(format="deltaprop-checkpoint", arrays=[1, None], state={}, extra=None),
            ),
            bytes(16),
        ),
        "'arrays' must list distinct non-empty names",
    ),
]


def _save_npy(array: Any) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=True)
    return buffer.getvalue()


def _npz_xy() -> bytes:
    return npz_bytes({"X.npy": _save_npy(np.ones((2, 2))), "y.npy": _save_npy(np.zeros(2))})


def read_any(path: Path) -> Any:
    """The reader for ``path`` by its name; returns the error type it must raise."""
    name = path.name
    if name.endswith(".safetensors"):
        return load_model(path)
    if name.endswith(".ckpt"):
        return load_checkpoint(path)
    if name.endswith(("-ubyte", "-ubyte.gz")):
        return read_idx(path)
    return load_file(path)


@pytest.mark.parametrize(("name", "make", "words"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_corpus_is_refused_with_a_clear_message(
    tmp_path: Path, name: str, make: Callable[[Path], bytes], words: str
) -> None:
    path = tmp_path / name
    path.write_bytes(make(tmp_path))
    error = ModelFileError if name.endswith((".safetensors", ".ckpt")) else DataError
    tracemalloc.start()
    try:
        with time_limit(), pytest.raises(error) as info:
            read_any(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    assert words in message, message
    assert len(message) < len(str(path)) + 500, "the message quotes too much of the file"
    assert not (tmp_path / "canary").exists(), "the file's code ran"
    # Memory follows the file's real size, never its claims: at most 16 times the file
    # (parsed JSON costs about ten times its text in Python objects), plus 2 MiB.
    assert peak < 16 * path.stat().st_size + 2 * MB, f"peak {peak / MB:.1f} MiB"


def test_hostile_corpus_through_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every hostile file given to the command: one line naming it, exit status 2.
    for name, make, _ in HOSTILE:
        if name.endswith(("-ubyte", "-ubyte.gz")):
            continue  # IDX images need a labels file; read_idx is tried above
        path = tmp_path / name
        path.write_bytes(make(tmp_path))
        if name.endswith(".safetensors"):
            argv = ["info", str(path)]
        elif name.endswith(".ckpt"):
            argv = ["train", "moons", "-q", "--resume", str(path), "--checkpoint", str(path)]
        else:
            argv = ["train", str(path), "--epochs", "1", "-q"]
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (name, err)
        assert err.count("\n") == 1 and err.startswith(f"deltaprop: error: {path}"), err
    assert not (tmp_path / "canary").exists()


# --- allocation bombs -----------------------------------------------------------------------


def test_safetensors_claiming_1e12_elements_is_refused_with_little_memory(
    tmp_path: Path,
) -> None:
    # 10⁶ × 10⁶ float64 = 8 TB declared in a 100-byte file. Before the fix, reading the
    # file asked for max_bytes (4 GiB) of buffer whatever its real size.
    header = {"params": {"dtype": "F64", "shape": [10**6, 10**6], "data_offsets": [0, 8 * 10**12]}}
    text = json.dumps(header, separators=(",", ":")).encode()
    raw = len(text).to_bytes(8, "little") + text
    raw += b" " * (100 - len(raw))
    for name, loader in (("m.safetensors", load_model), ("c.ckpt", load_checkpoint)):
        path = tmp_path / name
        path.write_bytes(raw)
        assert path.stat().st_size == 100
        assert peak_memory(lambda p=path, f=loader: f(p), ModelFileError) < MB


def test_npz_member_lying_about_its_size_is_refused_with_little_memory(tmp_path: Path) -> None:
    # The zip directory says X.npy decompresses to 800 MB, and X's header agrees; the
    # data are 8 bytes. numpy's own reader would allocate the 800 MB before reading.
    make = dict((h[0], h[1]) for h in HOSTILE)["lying-size.npz"]
    path = tmp_path / "lie.npz"
    path.write_bytes(make(tmp_path))
    assert path.stat().st_size < 1000
    assert peak_memory(lambda: read_npz(path), DataError) < 10 * MB


_SMALL_ADDRESS_SPACE = r"""
import resource, sys
from pathlib import Path
import numpy as np, safetensors.numpy
from deltaprop.data import DataError, load_file, read_idx
from deltaprop.io import ModelFileError, load_checkpoint, load_model
vm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmSize"))
limit = vm * 1024 + 512 * 2**20  # what is mapped now, plus 512 MiB
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for name in sys.argv[1:]:
    p = Path(name)
    reader = {".safetensors": load_model, ".ckpt": load_checkpoint}.get(p.suffix, load_file)
    if p.name.endswith("-ubyte"):
        reader = read_idx
    try:
        reader(p)
    except (ModelFileError, DataError):
        print("refused", p.name)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc: Linux")
def test_refusals_fit_in_a_small_address_space(tmp_path: Path) -> None:
    # tracemalloc sees Python's and numpy's allocations only; under RLIMIT_AS any big
    # allocation anywhere (safetensors' Rust side included) would fail with MemoryError.
    names = ["claim.safetensors", "claim-ubyte", "count.npy", "lying-size.npz", "bomb.npz"]
    makers = {h[0]: h[1] for h in HOSTILE}
    paths = []
    for name in names:
        (tmp_path / name).write_bytes(makers[name](tmp_path))
        paths.append(str(tmp_path / name))
    (tmp_path / "claim.ckpt").write_bytes(makers["claim.safetensors"](tmp_path))
    paths.append(str(tmp_path / "claim.ckpt"))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", _SMALL_ADDRESS_SPACE, *paths],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [w for p in paths for w in ("refused", Path(p).name)]


# --- crash safety: SIGKILL and SIGINT during training -----------------------------------------

EPOCHS = 30
TRAIN = ["train", "moons", "--epochs", str(EPOCHS), "--early-stopping", "0", "--no-plot"]
TRAIN += ["--checkpoint-every", "1", "--seed", "3"]


def command(tmp: Path, output: str = "model.safetensors", *, resume: bool = False) -> list[str]:
    """The training command for a run in ``tmp``, checkpointing to tmp/run.ckpt."""
    argv = [*TRAIN, "--checkpoint", str(tmp / "run.ckpt"), "-o", str(tmp / output)]
    return [*argv, "--resume", str(tmp / "run.ckpt")] if resume else argv


def start(argv: list[str], stderr: Path) -> subprocess.Popen[bytes]:
    with open(stderr, "wb") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "deltaprop", *argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=stderr.parent,
        )


def wait_for_training(proc: subprocess.Popen[bytes], stderr: Path) -> None:
    """Until the command has printed its data line: the next thing it does is train."""
    deadline = time.monotonic() + 60
    while b"\ndata: " not in stderr.read_bytes() and proc.poll() is None:
        assert time.monotonic() < deadline, stderr.read_text()
        time.sleep(0.005)


def newest_checkpoint(tmp: Path) -> int | None:
    """The epoch of the checkpoint on disk (None: there is none), after checking it whole."""
    path = tmp / "run.ckpt"
    if not path.exists():
        return None
    net, arrays, state = load_checkpoint(path)  # raises if it were torn
    assert net.layer_sizes == (2, 16, 2) and np.all(np.isfinite(net.params))
    assert set(arrays) == {"opt/m", "opt/v"} and len(state["history"]["epoch"]) == state["epoch"]
    return int(state["epoch"])


def resume_and_compare(tmp: Path, reference: bytes) -> None:
    """Finish the run from its checkpoint (or from scratch) and compare θ bit for bit."""
    resume = (tmp / "run.ckpt").exists()
    assert main([*command(tmp, "resumed.safetensors", resume=resume), "-q"]) == 0
    assert load_model(tmp / "resumed.safetensors").params.tobytes() == reference


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, float]:
    """θ of the uninterrupted run, and how long its training took (from the data line)."""
    tmp = tmp_path_factory.mktemp("reference")
    stderr = tmp / "stderr"
    proc = start(command(tmp), stderr)
    wait_for_training(proc, stderr)
    began = time.monotonic()
    assert proc.wait(timeout=120) == 0, stderr.read_text()
    duration = time.monotonic() - began
    assert newest_checkpoint(tmp) == EPOCHS
    return load_model(tmp / "model.safetensors").params.tobytes(), duration


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_sigkill_at_random_moments_loses_nothing(
    tmp_path: Path, reference_run: tuple[bytes, float], capsys: pytest.CaptureFixture[str]
) -> None:
    reference, duration = reference_run
    rng = random.Random(10)
    kills = 12 * STRESS
    killed_mid_run = 0
    for k in range(kills):
        tmp = tmp_path / f"kill{k}"
        tmp.mkdir()
        stderr = tmp / "stderr"
        proc = start(command(tmp), stderr)
        wait_for_training(proc, stderr)
        time.sleep(rng.uniform(0, duration))
        if proc.poll() is None:
            killed_mid_run += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        epoch = newest_checkpoint(tmp)
        assert epoch is None or 0 <= epoch <= EPOCHS
        kept = {"stderr", "run.ckpt", "model.safetensors", "model.history.json"}
        leftovers = {p.name for p in tmp.iterdir()} - kept - {"model.history.csv"}
        temp = r"\.(run\.ckpt|model\.[a-z.]+)\.[0-9a-f]{12}\.tmp"  # what SIGKILL interrupted
        assert all(re.fullmatch(temp, name) for name in leftovers), leftovers
        resume_and_compare(tmp, reference)
        capsys.readouterr()
    assert killed_mid_run >= kills // 3, f"only {killed_mid_run} of {kills} kills hit training"


_KILL_DURING_WRITE = r"""
import os, signal, sys
import deltaprop.modelformat

write_no, stage = int(sys.argv[1]), sys.argv[2]
writes = 0

def die():
    os.kill(os.getpid(), signal.SIGKILL)

class TempFile:
    def __init__(self, f):
        self.f = f
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
    def fileno(self):
        return self.f.fileno()
    def flush(self):
        self.f.flush()
    def write(self, data):
        if stage == "write" and writes == write_no:  # half the bytes reach the disk
            self.f.write(data[: len(data) // 2])
            self.f.flush()
            die()
        return self.f.write(data)

class Os:  # what deltaprop.modelformat sees as os
    def __getattr__(self, name):
        return getattr(os, name)
    def fdopen(self, fd, *args, **kwargs):
        global writes
        writes += 1
        return TempFile(os.fdopen(fd, *args, **kwargs))
    def fsync(self, fd):
        if stage == "fsync" and writes == write_no:
            die()
        os.fsync(fd)
    def replace(self, src, dst):
        if stage == "replace" and writes == write_no:
            die()
        os.replace(src, dst)
        if stage == "renamed" and writes == write_no:
            die()

deltaprop.modelformat.os = Os()
from deltaprop.cli import main
sys.exit(main(sys.argv[3:]))
"""


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
@pytest.mark.parametrize(
    ("stage", "saved"),
    [("write", 4), ("fsync", 4), ("replace", 4), ("renamed", 5)],
    ids=["mid-write", "before-fsync", "before-rename", "after-rename"],
)
def test_sigkill_during_a_checkpoint_write_loses_nothing(
    tmp_path: Path,
    reference_run: tuple[bytes, float],
    capsys: pytest.CaptureFixture[str],
    stage: str,
    saved: int,
) -> None:
    # Killed during the 5th checkpoint write (after epoch 5): before the rename the 4th
    # checkpoint is still the file on disk, after it the 5th.
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_DURING_WRITE, "5", stage, *command(tmp_path), "-q"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert newest_checkpoint(tmp_path) == saved
    temps = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(temps) == (0 if stage == "renamed" else 1)  # SIGKILL leaves no time to clean
    resume_and_compare(tmp_path, reference_run[0])
    capsys.readouterr()


@pytest.mark.skipif(not POSIX, reason="SIGINT to a subprocess")
def test_sigint_saves_exits_130_and_resumes_to_the_same_parameters(
    tmp_path: Path, reference_run: tuple[bytes, float], capsys: pytest.CaptureFixture[str]
) -> None:
    reference, duration = reference_run
    rng = random.Random(20)
    for k in range(3 * STRESS):
        tmp = tmp_path / f"int{k}"
        tmp.mkdir()
        stderr = tmp / "stderr"
        proc = start(command(tmp), stderr)
        wait_for_training(proc, stderr)
        time.sleep(rng.uniform(0, 0.8 * duration))
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        err = stderr.read_text()
        assert "Traceback" not in err, err
        if code == 130:
            assert "deltaprop: interrupted" in err
            assert not (tmp / "model.safetensors").exists() or newest_checkpoint(tmp) == EPOCHS
        elif code == -signal.SIGINT:
            # After main returned, Python restores the default handler while it shuts
            # down (a shell reports 130 too); everything had been written by then.
            load_model(tmp / "model.safetensors")
        else:
            assert code == 0, err  # the signal came after the run had finished
        newest_checkpoint(tmp)
        assert not [p for p in tmp.iterdir() if p.name.endswith(".tmp")]
        resume_and_compare(tmp, reference)
        capsys.readouterr()


# --- full disks -------------------------------------------------------------------------------


class FullDisk:
    """What deltaprop.modelformat sees as ``os`` on a disk that fills up: from write number
    ``after`` + 1 on, write() stores half its bytes then fails with ENOSPC (or fsync fails)."""

    def __init__(self, where: str, after: int = 0) -> None:
        self.where, self.after, self.writes = where, after, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def _full(self) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(self, fd: int, *args: Any, **kwargs: Any) -> Any:
        self.writes += 1
        f = os.fdopen(fd, *args, **kwargs)
        if self.where != "write" or self.writes <= self.after:
            return f
        disk = self

        class Half:
            def __enter__(self) -> Half:
                return self

            def __exit__(self, *exc: Any) -> None:
                f.close()

            def write(self, data: bytes) -> int:
                f.write(data[: len(data) // 2])
                f.flush()
                raise disk._full()

        return Half()

    def fsync(self, fd: int) -> None:
        if self.where == "fsync" and self.writes > self.after:
            raise self._full()
        os.fsync(fd)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("where", ["write", "fsync"])
def test_full_disk_keeps_the_previous_model_and_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    net = dp.Network([3, 4, 2], seed=0)
    model, ckpt = tmp_path / "m.safetensors", tmp_path / "c.ckpt"
    save_model(net, model)
    save_checkpoint(ckpt, net, arrays={"m": np.ones(3)}, state={"epoch": 1})
    before = {p: p.read_bytes() for p in (model, ckpt)}
    monkeypatch.setattr(dpio, "os", FullDisk(where))
    other = dp.Network([3, 4, 2], seed=1)
    for path, save in (
        (model, lambda: save_model(other, model)),
        (ckpt, lambda: save_checkpoint(ckpt, other, arrays={}, state={"epoch": 2})),
    ):
        with pytest.raises(OSError) as info:
            save()
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(path)
        assert path.read_bytes() == before[path]
    assert listing(tmp_path) == ["c.ckpt", "m.safetensors"]  # no temporary file left
    monkeypatch.undo()
    assert load_model(model).params.tobytes() == net.params.tobytes()


def test_full_disk_when_the_command_saves_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "m.safetensors"
    assert main(["train", "moons", "--epochs", "2", "-q", "--no-plot", "-o", str(model)]) == 0
    before = model.read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(dpio, "os", FullDisk("write"))
    argv = ["train", "moons", "--epochs", "3", "-q", "--no-plot", "-o", str(model), "--force"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"deltaprop: error: {model}: No space left on device\n"
    assert model.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_full_disk_during_checkpoints_keeps_the_last_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The disk fills after three checkpoint writes: the run stops with one line and
    # status 2, and the checkpoint of epoch 3 is whole and resumable.
    ckpt = tmp_path / "run.ckpt"
    monkeypatch.setattr(dpio, "os", FullDisk("fsync", after=3))
    assert main([*TRAIN, "--checkpoint", str(ckpt), "-q"]) == 2
    assert capsys.readouterr().err == f"deltaprop: error: {ckpt}: No space left on device\n"
    monkeypatch.undo()
    assert newest_checkpoint(tmp_path) == 3
    assert listing(tmp_path) == ["run.ckpt"]


_FILE_SIZE_LIMIT = r"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
from deltaprop.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.skipif(not POSIX, reason="RLIMIT_FSIZE")
def test_file_size_limit_in_a_real_process(tmp_path: Path) -> None:
    # The kernel refuses the write (EFBIG) past 2 KiB: the model of a 2-16-2 network with
    # its history is larger, so saving fails for real, not through a mock.
    model = tmp_path / "m.safetensors"
    assert main(["train", "moons", "--epochs", "2", "-q", "--no-plot", "-o", str(model)]) == 0
    before = model.read_bytes()
    assert len(before) > 2048
    argv = ["train", "moons", "--epochs", "3", "-q", "--no-plot", "-o", str(model), "--force"]
    proc = subprocess.run(
        [sys.executable, "-c", _FILE_SIZE_LIMIT, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"deltaprop: error: {model}: File too large\n"
    assert model.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m.history.csv",
        "m.history.json",
        "m.safetensors",
    ]


# --- poisoned data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "words"),
    [
        ("-inf", "infinity is not allowed"),
        ("+Infinity", "infinity is not allowed"),
        ("1e999", "infinity is not allowed"),  # finite text that overflows float64
        (" NaN ", "missing value"),  # a marker of a missing value, refused by read_csv
        ("nan", "missing value"),
    ],
)
@pytest.mark.parametrize("column", ["a", "y"])
def test_non_finite_csv_cells_are_named_in_features_and_target(
    tmp_path: Path, cell: str, words: str, column: str
) -> None:
    path = tmp_path / "p.csv"
    row = {"a": cell, "y": "1"} if column == "a" else {"a": "2", "y": cell}
    path.write_text(f"a,y\n1,0\n{row['a']},{row['y']}\n")
    with pytest.raises(DataError, match=rf"p\.csv: line 3, column '{column}': {words}"):
        read_csv(path)


def test_non_finite_values_in_binary_files_are_named(tmp_path: Path) -> None:
    images = np.zeros((3, 2, 2), dtype=">f4")
    images[1, 1, 0] = np.nan  # row 1, flattened column 2
    (tmp_path / "x-images-idx3-ubyte").write_bytes(idx_header(0x0D, (3, 2, 2)) + images.tobytes())
    (tmp_path / "x-labels-idx1-ubyte").write_bytes(idx_header(0x08, (3,)) + bytes(3))
    with pytest.raises(DataError, match=r"x-images-idx3-ubyte: X\[1, 2\] is NaN"):
        load_file(tmp_path / "x-images-idx3-ubyte")
    X = np.zeros((2, 2, 3))
    X[1, 0, 2] = -np.inf
    np.savez(tmp_path / "i.npz", X=X, y=np.zeros(2))
    with pytest.raises(DataError, match=r"i\.npz: X\[1, 2\] is infinity"):
        read_npz(tmp_path / "i.npz")
    np.save(tmp_path / "y.npy", np.array([[1.0, 0.0], [2.0, np.inf]]))
    with pytest.raises(DataError, match=r"y\.npy: y\[1\] is infinity"):
        read_npy(tmp_path / "y.npy")


@pytest.mark.parametrize(
    ("X", "Y", "words"),
    [
        ([[0.0, 1.0], [np.nan, 2.0]], [[0.0], [1.0]], "X contains NaN at row 1, column 0"),
        ([[0.0, 1.0], [1.0, 2.0]], [[0.0], [-np.inf]], "Y contains infinity at row 1, column 0"),
    ],
)
def test_non_finite_arrays_given_to_train_are_named(X: Any, Y: Any, words: str) -> None:
    net = dp.Network([2, 3, 1], output_activation="identity", seed=0)
    before = net.params.copy()
    with pytest.raises(ValueError, match=words):
        dp.train(net, np.array(X), np.array(Y), epochs=1)
    np.testing.assert_array_equal(net.params, before)


def blobs_csv(path: Path, column: Callable[[np.ndarray], np.ndarray] | None = None) -> Path:
    """Three numeric features and a two-class label; ``column`` rewrites feature b."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    if column is not None:
        X[:, 1] = column(X[:, 1])
    rows = [",".join(repr(float(v)) for v in r) + f",{t}" for r, t in zip(X, y)]
    path.write_text("a,b,c,y\n" + "\n".join(rows) + "\n")
    return path


def test_values_too_large_to_standardize_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Σ(x − μ)² overflows for |x| near 1e300: σ would be infinite and the column would
    # quietly become zeros. The command names the column instead.
    path = blobs_csv(tmp_path / "huge.csv", lambda b: b * 1e300)
    assert main(["train", str(path), "--epochs", "1", "-q"]) == 2
    line = capsys.readouterr().err
    assert line.startswith(f"deltaprop: error: {path}: feature 'b': values up to ")
    assert "too large to standardize" in line and "--no-standardize" in line
    assert line.count("\n") == 1  # and no numpy warning
    # Without standardisation the values are used as given, and training runs.
    assert main(["train", str(path), "--epochs", "2", "-q", "--no-standardize"]) == 0


def test_a_huge_value_outside_the_training_rows_is_named(tmp_path: Path) -> None:
    # One -1.79e308 among normal values: in the training rows it makes σ overflow; in
    # the others (x − μ)/σ overflows for its row. Either way the column is named.
    def poison(b: np.ndarray) -> np.ndarray:
        b = 0.5 * b  # σ ≈ 0.5 for the other rows, so that x / σ overflows
        b[5] = -1.79e308
        return b

    path = blobs_csv(tmp_path / "one.csv", poison)
    with pytest.raises(DataError, match=r"one\.csv: (line \d+, )?feature 'b': .*too large"):
        runs.prepare(str(path), app.resolve_settings(str(path), None, {}))


def test_constant_column_standardizes_to_zero(tmp_path: Path) -> None:
    # A constant column gets σ = 1 (Standardizer's documented rule): it maps to 0 in
    # every split, and training runs.
    path = blobs_csv(tmp_path / "const.csv", lambda b: np.full_like(b, 7.5))
    prepared = runs.prepare(str(path), app.resolve_settings(str(path), None, {}))
    for X in (prepared.X_train, prepared.X_val, prepared.X_test):
        np.testing.assert_array_equal(X[:, 1], 0.0)
    assert prepared.columns is not None and prepared.columns.scaler is not None
    assert prepared.columns.scaler.scale[1] == 1.0
    assert main(["train", str(path), "--epochs", "2", "-q"]) == 0


def test_divergence_from_the_command_keeps_the_last_finite_parameters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # cli's docstring: status 1 for training that diverged. The model is still written,
    # with the last finite θ, and its history stops at the last finite epoch.
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(60, 2))
    rows = [f"{a!r},{b!r},{3 * a - b + 0.5!r}" for a, b in X.tolist()]
    data = tmp_path / "reg.csv"
    data.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    model = tmp_path / "div.safetensors"
    argv = ["train", str(data), "--optimizer", "sgd", "--learning-rate", "1e4", "--epochs", "200"]
    code = main([*argv, "--early-stopping", "0", "-q", "--no-plot", "-o", str(model)])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("deltaprop: training diverged at epoch ") and err.count("\n") == 1
    assert "stopped: diverged" in out
    net = load_model(model)  # save_model refuses non-finite θ: loading proves it finite
    history = load_metadata(model)["extra"]["history"]
    assert 0 < len(history["epoch"]) < 200
    assert all(math.isfinite(v) for v in history["train_loss"])
    assert np.all(np.isfinite(net.params))


# --- what the owners of other modules still have to fix -------------------------------------

_HOSTILE_STATES: list[Any] = [
    pytest.param({"rng": "x"}, id="rng-not-a-dict"),
    pytest.param({"history": {"epoch": 5}}, id="history-lists-not-lists"),
    pytest.param({"config": []}, id="config-not-a-dict"),
    pytest.param({"opt_scalars": [1]}, id="opt-scalars-not-a-dict"),
    pytest.param({"opt_scalars": {"t": "x"}}, id="opt-scalar-not-a-number"),
    pytest.param({"epoch": "x"}, id="epoch-not-a-number"),
    pytest.param(None, id="rng-missing"),
]


@pytest.mark.parametrize("change", _HOSTILE_STATES)
def test_resume_from_a_hostile_checkpoint_state_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any] | None
) -> None:
    ckpt = tmp_path / "run.ckpt"
    assert main([*TRAIN[:3], "2", *TRAIN[4:], "--checkpoint", str(ckpt), "-q"]) == 0
    net, arrays, state = load_checkpoint(ckpt)
    if change is None:
        del state["rng"]
    else:
        state.update(change)
    save_checkpoint(ckpt, net, arrays=arrays, state=state)
    capsys.readouterr()
    with time_limit():
        code = main([*TRAIN, "--resume", str(ckpt), "--checkpoint", str(ckpt), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"deltaprop: error: {ckpt}") and err.count("\n") == 1


def test_resuming_a_run_that_stopped_early_does_not_train_on(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(60, 4)), np.eye(3)[rng.integers(0, 3, 60)]
    Xv, Yv = rng.normal(size=(30, 4)), np.eye(3)[rng.integers(0, 3, 30)]
    kw: dict[str, Any] = dict(optimizer="adam", learning_rate=0.05, validation=(Xv, Yv))
    kw.update(early_stopping=3, seed=1, batch_size=16, epochs=200)
    first = dp.Network([4, 30, 3], cost="cross_entropy", seed=0)
    stopped = dp.train(first, X, Y, checkpoint=tmp_path / "c.ckpt", checkpoint_every=1, **kw)
    assert stopped.stopped_early
    again = dp.Network([4, 30, 3], cost="cross_entropy", seed=0)
    resumed = dp.train(again, X, Y, resume=tmp_path / "c.ckpt", **kw)
    assert len(resumed) == len(stopped)


def test_data_beyond_float32_range_is_named_for_a_float32_network() -> None:
    net = dp.Network([2, 3, 1], dtype="float32", seed=0)
    with pytest.raises(ValueError, match=r"X.*row 0, column 1"):
        net.check_data(np.array([[1.0, 1e39]]), np.array([[0.5]]))
