"""File readers: IDX (the MNIST format), .npy and .npz; :func:`load_file` picks one.

Each reader checks its input before it trusts it: sizes declared in a header are
compared with the bytes really there before anything of that size is allocated,
gzip and zip data are never decompressed past what the header declares (plus one
byte, to notice trailing data) nor past ``max_bytes``, and nothing is ever
unpickled. Every problem is a :class:`DataError` with a one-line message that
names the file and, where it applies, the line, column or option.

Features come back as float64 (m, n) arrays. Targets keep the file's integer
dtype (as int64) when the file stores integers (IDX, .npy, .npz); CSV is text,
so its target column is float64 (or class names). CSV files are read by
:mod:`deltaprop.data.tables`.
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from tokenize import TokenError
from typing import IO, Protocol

import numpy as np
import numpy.lib.format as npformat

from .errors import DataError
from .errors import clip as _clip
from .tables import read_csv

PathLike = str | os.PathLike[str]

MAX_DECOMPRESSED = 1 << 30
"""Default cap (bytes) on the decompressed size of one gzip IDX file or one .npz member."""

_CHUNK = 1 << 20
_MAX_DIMS = 64  # numpy's limit on an array's dimensions
_MAX_INDEX = int(np.iinfo(np.intp).max)
_MAX_INT64 = int(np.iinfo(np.int64).max)

IDX_DTYPES: dict[int, tuple[str, str]] = {
    0x08: (">u1", "ubyte"),
    0x09: (">i1", "byte"),
    0x0B: (">i2", "short"),
    0x0C: (">i4", "int"),
    0x0D: (">f4", "float"),
    0x0E: (">f8", "double"),
}
"""IDX type code → (big-endian numpy dtype, the format's name for it)."""


class _Stream(Protocol):
    """What the readers need of a file, a gzip stream or a zip member."""

    def read(self, size: int = -1, /) -> bytes: ...

    def tell(self) -> int: ...


_IDX_NAME = re.compile(r"(-ubyte|\.idx\d?)(\.gz)?$", re.IGNORECASE)


# --- shared helpers -------------------------------------------------------------


def _open(path: PathLike) -> IO[bytes]:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror or exc})") from None


def _read_at_most(f: _Stream, limit: int) -> bytearray:
    """Up to ``limit`` bytes, read in chunks so that memory follows the data, not the claim."""
    buf = bytearray()
    while len(buf) < limit:
        chunk = f.read(min(_CHUNK, limit - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _one_line(exc: BaseException) -> str:
    """A library's error message folded onto one line (numpy's can span several), clipped."""
    return _clip(" ".join(str(exc).split()))


def _shape_text(shape: tuple[int, ...]) -> str:
    return " × ".join(str(d) for d in shape) if shape else "scalar"


def _check_shape(where: str, shape: tuple[int, ...], dtype: np.dtype, what: str) -> None:
    """A DataError unless numpy can make an array of ``shape`` (empty ones included).

    numpy allows at most 64 dimensions, none negative, and refuses shapes whose
    non-zero sizes multiply past its index range even when another size is 0.
    """
    if len(shape) > _MAX_DIMS:
        raise DataError(f"{where}: {len(shape)} dimensions declared; at most {_MAX_DIMS} allowed")
    if any(d < 0 for d in shape):
        raise DataError(f"{where}: {what}; a negative size is not allowed")
    if math.prod(d for d in shape if d) * dtype.itemsize > _MAX_INDEX:
        raise DataError(f"{where}: {what}, too many for one array")


def _finite(path: PathLike, name: str, values: np.ndarray) -> None:
    """A DataError naming the first NaN or infinity in ``values`` (1-D or 2-D)."""
    if values.dtype.kind != "f" or np.all(np.isfinite(values)):
        return
    where = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
    kind = "NaN" if np.isnan(values[where]) else "infinity"
    index = ", ".join(str(i) for i in where)
    raise DataError(f"{path}: {name}[{index}] is {kind}; {kind} is not allowed in data")


def _as_xy(path: PathLike, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check rows match and values are finite; X → float64 (m, n), integer y → int64."""
    if X.ndim < 2:
        raise DataError(f"{path}: X must be 2-D (rows = examples), got shape {X.shape}")
    if y.ndim not in (1, 2):
        raise DataError(f"{path}: y must be 1-D or 2-D, got shape {y.shape}")
    if X.shape[0] == 0:
        raise DataError(f"{path}: no examples (X has 0 rows)")
    if y.shape[0] != X.shape[0]:
        raise DataError(f"{path}: X has {X.shape[0]} rows but y has {y.shape[0]}")
    if y.dtype.kind == "u" and y.size and int(y.max()) > _MAX_INT64:  # would wrap negative
        raise DataError(f"{path}: y holds {int(y.max())}, more than a 64-bit integer label holds")
    X = np.asarray(X.reshape(X.shape[0], -1), dtype=np.float64)
    y = np.asarray(y, dtype=np.int64 if y.dtype.kind in "iu" else np.float64)
    _finite(path, "X", X)
    _finite(path, "y", y)
    return X, y


# --- IDX ------------------------------------------------------------------------


def read_idx(path: PathLike, *, max_bytes: int = MAX_DECOMPRESSED) -> np.ndarray:
    """The array in an IDX file (raw, or gzip-compressed: detected by the bytes 1f 8b).

    Format (big-endian): bytes 00 00, a type code (08 ubyte, 09 byte, 0B short,
    0C int, 0D float, 0E double), the number of dimensions d, then d uint32
    sizes, then the values in row-major order. The declared size is checked
    against the real one before the data are read: a raw file by its length on
    disk; a gzip file by decompressing at most (declared bytes + 1), and at most
    ``max_bytes``. The result has the file's type in native byte order.

    References: LeCun et al., "THE MNIST DATABASE of handwritten digits", file formats.
    """
    with _open(path) as raw:
        try:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw) as f:
                    return _read_idx_stream(path, f, None, max_bytes)
            return _read_idx_stream(path, raw, os.fstat(raw.fileno()).st_size, max_bytes)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_idx_stream(
    path: PathLike, f: _Stream, file_size: int | None, max_bytes: int
) -> np.ndarray:
    magic = bytes(_read_at_most(f, 4))
    if len(magic) < 4:
        raise DataError(f"{path}: {len(magic)} bytes, too short for an IDX header")
    if magic[:2] != b"\x00\x00":
        raise DataError(
            f"{path}: not an IDX file: magic bytes {magic.hex(' ')}, "
            "expected 00 00 <type code> <number of dimensions>"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} {name}" for c, (_, name) in IDX_DTYPES.items())
        raise DataError(f"{path}: unknown IDX type code 0x{code:02X}; known codes: {known}")
    if ndim == 0:
        raise DataError(f"{path}: the IDX header declares 0 dimensions")
    size_bytes = bytes(_read_at_most(f, 4 * ndim))
    if len(size_bytes) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header: {ndim} dimensions declared, sizes missing")
    shape = struct.unpack(f">{ndim}I", size_bytes)
    dtype = np.dtype(IDX_DTYPES[code][0])
    declared = math.prod(shape) * dtype.itemsize
    what = (
        f"the header declares {_shape_text(shape)} {IDX_DTYPES[code][1]} values ({declared} bytes)"
    )
    _check_shape(str(path), shape, dtype, what)
    data = None
    if file_size is not None:  # raw: the length on disk tells before anything is read
        present = file_size - 4 - 4 * ndim
    elif declared > max_bytes:
        raise DataError(f"{path}: {what}, more than max_bytes={max_bytes} allows")
    else:  # gzip: decompress at most one byte more than declared
        data = _read_at_most(f, declared + 1)
        present = len(data)
    if present < declared:
        raise DataError(f"{path}: truncated data: {what}, the file holds only {present} bytes")
    if present > declared:
        raise DataError(f"{path}: extra data after the values: {what}")
    if data is None:
        data = _read_at_most(f, declared)
        if len(data) != declared:  # the file changed under us
            raise DataError(f"{path}: truncated data: {what}, read {len(data)} bytes")
    values = np.frombuffer(data, dtype=dtype, count=math.prod(shape)).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=False)


def read_idx_pair(
    images_path: PathLike, labels_path: PathLike, *, max_bytes: int = MAX_DECOMPRESSED
) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, d₁ × d₂ × …) in the file's dtype and labels (n,) as int64, counts checked.

    The images file holds an array of n examples of any shape (n, d₁, d₂, …),
    flattened here to one row per example; the labels file a 1-D integer array
    of the same length n.
    """
    images = read_idx(images_path, max_bytes=max_bytes)
    labels = read_idx(labels_path, max_bytes=max_bytes)
    if images.ndim < 2:
        raise DataError(
            f"{images_path}: holds a 1-D array of {images.shape[0]} values, "
            "expected examples × features (is it a labels file?)"
        )
    if labels.ndim != 1:
        raise DataError(f"{labels_path}: labels must be 1-D, the file holds {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise DataError(f"{labels_path}: labels must be integers, the file holds {labels.dtype}")
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{labels_path}: {labels.shape[0]} labels, but {images_path} "
            f"holds {images.shape[0]} images"
        )
    return images.reshape(images.shape[0], -1), labels.astype(np.int64)


def _target_index(path: PathLike, names: list[str], target: str | int | None) -> int:
    n = len(names)
    if target is None:
        return n - 1
    if isinstance(target, str):
        if target not in names:
            raise DataError(
                f"{path}: target: no column named {target!r}; "
                f"the columns are: {_clip(', '.join(names))}"
            )
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, int | np.integer):
        raise DataError(f"{path}: target: expected a column name or index, got {target!r}")
    if not -n <= target < n:
        raise DataError(f"{path}: target: column index {target} is out of range for {n} columns")
    return int(target) % n


# --- .npy / .npz ----------------------------------------------------------------


def _check_npy_header(
    where: str, f: _Stream, stored: int, max_bytes: int | None
) -> tuple[tuple[int, ...], np.dtype, bool]:
    """Read a .npy header from ``f``; check dtype and that ``stored`` bytes hold the array.

    Returns (shape, dtype, fortran_order).
    """
    try:
        with _python2_headers_allowed():
            version = npformat.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = npformat.read_array_header_2_0(f)
    # numpy parses the header as a Python literal; malformed text can fail in its
    # tokenizer or parser as well as in its own checks.
    except (ValueError, EOFError, OSError, SyntaxError, RecursionError, TokenError) as exc:
        raise DataError(f"{where}: not a valid .npy array ({_one_line(exc)})") from None
    if dtype.hasobject:
        raise DataError(
            f"{where}: holds Python objects (dtype {dtype}), which deltaprop refuses to "
            "unpickle; save a plain numeric array"
        )
    if dtype.kind not in "iuf":
        raise DataError(f"{where}: dtype {dtype} is not real numbers (integers or floats)")
    declared = math.prod(shape) * dtype.itemsize
    what = f"the header declares {_shape_text(shape)} {dtype} values ({declared} bytes)"
    _check_shape(where, shape, dtype, what)
    if max_bytes is not None and declared > max_bytes:
        raise DataError(f"{where}: {what}, more than max_bytes={max_bytes} allows")
    present = stored - f.tell()
    if present < declared:
        raise DataError(f"{where}: truncated data: {what}, the file holds only {present} bytes")
    if present > declared:
        raise DataError(f"{where}: extra data after the array: {what}")
    return shape, dtype, bool(fortran)


@contextlib.contextmanager
def _python2_headers_allowed() -> Iterator[None]:
    # numpy reads a header written by Python 2 (or one that merely looks like it) with a
    # UserWarning about speed: the file is fine, and the warning would only be noise.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Reading `.npy` or `.npz` file required", UserWarning)
        yield


def check_npy_file(path: PathLike) -> tuple[tuple[int, ...], np.dtype]:
    """The (shape, dtype) a .npy file's header declares, checked against its size on disk.

    Refuses object arrays and anything but integers and floats; after this,
    ``np.load(path, mmap_mode="r", allow_pickle=False)`` maps exactly that array.
    """
    with _open(path) as f:
        shape, dtype, _ = _check_npy_header(str(path), f, os.fstat(f.fileno()).st_size, None)
    return shape, dtype


def _load_npy(path: PathLike) -> np.ndarray:
    check_npy_file(path)
    try:
        with _python2_headers_allowed():
            return np.asarray(np.load(path, allow_pickle=False))
    except (ValueError, EOFError, OSError) as exc:
        raise DataError(f"{path}: cannot load ({_one_line(exc)})") from None


def read_npy(path: PathLike, *, target: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """X and y from one 2-D .npy array: column ``target`` (default the last) is y, the rest X.

    Loaded with ``allow_pickle=False``: object arrays are refused, as is anything
    but integers and floats. ``target`` is a column index (negative counts from
    the end); a .npy file has no column names.
    """
    if isinstance(target, str):
        raise DataError(
            f"{path}: target: a .npy file has no column names; give a column index, got {target!r}"
        )
    data = _load_npy(path)
    if data.ndim != 2 or data.shape[1] < 2:
        raise DataError(
            f"{path}: expected a 2-D array with feature columns and a target column, "
            f"got shape {data.shape}"
        )
    t = _target_index(path, [str(i) for i in range(data.shape[1])], target)
    return _as_xy(path, np.delete(data, t, axis=1), data[:, t])


def read_npz(path: PathLike, *, max_bytes: int = MAX_DECOMPRESSED) -> tuple[np.ndarray, np.ndarray]:
    """X and y from the arrays named "X" and "y" (or "Y") of an .npz file.

    X may have any shape (m, …) and is flattened to one row per example; y is
    (m,) or (m, k). Each member's header is checked against the size the zip
    directory records, and against ``max_bytes``; then its data are decompressed
    in chunks, at most one byte past what the header declares, so that memory
    follows the bytes really there, not what the zip directory claims. Nothing
    is unpickled.
    """
    with _open(path) as f:
        try:
            with zipfile.ZipFile(f) as zf:
                members = {n.removesuffix(".npy"): n for n in zf.namelist() if n.endswith(".npy")}
                y_name = "y" if "y" in members else "Y"
                if "X" not in members or y_name not in members:
                    found = ", ".join(sorted(members)) or "none"
                    raise DataError(
                        f"{path}: expected arrays named 'X' and 'y' (or 'Y'); found: {found}"
                    )
                X, y = (
                    _read_npz_member(f"{path}[{n}]", zf, members[n], max_bytes)
                    for n in ("X", y_name)
                )
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise DataError(f"{path}: not a valid .npz (zip) file ({exc})") from None
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, or an unknown method
            raise DataError(f"{path}: cannot read the .npz (zip) file ({exc})") from None
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _as_xy(path, X, y)


def _read_npz_member(where: str, zf: zipfile.ZipFile, name: str, max_bytes: int) -> np.ndarray:
    info = zf.getinfo(name)
    with zf.open(info) as member:
        shape, dtype, fortran = _check_npy_header(where, member, info.file_size, max_bytes)
        declared = math.prod(shape) * dtype.itemsize
        data = _read_at_most(member, declared + 1)
    if len(data) != declared:
        raise DataError(
            f"{where}: the header declares {declared} bytes of data, the member holds {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


# --- dispatch -------------------------------------------------------------------


def _sniff(path: PathLike) -> bytes:
    """The first 6 bytes of the file, after gunzip if it is gzip-compressed."""
    with _open(path) as f:
        head = f.read(6)
        if head[:2] != b"\x1f\x8b":
            return head
        f.seek(0)
        try:
            with gzip.GzipFile(fileobj=f) as g:
                return g.read(6)
        except (OSError, EOFError, zlib.error):
            return head


def _idx_labels_path(path: Path) -> Path | None:
    """MNIST's naming: train-images-idx3-ubyte(.gz) → train-labels-idx1-ubyte(.gz)."""
    name = re.sub(r"idx\d", "idx1", path.name.replace("images", "labels"))
    guess = path.with_name(name)
    return guess if name != path.name and guess.is_file() else None


def load_file(
    path: PathLike, *, target: str | int | None = None, labels_path: PathLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """X (m, n) float64 and y from a data file, chosen by its name or its first bytes.

    - ``.csv``: :func:`read_csv`; ``target`` is a column name or index (default last).
    - ``.npy``: :func:`read_npy`; ``target`` is a column index (default last).
    - ``.npz``: :func:`read_npz`, arrays "X" and "y".
    - IDX (``*-ubyte``, ``*-ubyte.gz``, ``*.idx``, or by its magic bytes): images
      with their labels in ``labels_path``; by default the MNIST sibling name
      (``…-images-idx3-ubyte`` → ``…-labels-idx1-ubyte``). Pixel values are kept
      as stored (0–255 for MNIST), converted to float64.
    """
    p = Path(path)
    name = p.name.lower()
    head = b"" if name.endswith((".csv", ".npy", ".npz")) else _sniff(path)
    is_idx = bool(_IDX_NAME.search(p.name)) or (
        len(head) >= 4 and head[:2] == b"\x00\x00" and head[2] in IDX_DTYPES
    )
    if labels_path is not None and not is_idx:
        raise DataError(f"{path}: labels_path: only IDX image files take a separate labels file")
    if is_idx:
        if target is not None:
            raise DataError(f"{path}: target: does not apply to IDX files; give labels_path")
        labels = Path(labels_path) if labels_path is not None else _idx_labels_path(p)
        if labels is None:
            raise DataError(f"{path}: IDX images need a labels file: pass labels_path")
        images, y = read_idx_pair(path, labels)
        return _as_xy(path, images, y)
    if name.endswith(".csv"):
        X, y, _ = read_csv(path, target=target)
        return X, y
    if name.endswith(".npy") or head.startswith(b"\x93NUMPY"):
        if target is not None and not isinstance(target, int | np.integer):
            raise DataError(
                f"{path}: target: a .npy file has no column names; give a column index, "
                f"got {target!r}"
            )
        return read_npy(path, target=None if target is None else int(target))
    if name.endswith(".npz") or head.startswith(b"PK\x03\x04"):
        if target is not None:
            raise DataError(f"{path}: target: an .npz file names its arrays X and y")
        return read_npz(path)
    raise DataError(
        f"{path}: unknown file type; expected .csv, .npy, .npz or an IDX file "
        "(a name ending in -ubyte or -ubyte.gz)"
    )
