"""Tests for deltaprop.data: file readers, splits, preprocessing and the dataset registry.

Every file a reader sees is written here, in tmp_path; the only files read from
outside are scikit-learn's bundled copies and Debian's fashion-mnist package
(skipped when it is not installed).
"""

from __future__ import annotations

import gzip
import pickle
import random
import struct
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from deltaprop.data import (
    DATASETS,
    DataError,
    Dataset,
    Standardizer,
    circles,
    datasets,
    load_dataset,
    load_file,
    moons,
    one_hot,
    read_csv,
    read_idx,
    read_idx_pair,
    read_npy,
    read_npz,
    sine,
    spirals,
    split,
    xor,
)

MB = 1 << 20


def peak_memory(call: Callable[[], object]) -> int:
    """Peak bytes traced by tracemalloc while ``call`` runs (it may raise)."""
    tracemalloc.start()
    try:
        call()
    except DataError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


# --- IDX ------------------------------------------------------------------------

IDX_CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def idx_header(code: int, shape: tuple[int, ...]) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def idx_bytes(values: np.ndarray, code: int) -> bytes:
    return idx_header(code, values.shape) + values.astype(IDX_CODES[code]).tobytes()


def write(path: Path, data: bytes, *, compress: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("code", sorted(IDX_CODES))
def test_idx_reads_every_type_raw_and_gzip(tmp_path: Path, code: int, compress: bool) -> None:
    values = np.arange(24).reshape(2, 3, 4)
    path = write(tmp_path / "a-ubyte", idx_bytes(values, code), compress=compress)
    got = read_idx(path)
    assert got.shape == (2, 3, 4)
    assert got.dtype == np.dtype(IDX_CODES[code]).newbyteorder("=")
    assert got.dtype.isnative
    np.testing.assert_array_equal(got, values)


def test_idx_wrong_magic(tmp_path: Path) -> None:
    path = write(tmp_path / "x.idx", b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match=r"x\.idx: not an IDX file: magic bytes 50 4b 03 04"):
        read_idx(path)


def test_idx_unknown_type_code(tmp_path: Path) -> None:
    path = write(tmp_path / "x.idx", idx_header(0x0A, (2,)) + bytes(2))
    with pytest.raises(DataError, match=r"unknown IDX type code 0x0A; known codes: 0x08 ubyte"):
        read_idx(path)


def test_idx_zero_dimensions_and_short_header(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="declares 0 dimensions"):
        read_idx(write(tmp_path / "a.idx", bytes([0, 0, 8, 0])))
    with pytest.raises(DataError, match="too short for an IDX header"):
        read_idx(write(tmp_path / "b.idx", b"\x00\x00"))
    with pytest.raises(DataError, match="truncated IDX header: 3 dimensions"):
        read_idx(write(tmp_path / "c.idx", bytes([0, 0, 8, 3, 0, 0, 0, 1])))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_idx_truncated_and_trailing_data(tmp_path: Path, compress: bool) -> None:
    full = idx_bytes(np.arange(12, dtype=np.int32).reshape(3, 4), 0x0C)
    short = write(tmp_path / "short.idx", full[:-1], compress=compress)
    with pytest.raises(DataError, match=r"short\.idx: truncated data: the header declares 3 × 4"):
        read_idx(short)
    long = write(tmp_path / "long.idx", full + b"\x00", compress=compress)
    with pytest.raises(DataError, match=r"long\.idx: extra data after the values"):
        read_idx(long)


def test_idx_huge_claim_in_small_file_rejected_with_little_memory(tmp_path: Path) -> None:
    # 10⁶ × 10⁶ = 10¹² ubyte values declared; the whole file is 100 bytes.
    header = idx_header(0x08, (10**6, 10**6))
    raw = write(tmp_path / "huge.idx", header + bytes(100 - len(header)))
    assert raw.stat().st_size == 100
    with pytest.raises(DataError, match=r"truncated data: .* 1000000 × 1000000 .*only 88 bytes"):
        read_idx(raw)
    assert peak_memory(lambda: read_idx(raw)) < 10 * MB
    # gzip: the claim exceeds max_bytes, so nothing is decompressed past the header
    gz = write(tmp_path / "huge.idx.gz", header + bytes(88), compress=True)
    with pytest.raises(DataError, match="more than max_bytes="):
        read_idx(gz)
    assert peak_memory(lambda: read_idx(gz)) < 10 * MB
    # gzip under the cap (500 MB declared): memory follows the real data, not the claim
    mid = write(tmp_path / "mid.idx.gz", idx_header(0x08, (500, MB)) + bytes(88), compress=True)
    with pytest.raises(DataError, match="truncated data"):
        read_idx(mid)
    assert peak_memory(lambda: read_idx(mid)) < 10 * MB


def test_idx_gzip_bomb_stops_after_declared_size(tmp_path: Path) -> None:
    # declares 16 bytes, decompresses to 64 MB: reading stops at 17 bytes.
    path = tmp_path / "bomb-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(idx_header(0x08, (16,)))
        for _ in range(64):
            f.write(bytes(MB))
    assert path.stat().st_size < MB
    with pytest.raises(DataError, match="extra data after the values"):
        read_idx(path)
    assert peak_memory(lambda: read_idx(path)) < 10 * MB


def test_idx_corrupt_gzip_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"bad\.gz: corrupt or truncated gzip data"):
        read_idx(write(tmp_path / "bad.gz", b"\x1f\x8b" + bytes(30)))
    with pytest.raises(DataError, match=r"^.*nope-ubyte: no such file$"):
        read_idx(tmp_path / "nope-ubyte")


def test_idx_pair_counts_and_shapes(tmp_path: Path) -> None:
    images = write(tmp_path / "img", idx_bytes(np.arange(24).reshape(3, 2, 4), 0x08))
    labels = write(tmp_path / "lab", idx_bytes(np.array([0, 1, 2]), 0x08))
    X, y = read_idx_pair(images, labels)
    assert X.shape == (3, 8) and X.dtype == np.uint8
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [0, 1, 2])

    four = write(tmp_path / "four", idx_bytes(np.array([0, 1, 2, 3]), 0x08))
    with pytest.raises(DataError, match=r"four: 4 labels, but .*img holds 3 images"):
        read_idx_pair(images, four)
    two_d = write(tmp_path / "two_d", idx_bytes(np.zeros((3, 1)), 0x08))
    with pytest.raises(DataError, match="labels must be 1-D"):
        read_idx_pair(images, two_d)
    floats = write(tmp_path / "floats", idx_bytes(np.zeros(3), 0x0D))
    with pytest.raises(DataError, match="labels must be integers"):
        read_idx_pair(images, floats)
    with pytest.raises(DataError, match="1-D array of 3 values"):
        read_idx_pair(labels, labels)


# --- CSV ------------------------------------------------------------------------


def csv_file(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_target_by_default_name_and_index(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a,b,c\n1,2,3\n4,5,6\n")
    X, y, names = read_csv(path)
    np.testing.assert_array_equal(X, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])
    assert names == ("a", "b") and X.dtype == y.dtype == np.float64
    for target in ("a", 0, -3):
        X, y, names = read_csv(path, target=target)
        np.testing.assert_array_equal(y, [1, 4])
        np.testing.assert_array_equal(X, [[2, 3], [5, 6]])
        assert names == ("b", "c")
    X, y, _ = read_csv(path, target=-2)
    np.testing.assert_array_equal(y, [2, 5])


def test_csv_non_numeric_cell_names_file_line_and_column(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a,b,c\n1,2,3\n4,abc,6\n")
    with pytest.raises(DataError, match=r"t\.csv: line 3, column 'b': 'abc' is not a number"):
        read_csv(path)


def test_csv_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    # the bad cell is on line 4 of the file as an editor shows it
    path = csv_file(tmp_path, "a,b\n\n1,2\nx,3\n\n")
    with pytest.raises(DataError, match=r"line 4, column 'a': 'x' is not a number"):
        read_csv(path)


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("nan", "missing value; missing values \\(NaN\\) are not allowed here"),
        ("NA", "missing value; missing values \\(NaN\\) are not allowed here"),
        ("", "missing value; missing values \\(NaN\\) are not allowed here"),
        ("inf", "infinity is not allowed in data"),
    ],
)
def test_csv_missing_and_nonfinite_cells(tmp_path: Path, cell: str, message: str) -> None:
    path = csv_file(tmp_path, f"a,b\n1,2\n3,{cell}\n")
    with pytest.raises(DataError, match=rf"t\.csv: line 3, column 'b': {message}"):
        read_csv(path)


def test_csv_ragged_row(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(DataError, match=r"t\.csv: line 3: 2 fields, the header has 3"):
        read_csv(path)


def test_csv_empty_file_header_only_and_no_header(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t\.csv: empty file; a header row"):
        read_csv(csv_file(tmp_path, ""))
    with pytest.raises(DataError, match="no data rows after the header"):
        read_csv(csv_file(tmp_path, "a,b\n"))
    with pytest.raises(DataError, match="line 1 looks like data, not a header"):
        read_csv(csv_file(tmp_path, "1,2\n3,4\n"))
    with pytest.raises(DataError, match="column name 'a' appears twice"):
        read_csv(csv_file(tmp_path, "a,a\n3,4\n"))


def test_csv_target_errors(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"target: no column named 'zz'; the columns are: a, b, c"):
        read_csv(path, target="zz")
    with pytest.raises(DataError, match=r"target: column index 3 is out of range for 3 columns"):
        read_csv(path, target=3)
    with pytest.raises(DataError, match="target: column index -4"):
        read_csv(path, target=-4)


def test_csv_not_text_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"a,b\n\xff\xfe,1\n")
    with pytest.raises(DataError, match=r"bin\.csv: line 2: byte 0xff at offset 4 is not UTF-8"):
        read_csv(path)
    with pytest.raises(DataError, match=r"gone\.csv: no such file$"):
        read_csv(tmp_path / "gone.csv")


# --- .npy / .npz ----------------------------------------------------------------


def test_npy_last_column_or_given_column_is_target(tmp_path: Path) -> None:
    data = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "d.npy", data)
    X, y = read_npy(tmp_path / "d.npy")
    np.testing.assert_array_equal(X, data[:, :2])
    np.testing.assert_array_equal(y, data[:, 2])
    X, y = read_npy(tmp_path / "d.npy", target=0)
    np.testing.assert_array_equal(y, data[:, 0])
    np.save(tmp_path / "i.npy", np.arange(6).reshape(3, 2))
    assert read_npy(tmp_path / "i.npy")[1].dtype == np.int64


def test_npz_X_and_y_or_Y(tmp_path: Path) -> None:
    X0 = np.arange(24, dtype=np.uint8).reshape(3, 2, 4)
    np.savez(tmp_path / "a.npz", X=X0, y=np.array([1, 0, 1]))
    X, y = read_npz(tmp_path / "a.npz")
    assert X.shape == (3, 8) and X.dtype == np.float64 and y.dtype == np.int64
    np.savez_compressed(tmp_path / "b.npz", X=np.ones((2, 2)), Y=np.ones((2, 3)))
    X, y = read_npz(tmp_path / "b.npz")
    assert y.shape == (2, 3) and y.dtype == np.float64


def test_npz_wrong_names_and_row_mismatch(tmp_path: Path) -> None:
    np.savez(tmp_path / "c.npz", data=np.ones((2, 2)), labels=np.ones(2))
    with pytest.raises(DataError, match=r"expected arrays named 'X' and 'y' .*found: data, labels"):
        read_npz(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", X=np.ones((2, 2)), y=np.ones(3))
    with pytest.raises(DataError, match="X has 2 rows but y has 3"):
        read_npz(tmp_path / "d.npz")


def test_npz_nan_named(tmp_path: Path) -> None:
    X = np.ones((3, 2))
    X[1, 0] = np.nan
    np.savez(tmp_path / "n.npz", X=X, y=np.zeros(3))
    with pytest.raises(DataError, match=r"n\.npz: X\[1, 0\] is NaN; NaN is not allowed in data"):
        read_npz(tmp_path / "n.npz")


def test_object_arrays_and_pickles_refused(tmp_path: Path) -> None:
    objects = np.array([[1, "a"], [2, "b"]], dtype=object)
    np.save(tmp_path / "obj.npy", objects, allow_pickle=True)
    with pytest.raises(DataError, match=r"obj\.npy: holds Python objects \(dtype object\)"):
        read_npy(tmp_path / "obj.npy")
    np.savez(tmp_path / "obj.npz", X=objects, y=np.zeros(2))
    with pytest.raises(DataError, match=r"obj\.npz\[X\]: holds Python objects"):
        read_npz(tmp_path / "obj.npz")
    (tmp_path / "pickle.npy").write_bytes(pickle.dumps(np.ones((2, 2))))
    with pytest.raises(DataError, match=r"pickle\.npy: not a valid \.npy array"):
        read_npy(tmp_path / "pickle.npy")
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(DataError, match="is not real numbers"):
        read_npy(tmp_path / "text.npy")


def test_npy_huge_claim_rejected_with_little_memory(tmp_path: Path) -> None:
    # a hand-written .npy: header declaring (10⁶, 10⁶) float64, then 32 bytes of data
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    text = text.ljust(128 - 10 - 1) + "\n"
    path = tmp_path / "huge.npy"
    path.write_bytes(
        b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + bytes(32)
    )
    with pytest.raises(DataError, match="truncated data: the header declares 1000000 × 1000000"):
        read_npy(path)
    assert peak_memory(lambda: read_npy(path)) < 10 * MB


# --- load_file ------------------------------------------------------------------


def test_load_file_dispatches_by_name_and_content(tmp_path: Path) -> None:
    csv_path = csv_file(tmp_path, "a,b,c\n1,2,3\n")
    np.testing.assert_array_equal(load_file(csv_path, target="a")[1], [1])
    np.save(tmp_path / "d.npy", np.ones((2, 3)))
    assert load_file(tmp_path / "d.npy")[0].shape == (2, 2)
    (tmp_path / "d.bin").write_bytes((tmp_path / "d.npy").read_bytes())
    assert load_file(tmp_path / "d.bin")[0].shape == (2, 2)
    np.savez(tmp_path / "e.npz", X=np.ones((2, 3)), y=np.ones(2))
    assert load_file(tmp_path / "e.npz")[0].shape == (2, 3)

    write(tmp_path / "t-images-idx3-ubyte.gz", idx_bytes(np.ones((2, 3, 3)), 0x08), compress=True)
    write(tmp_path / "t-labels-idx1-ubyte.gz", idx_bytes(np.array([4, 2]), 0x08), compress=True)
    X, y = load_file(tmp_path / "t-images-idx3-ubyte.gz")
    assert X.shape == (2, 9) and X.dtype == np.float64
    np.testing.assert_array_equal(y, [4, 2])
    write(tmp_path / "pixels.dat", idx_bytes(np.ones((2, 4)), 0x08))
    write(tmp_path / "classes.dat", idx_bytes(np.array([1, 0]), 0x08))
    X, _ = load_file(tmp_path / "pixels.dat", labels_path=tmp_path / "classes.dat")
    assert X.shape == (2, 4)


def test_load_file_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"x\.txt: unknown file type"):
        load_file(csv_file(tmp_path, "hello", name="x.txt"))
    write(tmp_path / "lonely.idx", idx_bytes(np.ones((2, 4)), 0x08))
    with pytest.raises(DataError, match="IDX images need a labels file: pass labels_path"):
        load_file(tmp_path / "lonely.idx")
    with pytest.raises(DataError, match="labels_path: only IDX image files"):
        load_file(csv_file(tmp_path, "a,b\n1,2\n"), labels_path=tmp_path / "y.idx")
    with pytest.raises(DataError, match=r"missing\.csv: no such file"):
        load_file(tmp_path / "missing.csv")


# --- split, Standardizer, one_hot -----------------------------------------------


def test_split_sizes_and_partition() -> None:
    X = np.arange(100).reshape(100, 1)
    y = np.arange(100.0)
    X_tr, _, X_va, _, X_te, y_te = split(X, y, test_size=0.2, val_size=0.1, seed=0)
    assert (len(X_tr), len(X_va), len(X_te)) == (70, 10, 20)
    rows = np.concatenate([X_tr, X_va, X_te]).ravel()
    np.testing.assert_array_equal(np.sort(rows), np.arange(100))
    np.testing.assert_array_equal(X_te.ravel(), y_te)


def test_split_stratified_keeps_class_shares() -> None:
    y = np.repeat(np.array([0, 1, 2]), [60, 30, 10])
    X = np.arange(100.0).reshape(-1, 1)
    _, y_tr, _, y_va, _, y_te = split(X, y, test_size=0.2, val_size=0.2, seed=1)
    # 20 % of 60, 30, 10 rows in each of test and validation
    np.testing.assert_array_equal(np.bincount(y_te), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(y_va), [12, 6, 2])
    np.testing.assert_array_equal(np.bincount(y_tr), [36, 18, 6])


def test_split_seed_reproducible() -> None:
    X, y = moons(50, seed=0)
    first = split(X, y, test_size=0.2, val_size=0.2, seed=7)
    again = split(X, y, test_size=0.2, val_size=0.2, seed=np.random.default_rng(7))
    other = split(X, y, test_size=0.2, val_size=0.2, seed=8)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_split_errors() -> None:
    X, y = np.ones((10, 1)), np.ones(10)
    with pytest.raises(ValueError, match="stratify needs y to be 1-D integer labels"):
        split(X, y, stratify=True)
    with pytest.raises(ValueError, match="leave no training rows of 10"):
        split(X, y, test_size=0.5, val_size=0.5)
    with pytest.raises(ValueError, match=r"test_size must be a number in \[0, 1\)"):
        split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        split(X, y[:9])


def test_standardizer_uses_training_statistics_only() -> None:
    # train column 0: {0, 2} → μ = 1, σ = 1; column 1 is constant 5 → σ := 1
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    test = np.array([[4.0, 7.0]])
    s = Standardizer.fit(train)
    np.testing.assert_array_equal(s.mean, [1.0, 5.0])
    np.testing.assert_array_equal(s.scale, [1.0, 1.0])
    np.testing.assert_array_equal(s.transform(test), [[3.0, 2.0]])
    np.testing.assert_array_equal(s.transform(train), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(test)), test)
    with pytest.raises(ValueError, match=r"X must have shape \(m, 2\)"):
        s.transform(np.ones((1, 3)))


def test_load_dataset_standardizes_with_training_rows() -> None:
    ds = load_dataset("wine", seed=0)
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-12)
    # test rows were not in the fit: their means are not all 0
    assert np.abs(ds.X_test.mean(axis=0)).max() > 1e-3
    diabetes = load_dataset("diabetes", seed=0)
    assert diabetes.target_scaler is not None
    np.testing.assert_allclose(diabetes.y_train.mean(), 0, atol=1e-12)
    progression = diabetes.target_scaler.inverse_transform(diabetes.y_test)
    np.testing.assert_allclose(progression, np.round(progression), atol=1e-9)
    assert 25 <= progression.min() and progression.max() <= 346


def test_one_hot() -> None:
    np.testing.assert_array_equal(one_hot(np.array([2, 0, 1]), 3), np.eye(3)[[2, 0, 1]])
    with pytest.raises(ValueError, match="labels must lie in 0 … 2, found 3"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="labels must be a 1-D integer array"):
        one_hot(np.array([0.0, 1.0]), 2)


# --- generated sets ---------------------------------------------------------------


def test_xor_points() -> None:
    X, y = xor()
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])
    assert y.dtype == np.int64
    X, y = xor(n_repeats=3, noise=0.1, seed=0)
    assert X.shape == (12, 2)
    np.testing.assert_array_equal(y, np.tile([0, 1, 1, 0], 3))
    np.testing.assert_allclose(X, np.tile(xor()[0], (3, 1)), atol=0.5)


def test_sine_and_circles_follow_their_formulas() -> None:
    X, y = sine(50, seed=0)
    assert X.shape == y.shape == (50, 1)
    assert np.all(np.abs(X) <= np.pi)
    np.testing.assert_array_equal(y, np.sin(X))
    X, y = circles(100, noise=0.0, factor=0.3, seed=0)
    np.testing.assert_allclose(np.hypot(*X.T), np.where(y == 0, 1.0, 0.3))


@pytest.mark.parametrize("make", [spirals, moons, circles])
def test_generated_reproducible_and_balanced(make: Callable[..., tuple]) -> None:
    state = np.random.get_state()
    X, y = make(101, seed=3)
    X2, y2 = make(101, seed=np.random.default_rng(3))
    X3, _ = make(101, seed=4)
    assert X.shape == (101, 2) and y.dtype == np.int64
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, X3)
    np.testing.assert_array_equal(np.bincount(y), [51, 50])
    assert np.array_equal(np.random.get_state()[1], state[1])  # global state untouched


def test_generator_argument_errors() -> None:
    with pytest.raises(ValueError, match="seed: expected a non-negative int"):
        moons(10, seed=-1)
    with pytest.raises(ValueError, match="n_samples must be a whole number ≥ 2"):
        spirals(1)
    with pytest.raises(ValueError, match=r"noise must be a finite number at least 0\.0"):
        sine(5, noise=-1.0)


# --- the registry -----------------------------------------------------------------


FASHION_INSTALLED = all(
    (datasets.FASHION_MNIST_DIR / f).is_file()
    for f in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    )
)


@pytest.fixture(scope="module")
def loaded() -> dict[str, Dataset]:
    """Each available dataset loaded once (mnist1d takes seconds to generate)."""
    out = {}
    numpy_state, python_state = np.random.get_state(), random.getstate()
    for name in DATASETS:
        if name == "fashion-mnist" and not FASHION_INSTALLED:
            continue
        out[name] = load_dataset(name, seed=0)
    # mnist1d seeds the global generators; load_dataset must put them back
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    assert random.getstate() == python_state
    return out


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_loads_with_its_declared_shapes(
    name: str, loaded: dict[str, Dataset]
) -> None:
    if name == "fashion-mnist" and not FASHION_INSTALLED:
        pytest.skip(
            f"Debian package dataset-fashion-mnist not installed ({datasets.FASHION_MNIST_DIR})"
        )
    info, ds = DATASETS[name], loaded[name]
    assert (ds.name, ds.task, ds.preprocessing) == (name, info.task, info.preprocessing)
    X_parts = (ds.X_train, ds.X_val, ds.X_test)
    y_parts = (ds.y_train, ds.y_val, ds.y_test)
    for X, y in zip(X_parts, y_parts, strict=True):
        assert X.dtype == np.float64 and X.ndim == 2 and X.shape[1] == info.n_features
        assert len(X) == len(y) > 0
        assert np.all(np.isfinite(X))
    if info.task == "classification":
        assert len(ds.classes) == info.n_classes == ds.n_outputs
        for y in y_parts:
            assert y.dtype == np.int64 and y.ndim == 1
        assert set(np.unique(ds.y_train)) == set(range(len(ds.classes)))
    else:
        assert ds.classes == () and info.n_classes is None
        for y in y_parts:
            assert y.dtype == np.float64 and y.ndim == 2 and y.shape[1] == ds.n_outputs
    if ds.feature_names is not None:
        assert len(ds.feature_names) == info.n_features


def test_official_test_splits_kept(loaded: dict[str, Dataset]) -> None:
    mnist1d = loaded["mnist1d"]
    assert (len(mnist1d.X_train), len(mnist1d.X_val), len(mnist1d.X_test)) == (3200, 800, 1000)
    assert load_dataset("mnist1d", seed=5).X_test.tobytes() == mnist1d.X_test.tobytes()
    digits = loaded["digits"]
    assert digits.X_train.min() == 0 and digits.X_train.max() == 1  # pixels / 16
    if FASHION_INSTALLED:
        fashion = loaded["fashion-mnist"]
        assert (len(fashion.X_train), len(fashion.X_val), len(fashion.X_test)) == (
            48000,
            12000,
            10000,
        )
        assert fashion.X_train.min() == 0 and fashion.X_train.max() == 1  # pixels / 255
        assert fashion.classes[9] == "Ankle boot"


@pytest.mark.parametrize("name", ["xor", "spirals", "moons", "circles", "sine", "iris"])
def test_datasets_reproducible_by_seed(name: str) -> None:
    a, b, c = (load_dataset(name, seed=s) for s in (11, 11, 12))
    for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X_train, c.X_train)


def test_generated_dataset_options() -> None:
    ds = load_dataset("spirals", n_samples=100, noise=0.0, val_size=0.1, test_size=0.3)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (60, 10, 30)
    with pytest.raises(DataError, match="n_samples must be a positive multiple of 4, got 10"):
        load_dataset("xor", n_samples=10)
    with pytest.raises(
        DataError, match=r"dataset 'moons': noise must be a finite number at least 0\.0"
    ):
        load_dataset("moons", noise=-1.0)


def test_load_dataset_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset: unknown name 'mnist'; choose one of: xor, "):
        load_dataset("mnist")
    with pytest.raises(DataError, match="'digits': n_samples applies only to the generated"):
        load_dataset("digits", n_samples=10)
    with pytest.raises(DataError, match="'mnist1d': test_size: this dataset keeps its official"):
        load_dataset("mnist1d", test_size=0.1)
    monkeypatch.setattr(datasets, "FASHION_MNIST_DIR", tmp_path)
    with pytest.raises(
        DataError, match="not found; install it with: apt-get install dataset-fashion-mnist"
    ):
        load_dataset("fashion-mnist")


def test_load_dataset_option_errors_are_data_errors() -> None:
    with pytest.raises(DataError, match=r"dataset 'iris': val_size must be a number in \[0, 1\)"):
        load_dataset("iris", val_size=1.0)
    with pytest.raises(
        DataError, match=r"dataset 'iris': test_size=0\.5 and val_size=0\.5 leave no"
    ):
        load_dataset("iris", val_size=0.5, test_size=0.5)
    with pytest.raises(DataError, match="dataset 'iris': seed: expected a non-negative int"):
        load_dataset("iris", seed=-1)
