"""Checkpoints (autograd_lite/io.py): ``save(obj, path)`` and ``load(path)``.

What a checkpoint promises, and what these tests pin:

* ``load(save(obj))`` is ``obj``: the same tree, the same key types (int keys stay ints), the
  same containers (a tuple stays a tuple), the same scalar types (``np.float32(0.5)`` stays
  one), arrays with the same dtype, shape and bytes. Tensors come back as numpy arrays.
* The file is a ``.npz`` that ``np.load(path, allow_pickle=False)`` opens, with a JSON manifest
  a person can read.
* Any damage, a changed byte anywhere or a truncation at any length, and any file that is not
  a checkpoint (empty, text, a plain .npz, another zip, an unknown format version) raises
  ``ValueError`` naming the file, never a zipfile or numpy error. Nothing is ever unpickled.
* A save that fails, however it fails, leaves the previous checkpoint byte for byte intact and
  no temporary file behind.
"""

from __future__ import annotations

import ast
import json
import math
import os
import pickle
import zipfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from autograd_lite import Tensor, io

# ---- helpers ---------------------------------------------------------------------------------


def assert_same(got, want, where="obj"):
    """Exact equality of trees, including the types of keys, containers and scalars."""
    if isinstance(want, Tensor):
        want = want.data  # Tensors come back as numpy arrays
    if isinstance(want, np.ndarray):
        assert type(got) is np.ndarray, f"{where}: {type(got).__name__}, not an ndarray"
        assert (got.dtype, got.shape) == (want.dtype, want.shape), where
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), where  # bit for bit
        return
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, dict):
        assert [(type(k), k) for k in got] == [(type(k), k) for k in want], where
        for k in want:
            assert_same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, (float, np.floating)):
        assert (math.isnan(got) and math.isnan(want)) or (
            got == want and math.copysign(1, got) == math.copysign(1, want)), where
    else:
        assert got == want, where


def a_state_dict():
    """What a training script saves: model and optimizer state, with every supported type."""
    rng = np.random.default_rng(0)
    return {
        "model": {
            "layers.0.weight": ag.randn(4, 2, generator=rng),  # a Tensor
            "layers.0.bias": np.zeros(4, np.float32),
            "layers.2.weight": rng.standard_normal((1, 4)).astype(np.float32),
        },
        "optimizer": {
            "state": {0: {"step": 3, "exp_avg": np.ones((4, 2), np.float32)},
                      1: {"step": np.int64(3), "exp_avg": np.full(4, 0.5, np.float32)}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False,
                              "params": [0, 1], "name": None}],
        },
        "arrays": {
            "float64": rng.standard_normal((2, 3)),
            "float16": np.array([1.5, -2.0], np.float16),
            "int64": np.arange(6).reshape(2, 3),
            "int8": np.array([-128, 127], np.int8),
            "uint8": np.array([0, 255], np.uint8),
            "bool": np.array([[True, False], [False, True]]),
            "complex": np.array([1 + 2j, -3j]),
            "0-d float": np.array(3.5, np.float32),
            "0-d int": np.array(7),
            "empty": np.zeros((0, 4), np.float32),
            "special": np.array([np.nan, np.inf, -np.inf, -0.0]),
            "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
            "strided": np.arange(20)[::3],
            "read-only": np.frombuffer(b"\x01\x02\x03\x04", np.uint8),
        },
        "scalars": {
            "int": 7, "big int": 2**80, "negative": -1, "float": 0.1, "-0.0": -0.0,
            "nan": math.nan, "inf": math.inf, "-inf": -math.inf, "true": True, "false": False,
            "none": None, "str": "héllo ☃ \"quoted\"\n", "empty str": "",
            "np.float32": np.float32(0.5), "np.float64": np.float64(0.25),
            "np.int64": np.int64(-3), "np.bool_": np.bool_(True),
        },
        "containers": {
            "empty dict": {}, "empty list": [], "empty tuple": (),
            "nested": [(1, [2, {"k": (3,)}])],
            "key types": {1: "int one", "1": "str one", -5: None, 0: [0]},
        },
        7: "an int key at the top",
    }


def flat_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def load_error(path) -> ValueError:
    """The error load raises: exactly ValueError, naming the file, hiding raw tracebacks."""
    with pytest.raises(ValueError) as info:
        io.load(path)
    e = info.value
    assert type(e) is ValueError, f"{type(e).__name__}: {e}"
    assert str(path) in str(e)
    assert e.__cause__ is None and (e.__context__ is None or e.__suppress_context__)
    return e


# ---- round trips -----------------------------------------------------------------------------


def test_round_trip_keeps_the_tree_key_types_scalar_types_and_array_bytes(tmp_path):
    state = a_state_dict()
    io.save(state, tmp_path / "ckpt.npz")
    assert_same(io.load(tmp_path / "ckpt.npz"), state)
    assert flat_files(tmp_path) == ["ckpt.npz"]


def test_tensors_come_back_as_writable_numpy_arrays(tmp_path):
    w = ag.tensor([[1.0, 2.0]], requires_grad=True)
    io.save({"w": w}, tmp_path / "w.npz")
    loaded = io.load(tmp_path / "w.npz")["w"]
    assert type(loaded) is np.ndarray and loaded.dtype == np.float32
    loaded += 1  # e.g. a load_state_dict that updates in place
    assert loaded.tolist() == [[2.0, 3.0]]


def test_non_native_byte_order_is_stored_natively(tmp_path):
    big = np.arange(3, dtype=">i4")
    io.save(big, tmp_path / "b.npz")
    loaded = io.load(tmp_path / "b.npz")
    assert loaded.dtype == np.int32 and loaded.dtype.isnative and loaded.tolist() == [0, 1, 2]


def test_any_supported_value_can_be_the_top_level(tmp_path):
    for obj in [np.eye(2), 3, None, "text", [1, (2.5, None)], {}]:
        io.save(obj, tmp_path / "x.npz")
        assert_same(io.load(tmp_path / "x.npz"), obj)


KEYS = st.one_of(st.text(max_size=4), st.integers(-3, 3))
ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.uint16, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
NUMPY_SCALARS = st.one_of(st.floats(width=32).map(np.float32), st.integers(-9, 9).map(np.int64),
                          st.booleans().map(np.bool_))
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6),
                   ARRAYS, NUMPY_SCALARS)
TREES = st.recursive(LEAVES, lambda children: st.one_of(
    st.lists(children, max_size=3), st.lists(children, max_size=3).map(tuple),
    st.dictionaries(KEYS, children, max_size=3)), max_leaves=12)


@given(tree=TREES)
def test_any_tree_of_supported_values_round_trips(tree, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "hypothesis-tree.npz"
    io.save(tree, path)
    assert_same(io.load(path), tree)


def test_the_same_state_gives_the_same_bytes(tmp_path):
    io.save(a_state_dict(), tmp_path / "a.npz")
    io.save(a_state_dict(), tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_save_overwrites_and_takes_str_or_pathlike(tmp_path):
    io.save({"v": 1}, str(tmp_path / "c.npz"))
    io.save({"v": 2}, tmp_path / "c.npz")
    assert io.load(str(tmp_path / "c.npz")) == {"v": 2}
    assert flat_files(tmp_path) == ["c.npz"]  # no suffix added, no temporary files left


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_file_gets_the_usual_permissions_not_a_temp_files_0600(tmp_path):
    umask = os.umask(0o022)
    try:
        io.save({}, tmp_path / "m.npz")
    finally:
        os.umask(umask)
    assert (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644


# ---- the format: a .npz with a readable manifest ---------------------------------------------


def test_the_file_is_an_npz_with_a_readable_json_manifest(tmp_path):
    path = tmp_path / "ckpt.npz"
    io.save({"w": np.ones((2, 3), np.float32), "state": {0: {"step": 5}}}, path)
    with np.load(path, allow_pickle=False) as npz:  # plain numpy opens it, no pickle needed
        text = str(npz["__manifest__"])
        assert npz["a0"].shape == (2, 3)
    manifest = json.loads(text)
    assert manifest["format"] == io.FORMAT and manifest["version"] == io.FORMAT_VERSION
    w_key, w = manifest["tree"]["dict"][0]
    assert w_key == "w" and w["array"] == "a0"
    assert w["dtype"] == "float32" and w["shape"] == [2, 3] and len(w["sha256"]) == 64
    assert manifest["tree"]["dict"][1][1] == {"dict": [[0, {"dict": [["step", 5]]}]]}
    assert '"w", {"array": "a0", "dtype": "float32", "shape": [2, 3]' in text  # one line each


def test_the_docstring_shows_how_to_read_the_manifest():
    assert "np.load('model.npz')['__manifest__']" in io.__doc__


# ---- what cannot be saved --------------------------------------------------------------------


class Custom:
    pass


@pytest.mark.parametrize("value, message", [
    (np.array([object(), 1], dtype=object), "object array"),
    (np.array(["a", "b"]), "dtype <U1"),
    (np.array(["2024-01-01"], dtype="datetime64[D]"), "datetime64"),
    ({1, 2}, "set"),
    (Custom(), "Custom"),
    (b"bytes", "bytes"),
    (1 + 2j, "complex"),
])
def test_unsupported_values_are_a_type_error_naming_where_they_are(tmp_path, value, message):
    with pytest.raises(TypeError, match=message) as info:
        io.save({"model": {"layers": [np.ones(2), value]}}, tmp_path / "x.npz")
    assert "obj['model']['layers'][1]" in str(info.value)
    assert flat_files(tmp_path) == []


@pytest.mark.parametrize("key", [True, 1.5, (1, 2), None])
def test_dict_keys_must_be_str_or_int(tmp_path, key):
    with pytest.raises(TypeError, match="keys must be str or int"):
        io.save({"state": {key: 1}}, tmp_path / "x.npz")


def test_a_structure_that_contains_itself_is_refused(tmp_path):
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        io.save(loop, tmp_path / "x.npz")
    shared = np.ones(2)
    io.save({"a": shared, "b": [shared, shared]}, tmp_path / "ok.npz")  # sharing is fine


# ---- atomic save: a failure leaves the previous checkpoint intact ----------------------------


def fail_on_second_array(monkeypatch, error, seen):
    """Make numpy's .npy writer raise once some members are already written, and record what
    the directory and the target looked like at that moment."""
    real = np.lib.format.write_array
    calls = []

    def write_array(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the manifest and one array are in the temporary file
            seen.append(sorted(os.listdir(seen[0])))
            raise error
        return real(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_array)


FAILURES = {
    "unsupported value after some arrays": ("value", TypeError),
    "the writer raises mid-file": ("writer", OSError),
    "interrupted mid-file": ("interrupt", KeyboardInterrupt),
    "fsync fails": ("fsync", OSError),
    "rename fails": ("replace", OSError),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_save_leaves_the_previous_checkpoint_intact_and_no_temp_file(
        tmp_path, monkeypatch, failure):
    path = tmp_path / "ckpt.npz"
    io.save(a_state_dict(), path)
    before = path.read_bytes()
    how, error = FAILURES[failure]
    new_state = {"w": np.zeros(5), "v": np.ones(3), "late": Custom() if how == "value" else 1}
    seen = [tmp_path]
    if how in ("writer", "interrupt"):
        fail_on_second_array(monkeypatch, error("disk full") if how == "writer"
                             else KeyboardInterrupt(), seen)
    elif how in ("fsync", "replace"):
        def broken(*args):
            seen.append(sorted(os.listdir(tmp_path)))
            raise OSError(f"{how} failed")
        monkeypatch.setattr(os, how, broken)
    with pytest.raises(error):
        io.save(new_state, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert flat_files(tmp_path) == ["ckpt.npz"]
    assert_same(io.load(path), a_state_dict())
    if how != "value":  # the work happened in a temporary file next to the target
        assert len(seen[1]) == 2 and seen[1][0].startswith(".ckpt.npz.")


def test_save_into_a_missing_directory_fails_without_creating_anything(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.save({}, tmp_path / "missing" / "ckpt.npz")
    assert flat_files(tmp_path) == []


# ---- atomic_write: how save, plot.save_figure and viz write files ----------------------------


@pytest.mark.parametrize("data, written", [
    (b"\x00new bytes", b"\x00new bytes"),
    ("new text, \u00e9", "new text, \u00e9".encode()),
    (lambda f: f.write(b"written by a function"), b"written by a function"),
], ids=["bytes", "str as UTF-8", "a writer"])
def test_atomic_write_replaces_the_target_with_bytes_text_or_what_a_writer_writes(
        tmp_path, data, written):
    target = tmp_path / "out"
    target.write_bytes(b"old")
    io.atomic_write(target, data)
    assert target.read_bytes() == written
    assert flat_files(tmp_path) == ["out"]


def half_then(error):
    def writer(f):
        f.write(b"half of the new file")
        raise error
    return writer


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()],
                         ids=["the writer raises", "interrupted"])
def test_a_failed_atomic_write_leaves_the_target_unchanged_and_no_temp_file(tmp_path, error):
    target = tmp_path / "out"
    target.write_bytes(b"old")
    with pytest.raises(type(error)):
        io.atomic_write(target, half_then(error))
    assert target.read_bytes() == b"old"
    assert flat_files(tmp_path) == ["out"]


# ---- damaged and foreign files: ValueError naming the file -----------------------------------


@pytest.fixture(scope="module")
def small_checkpoint(tmp_path_factory) -> bytes:
    """The bytes of a small checkpoint: arrays of several dtypes, int keys, a 0-d array."""
    path = tmp_path_factory.mktemp("small") / "small.npz"
    io.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([True, False]),
             "state": {0: {"step": np.int64(2)}}, "lr": 0.5, "names": ("w", "b")}, path)
    return path.read_bytes()


def test_every_single_bit_flip_anywhere_in_the_file_is_detected(small_checkpoint, tmp_path):
    path = tmp_path / "flipped.npz"
    for position in range(len(small_checkpoint)):
        damaged = bytearray(small_checkpoint)
        damaged[position] ^= 0x01 << (position % 8)
        path.write_bytes(damaged)
        load_error(path)


@given(data=st.data())
def test_a_byte_changed_to_any_other_value_is_detected(small_checkpoint, tmp_path_factory,
                                                       data):
    position = data.draw(st.integers(0, len(small_checkpoint) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(small_checkpoint)
    damaged[position] ^= mask
    path = tmp_path_factory.getbasetemp() / "hypothesis-flip.npz"
    path.write_bytes(damaged)
    load_error(path)


def test_a_flipped_byte_inside_array_data_says_corrupted(tmp_path):
    path = tmp_path / "big.npz"
    io.save({"w": np.zeros(1000, np.float32)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # in the middle of w's 4000 bytes
    path.write_bytes(data)
    assert "corrupted" in str(load_error(path))


def test_every_truncation_is_detected(small_checkpoint, tmp_path):
    path = tmp_path / "truncated.npz"
    for length in range(len(small_checkpoint)):
        path.write_bytes(small_checkpoint[:length])
        message = str(load_error(path))
        assert "empty" in message if length == 0 else (
            "truncated" in message or "not a" in message), message


def test_bytes_appended_to_the_file_are_detected(small_checkpoint, tmp_path):
    path = tmp_path / "appended.npz"
    path.write_bytes(small_checkpoint + b"\0")
    load_error(path)


def write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)


def write_sealed_zip(path, members: dict[str, bytes]):
    """A zip that ends with io's checksum: what a forger who has read io.py can write."""
    write_zip(path, members)
    with open(path, "r+b") as f:
        io._seal(f)


def npy(array, allow_pickle=False) -> bytes:
    """The bytes of ``array`` as a .npy file, as a member of a .npz holds them."""
    buffer = BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def write_with(save, *args, **kwargs):
    def make(path):
        with open(path, "wb") as f:
            save(f, *args, **kwargs)
    return make


FOREIGN = {
    "empty": (lambda p: p.write_bytes(b""), "empty"),
    "text": (lambda p: p.write_text("epoch,loss\n1,0.5\n"), "not a .npz"),
    "single .npy": (write_with(np.save, np.ones(3)), "single .npy"),
    "plain .npz": (write_with(np.savez, w=np.ones(3)), "without an autograd_lite"),
    "zip of text": (lambda p: write_zip(p, {"readme.txt": b"hello"}), "readme.txt"),
    "zip, unsealed": (lambda p: write_zip(p, {"__manifest__.npy": b"x"}), "checksum"),
    "pickle": (lambda p: p.write_bytes(pickle.dumps({"w": [1.0]})), "not a .npz"),
}


@pytest.mark.parametrize("kind", FOREIGN)
def test_files_that_are_not_checkpoints_say_what_they_are(tmp_path, kind):
    make, message = FOREIGN[kind]
    path = tmp_path / "file.npz"
    make(path)
    assert message in str(load_error(path))


def test_an_unknown_format_version_names_both_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "FORMAT_VERSION", 2)  # as a future autograd_lite would write
    io.save({"w": np.ones(2)}, tmp_path / "future.npz")
    monkeypatch.undo()
    message = str(load_error(tmp_path / "future.npz"))
    assert "format version 2" in message and "version 1" in message


def test_a_sealed_archive_with_another_format_name_is_foreign(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "FORMAT", "someone else's format")
    io.save({}, tmp_path / "other.npz")
    monkeypatch.undo()
    assert "not a checkpoint" in str(load_error(tmp_path / "other.npz"))


def test_a_resealed_file_with_a_changed_array_is_caught_by_the_arrays_sha256(tmp_path):
    """A forger changes an array's bytes (not its dtype or shape) and recomputes the whole-file
    checksum: only the array's own sha256 in the manifest can tell, and it does."""
    path = tmp_path / "forged.npz"
    io.save({"model": {"weight": np.arange(6.0)}}, path)
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members["a0.npy"] = npy(np.arange(6.0)[::-1].copy())  # the weight, reversed
    write_sealed_zip(path, members)
    message = str(load_error(path))
    assert "obj['model']['weight']" in message and "sha256" in message


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        io.load(tmp_path / "nowhere.npz")


# ---- nothing is ever unpickled ---------------------------------------------------------------


def test_np_load_is_only_ever_called_with_allow_pickle_false():
    tree = ast.parse(Path(io.__file__).read_text())
    loads = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and ast.unparse(node.func) in ("np.load", "np.lib.format.write_array")]
    assert len(loads) == 2
    for call in loads:
        flags = {k.arg: k.value for k in call.keywords}
        assert isinstance(flags.get("allow_pickle"), ast.Constant), ast.unparse(call)
        assert flags["allow_pickle"].value is False, ast.unparse(call)
    imported = {alias.name for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert not imported & {"pickle", "cPickle", "dill", "marshal", "shelve"}


UNPICKLED = []


def record_unpickling():
    UNPICKLED.append("unpickled!")


class Payload:
    """Unpickling this would record itself: the test checks that it never happens. (It calls a
    function, which pickle stores by name; ``UNPICKLED.append`` would append to a copy.)"""

    def __reduce__(self):
        return record_unpickling, ()


def test_a_validly_sealed_file_holding_a_pickle_is_refused_unopened(tmp_path):
    # Forge what an attacker could: an object array under a correct manifest and checksum.
    path = tmp_path / "evil.npz"
    evil = np.array([Payload()], dtype=object)
    manifest = {"format": io.FORMAT, "version": io.FORMAT_VERSION, "tree": {
        "array": "a0", "dtype": "object", "shape": [1], "sha256": "0" * 64}}
    write_sealed_zip(path, {"__manifest__.npy": npy(np.array(json.dumps(manifest))),
                            "a0.npy": npy(evil, allow_pickle=True)})
    message = str(load_error(path))
    assert "allow_pickle" in message or "object" in message
    assert UNPICKLED == []


# ---- a training run, stopped and resumed -----------------------------------------------------


def test_resuming_from_a_checkpoint_continues_exactly_as_if_never_stopped(tmp_path):
    from autograd_lite import nn, optim
    from autograd_lite.data import DataLoader, TensorDataset
    from autograd_lite.datasets import make_xor

    X, y = make_xor(64, seed=0)
    loader = DataLoader(TensorDataset(X, y), batch_size=16)

    def setup(seed):
        ag.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
        opt = optim.Adam(model.parameters(), lr=0.05)
        return model, opt, optim.StepLR(opt, step_size=1, gamma=0.5)

    def epoch(model, opt, sched):
        for xb, yb in loader:
            opt.zero_grad()
            nn.CrossEntropyLoss()(model(xb), yb).backward()
            opt.step()
        sched.step()

    model, opt, sched = setup(0)
    epoch(model, opt, sched)
    io.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict(), "epoch": 1}, tmp_path / "ckpt.npz")

    resumed, resumed_opt, resumed_sched = setup(1)  # other initial weights
    state = io.load(tmp_path / "ckpt.npz")
    resumed.load_state_dict(state["model"])
    resumed_opt.load_state_dict(state["optimizer"])
    resumed_sched.load_state_dict(state["scheduler"])
    assert state["epoch"] == 1
    np.testing.assert_array_equal(resumed(ag.tensor(X)).data, model(ag.tensor(X)).data)

    epoch(model, opt, sched)
    epoch(resumed, resumed_opt, resumed_sched)
    for (name, p), (_, q) in zip(model.named_parameters(), resumed.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)  # Adam's moments came back
    assert opt.param_groups[0]["lr"] == resumed_opt.param_groups[0]["lr"] == 0.0125
