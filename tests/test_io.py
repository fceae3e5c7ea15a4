"""Model files and checkpoints: exact round trips, atomic writes, and refusal of bad files."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save as st_save

from deltaprop import Activation, Network
from deltaprop.activations import ACTIVATIONS
from deltaprop.costs import SquaredError
from deltaprop.io import (
    ModelFileError,
    ModelFileExistsError,
    atomic_write_bytes,
    load_checkpoint,
    load_metadata,
    load_model,
    save_checkpoint,
    save_model,
)

# --- helpers -----------------------------------------------------------------------


def small_net(dtype: str = "float64", **kwargs: Any) -> Network:
    return Network([4, 3, 2], dtype=dtype, seed=0, **kwargs)


def info_for(net: Network, **changes: Any) -> dict[str, Any]:
    """The metadata save_model writes for ``net``, with ``changes`` applied (None deletes)."""
    info: dict[str, Any] = {
        "format": "deltaprop-model",
        "format_version": 1,
        "deltaprop_version": "0.1.0",
        "layer_sizes": list(net.layer_sizes),
        "activation": net.activation.name,
        "output_activation": net.output_activation.name,
        "cost": net.cost.name,
        "weight_decay": net.weight_decay,
        "dtype": net.dtype,
        "init": net.init,
        "seed": net.seed,
        "extra": {},
    }
    for key, value in changes.items():
        if value is _DELETE:
            del info[key]
        else:
            info[key] = value
    return info


_DELETE = object()


def craft(path: Path, info: dict[str, Any] | str, tensors: dict[str, np.ndarray]) -> Path:
    """Write a safetensors file by hand, bypassing save_model's checks."""
    text = info if isinstance(info, str) else json.dumps(info)
    path.write_bytes(st_save(tensors, metadata={"deltaprop": text}))
    return path


def rejects(path: Path, pattern: str, loader: Any = load_model) -> None:
    """``loader(path)`` raises ModelFileError naming the file and matching ``pattern``."""
    with pytest.raises(ModelFileError, match=pattern) as info:
        loader(path)
    assert str(info.value).startswith(str(path)), str(info.value)


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "arch",
    [
        {},
        {"activation": "tanh", "cost": "cross_entropy", "weight_decay": 1e-4, "init": "he"},
        {"activation": "relu", "output_activation": "identity", "weight_decay": 3},
        {"cost": "binary_cross_entropy"},
    ],
)
def test_model_round_trip_is_exact(tmp_path: Path, dtype: str, arch: dict[str, Any]) -> None:
    net = small_net(dtype, **arch)
    path = tmp_path / "model.safetensors"
    save_model(net, path)
    back = load_model(path)

    assert back.params.dtype == np.dtype(dtype)
    assert back.params.tobytes() == net.params.tobytes()  # bit-identical θ
    assert repr(back) == repr(net)
    assert (back.layer_sizes, back.init, back.seed) == (net.layer_sizes, net.init, net.seed)
    assert back.activation is net.activation and back.cost is net.cost
    assert back.xp is np
    X = np.random.default_rng(1).uniform(size=(5, 4))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_seed_none_and_str_path_round_trip(tmp_path: Path) -> None:
    net = Network([2, 2], seed=None)
    path = str(tmp_path / "m.safetensors")
    save_model(net, path)
    back = load_model(path)
    assert back.seed is None
    assert back.params.tobytes() == net.params.tobytes()


def test_extra_metadata_round_trip(tmp_path: Path) -> None:
    net = small_net()
    extra = {
        "optimizer": {"name": "adam", "learning_rate": 1e-3, "betas": [0.9, 0.999]},
        "history": {"loss": [1.5, 0.25, float("nan")]},
        "epochs": np.int64(3),
        "scale": np.float32(0.5),
        "mean": np.array([1.0, 2.0]),
        "note": "naïve — ünïcödé",
        "big": 2**100,
    }
    save_model(net, tmp_path / "m.safetensors", metadata=extra)
    meta = load_metadata(tmp_path / "m.safetensors")
    got = meta["extra"]
    assert got["optimizer"] == extra["optimizer"]
    assert got["history"]["loss"][:2] == [1.5, 0.25] and np.isnan(got["history"]["loss"][2])
    assert (got["epochs"], got["scale"], got["mean"]) == (3, 0.5, [1.0, 2.0])
    assert (got["note"], got["big"]) == (extra["note"], 2**100)
    assert meta["format"] == "deltaprop-model" and meta["layer_sizes"] == [4, 3, 2]


def test_torch_network_saves_and_loads_as_numpy(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    net = Network([3, 4, 2], seed=0, xp="torch", dtype="float32")
    save_model(net, tmp_path / "m.safetensors")
    back = load_model(tmp_path / "m.safetensors")
    assert back.xp is np and isinstance(back.params, np.ndarray)
    np.testing.assert_array_equal(back.params, net.params.numpy())


# --- what cannot be saved ----------------------------------------------------------


def test_custom_activation_cannot_be_saved(tmp_path: Path) -> None:
    sigmoid = ACTIVATIONS["sigmoid"]
    swish = Activation("swish", sigmoid.f, sigmoid.fprime)
    net = Network([2, 3, 1], activation=swish, seed=0)
    with pytest.raises(ValueError, match=r"activation: a custom Activation \('swish'\)"):
        save_model(net, tmp_path / "m.safetensors")
    assert listing(tmp_path) == []


def test_custom_cost_cannot_be_saved(tmp_path: Path) -> None:
    net = Network([2, 1], cost=SquaredError("my_cost"), seed=0)
    with pytest.raises(ValueError, match=r"cost: a custom SquaredError \('my_cost'\)"):
        save_model(net, tmp_path / "m.safetensors")


def test_non_json_metadata_and_non_finite_params_are_refused(tmp_path: Path) -> None:
    net = small_net()
    with pytest.raises(ValueError, match="metadata: cannot be stored as JSON"):
        save_model(net, tmp_path / "m.safetensors", metadata={"f": object()})
    with pytest.raises(ValueError, match="metadata: expected a dict, got list"):
        save_model(net, tmp_path / "m.safetensors", metadata=[1, 2])  # type: ignore[arg-type]
    net.params[5] = np.inf
    with pytest.raises(ValueError, match=r"net.params has a non-finite value \(inf\) at index 5"):
        save_model(net, tmp_path / "m.safetensors")
    assert listing(tmp_path) == []


# --- atomic writes -----------------------------------------------------------------


def test_failed_replace_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.safetensors"
    save_model(small_net(), path)
    before = path.read_bytes()

    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        save_model(Network([4, 3, 2], seed=1), path)
    assert path.read_bytes() == before
    assert listing(tmp_path) == ["m.safetensors"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old contents")

    def broken_fsync(fd: int) -> None:
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"old contents"
    assert listing(tmp_path) == ["m.safetensors"]


def test_interrupted_write_leaves_no_temp(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write_bytes(tmp_path / "x.bin", "not bytes")  # type: ignore[arg-type]
    assert listing(tmp_path) == []


def test_ctrl_c_during_a_write_comes_after_it(tmp_path: Path, monkeypatch: Any) -> None:
    import signal

    import deltaprop.modelformat as mf

    real_create = mf._create_temp

    def create_then_ctrl_c(directory: str, name: str) -> tuple[str, int]:
        made = real_create(directory, name)
        os.kill(os.getpid(), signal.SIGINT)  # lands at once, before the name is kept
        return made

    monkeypatch.setattr(mf, "_create_temp", create_then_ctrl_c)
    path = tmp_path / "m.safetensors"
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"all of it")
    assert path.read_bytes() == b"all of it"  # written whole, then interrupted
    assert listing(tmp_path) == ["m.safetensors"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_atomic_write_replaces_contents(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    atomic_write_bytes(path, b"one")
    atomic_write_bytes(str(path), b"two")
    assert path.read_bytes() == b"two"
    assert listing(tmp_path) == ["x.bin"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_new_files_get_the_umask_mode_not_private(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "x.bin", b"data")
    finally:
        os.umask(umask)
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o644


def test_force_false_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(small_net(), path, force=False)  # a new file is fine
    before = path.read_bytes()
    with pytest.raises(ModelFileExistsError, match="exists and force=False") as info:
        save_model(Network([4, 3, 2], seed=1), path, force=False)
    assert isinstance(info.value, FileExistsError) and isinstance(info.value, ValueError)
    assert path.read_bytes() == before
    save_model(Network([4, 3, 2], seed=1), path)  # force=True (default) overwrites
    assert path.read_bytes() != before


# --- refusing bad files ------------------------------------------------------------


def test_missing_empty_directory_and_oversized_files(tmp_path: Path) -> None:
    rejects(tmp_path / "nope.safetensors", "no such file")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    rejects(tmp_path / "empty.safetensors", r"empty \(0 bytes\)")
    (tmp_path / "dir.safetensors").mkdir()
    rejects(tmp_path / "dir.safetensors", "is a directory")
    save_model(small_net(), tmp_path / "m.safetensors")
    with pytest.raises(ModelFileError, match="more than the limit of 100"):
        load_model(tmp_path / "m.safetensors", max_bytes=100)


def test_oversized_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import deltaprop.modelformat

    monkeypatch.setattr(deltaprop.modelformat, "MAX_HEADER_BYTES", 100)
    save_model(small_net(), tmp_path / "m.safetensors")
    rejects(tmp_path / "m.safetensors", "the header has [0-9]+ bytes, more than the limit of 100")


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "g.safetensors"
    path.write_bytes(b"abc")
    rejects(path, "3 bytes is too short")
    path.write_bytes(b"this is not a model file at all, only text")
    rejects(path, "header length field says")
    path.write_bytes((16).to_bytes(8, "little") + b"garbage!garbage!")
    rejects(path, "not a valid safetensors file")


def test_lying_header_length(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(small_net(), path)
    data = path.read_bytes()
    path.write_bytes((len(data)).to_bytes(8, "little") + data[8:])
    rejects(path, rf"says {len(data)} bytes, but only {len(data) - 8} follow")


@pytest.mark.parametrize("cut", [10, 200])
def test_truncated_file(tmp_path: Path, cut: int) -> None:
    path = tmp_path / "m.safetensors"
    save_model(small_net(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - cut] if cut < 100 else data[:cut])
    rejects(path, "not a valid safetensors file|header length field says")


def test_flipped_bytes_in_header(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(small_net(), path)
    good = path.read_bytes()

    # The header's own JSON: '{' becomes '[' and safetensors' parser refuses it.
    path.write_bytes(good[:8] + b"[" + good[9:])
    rejects(path, "not a valid safetensors file")

    # Inside deltaprop's JSON string: ',' becomes ';'.
    needle = b'\\"format_version\\": 2,'
    assert needle in good
    path.write_bytes(good.replace(needle, needle[:-1] + b";"))
    rejects(path, "'deltaprop' metadata is not valid JSON")

    # A letter of the format name.
    path.write_bytes(good.replace(b"deltaprop-model", b"deltaprop-mode!"))
    rejects(path, "format is 'deltaprop-mode!', expected 'deltaprop-model'")


def test_safetensors_without_our_metadata(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    path.write_bytes(st_save({"weight": np.zeros(3)}))
    rejects(path, "not one written by deltaprop")


def test_layer_sizes_that_do_not_match_the_tensor(tmp_path: Path) -> None:
    net = Network([64, 25, 64], seed=0)
    path = craft(
        tmp_path / "model.safetensors",
        info_for(net, layer_sizes=[64, 25, 63]),
        {"params": net.params},
    )
    # 64·25 + 25·64 + 25 + 64 = 3289 stored; 64·25 + 25·63 + 25 + 63 = 3263 needed.
    rejects(path, r"tensor 'params' has 3289 values, layer_sizes \[64, 25, 63\] need 3263")
    craft(path, info_for(net), {"params": net.params.reshape(1, -1)})
    rejects(path, r"tensor 'params' has shape \(1, 3289\) \(expected 1-D\)")


def test_tensor_dtype_must_match_the_metadata(tmp_path: Path) -> None:
    net = small_net()
    path = tmp_path / "m.safetensors"
    craft(path, info_for(net), {"params": net.params.astype(np.int32)})
    rejects(path, "tensor 'params' has dtype int32, the metadata says float64")
    craft(path, info_for(net), {"params": net.params.astype(np.float32)})
    rejects(path, "tensor 'params' has dtype float32, the metadata says float64")
    craft(path, info_for(net, dtype="float16"), {"params": net.params.astype(np.float16)})
    rejects(path, "unknown dtype 'float16'; expected one of: float32, float64")


def test_non_finite_params(tmp_path: Path) -> None:
    net = small_net()
    theta = net.params.copy()
    theta[7] = np.nan
    path = craft(tmp_path / "m.safetensors", info_for(net), {"params": theta})
    rejects(path, r"tensor 'params' has a non-finite value \(nan\) at index 7")


def test_wrong_tensor_names(tmp_path: Path) -> None:
    net = small_net()
    path = craft(tmp_path / "m.safetensors", info_for(net), {"theta": net.params})
    rejects(path, re.escape("wrong tensors: missing ['params'], unexpected ['theta']"))
    craft(path, info_for(net), {"params": net.params, "extra": np.zeros(1)})
    rejects(path, re.escape("wrong tensors: unexpected ['extra']"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"activation": "swish"}, "unknown activation 'swish'; expected one of: sigmoid"),
        ({"output_activation": "gelu"}, "unknown output_activation 'gelu'"),
        ({"cost": "hinge"}, "unknown cost 'hinge'"),
        ({"init": "zeros"}, "unknown init 'zeros'"),
        ({"activation": 3}, "field 'activation' must be a string, got 3"),
        ({"cost": _DELETE}, "field 'cost' is missing"),
        ({"seed": _DELETE}, "field 'seed' is missing"),
        ({"extra": _DELETE}, "field 'extra' is missing"),
        ({"extra": [1]}, r"field 'extra' must be a JSON object, got \[1\]"),
        ({"format_version": 3}, r"format_version is 3 \(written by a newer deltaprop\)"),
        ({"format_version": True}, "field 'format_version' must be an integer"),
        ({"format": "deltaprop-checkpoint"}, "it is a checkpoint, read it with load_checkpoint"),
        ({"deltaprop_version": 1}, "field 'deltaprop_version' must be a string"),
        ({"layer_sizes": [4]}, r"at least 2 positive whole numbers, got \[4\]"),
        ({"layer_sizes": [4, 0, 2]}, "at least 2 positive whole numbers"),
        ({"layer_sizes": [4, 3.0, 2]}, "at least 2 positive whole numbers"),
        ({"layer_sizes": [4, True, 2]}, "at least 2 positive whole numbers"),
        ({"layer_sizes": "4-3-2"}, "field 'layer_sizes' must be a list of unit counts"),
        ({"weight_decay": -1.0}, "weight_decay must be a finite number ≥ 0, got -1.0"),
        ({"weight_decay": float("nan")}, "weight_decay must be a finite number ≥ 0, got nan"),
        ({"weight_decay": "0.1"}, "weight_decay must be a finite number ≥ 0, got '0.1'"),
        ({"weight_decay": 10**400}, "the stored architecture is invalid"),
        ({"seed": -3}, "seed must be a non-negative integer or null, got -3"),
        ({"cost": "cross_entropy"}, "stored architecture is invalid: cost 'cross_entropy' needs"),
        ({"activation": "softmax"}, "stored architecture is invalid: activation: 'softmax'"),
    ],
)
def test_bad_metadata_fields(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    net = small_net()
    path = craft(tmp_path / "m.safetensors", info_for(net, **changes), {"params": net.params})
    rejects(path, message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must be a JSON object, got list"),
        ("{'format': 1}", "not valid JSON"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
    ],
)
def test_bad_metadata_json(tmp_path: Path, text: str, message: str) -> None:
    path = craft(tmp_path / "m.safetensors", text, {"params": small_net().params})
    rejects(path, message)


# --- checkpoints -------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    net = small_net("float32", weight_decay=1e-3)
    rng = np.random.default_rng(123)
    rng.uniform(size=10)  # advance it, so the state is not a fresh seed's
    arrays = {
        "opt/m": rng.normal(size=net.n_params).astype(np.float32),
        "opt/v": np.full((2, 3), np.nan),  # finiteness is the caller's business
        "step": np.array(17, dtype=np.int64),
        "params": np.arange(3.0),  # no clash with the network's own θ
    }
    state = {
        "epoch": 4,
        "optimizer": {"name": "adam", "learning_rate": 1e-3},
        "rng": rng.bit_generator.state,  # holds ints far beyond 64 bits
        "history": {"loss": [0.9, 0.5]},
    }
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, net, arrays=arrays, state=state)
    back, got_arrays, got_state = load_checkpoint(path)

    assert back.params.tobytes() == net.params.tobytes() and back.dtype == "float32"
    assert list(got_arrays) == list(arrays)
    for name, value in arrays.items():
        assert got_arrays[name].dtype == value.dtype and got_arrays[name].shape == value.shape
        np.testing.assert_array_equal(got_arrays[name], value)
        assert got_arrays[name].flags.writeable
    assert got_state == state

    restored = np.random.default_rng()
    restored.bit_generator.state = got_state["rng"]
    np.testing.assert_array_equal(restored.uniform(size=5), rng.uniform(size=5))


def test_checkpoint_accepts_torch_arrays(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    net = Network([3, 2], seed=0, xp="torch")
    moment = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    save_checkpoint(tmp_path / "c.safetensors", net, arrays={"m": moment}, state={})
    back, arrays, state = load_checkpoint(tmp_path / "c.safetensors")
    assert back.xp is np and state == {}
    np.testing.assert_array_equal(arrays["m"], moment.numpy())


def test_checkpoint_refuses_bad_arrays(tmp_path: Path) -> None:
    net = small_net()
    path = tmp_path / "c.safetensors"
    with pytest.raises(ValueError, match=r"arrays\['mask'\]: expected an integer or floating"):
        save_checkpoint(path, net, arrays={"mask": np.zeros(3, dtype=bool)}, state={})
    with pytest.raises(ValueError, match="arrays: names must be non-empty strings, got 3"):
        save_checkpoint(path, net, arrays={3: np.zeros(3)}, state={})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="state: cannot be stored as JSON"):
        save_checkpoint(path, net, arrays={}, state={"f": print})
    assert listing(tmp_path) == []


def test_model_and_checkpoint_loaders_tell_the_files_apart(tmp_path: Path) -> None:
    net = small_net()
    save_model(net, tmp_path / "m.safetensors")
    save_checkpoint(tmp_path / "c.safetensors", net, arrays={}, state={})
    rejects(
        tmp_path / "m.safetensors", "it is a model file, read it with load_model", load_checkpoint
    )
    rejects(tmp_path / "c.safetensors", "it is a checkpoint, read it with load_checkpoint")


def test_checkpoint_validation(tmp_path: Path) -> None:
    net = small_net()
    info = info_for(net, format="deltaprop-checkpoint", arrays=["m"], state={}, extra=_DELETE)
    path = craft(tmp_path / "c.safetensors", info, {"params": net.params})
    rejects(path, re.escape("wrong tensors: missing ['arrays/m']"), load_checkpoint)
    craft(path, info, {"params": net.params, "arrays/m": np.zeros(2, dtype=bool)})
    rejects(path, "tensor 'arrays/m' has dtype bool; expected an integer", load_checkpoint)
    craft(path, {**info, "arrays": ["m", "m"]}, {"params": net.params})
    rejects(path, "'arrays' must list distinct non-empty names", load_checkpoint)
    craft(path, {**info, "state": None}, {"params": net.params})
    rejects(path, "field 'state' must be a JSON object", load_checkpoint)


# --- integrity: a checksum of the tensors ------------------------------------------


@pytest.mark.parametrize("kind", ["model", "checkpoint"])
@pytest.mark.parametrize("damage", ["flip", "zero"])
def test_a_changed_byte_of_the_weights_is_caught(tmp_path: Path, kind: str, damage: str) -> None:
    net = Network([20, 10, 3], seed=0)
    path = tmp_path / "m.safetensors"
    if kind == "model":
        save_model(net, path)
        loader: Any = load_model
    else:
        save_checkpoint(path, net, arrays={"m": np.ones(4)}, state={"epoch": 1})
        loader = load_checkpoint
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[-5] ^= 0x01  # the lowest bit of a weight's byte: still finite, silently different
    else:
        start = len(data) - 8 * net.n_params  # θ is the last tensor: W⁽¹⁾ starts here
        data[start : start + 100] = bytes(100)  # 100 bytes of the weights zeroed
    path.write_bytes(bytes(data))
    rejects(path, "do not match the checksum in the metadata; the file is damaged", loader)


def test_the_checksum_is_in_the_metadata_and_covers_every_tensor(tmp_path: Path) -> None:
    from deltaprop.modelformat import checksum

    net = small_net()
    save_model(net, tmp_path / "m.safetensors")
    meta = load_metadata(tmp_path / "m.safetensors")
    assert meta["format_version"] == 2
    assert meta["checksum"] == checksum({"params": np.asarray(net.params)})
    assert checksum({"a": np.zeros(2)}) != checksum({"b": np.zeros(2)})  # names count
    assert checksum({"a": np.zeros(2)}) != checksum({"a": np.zeros((1, 2))})  # shapes count
