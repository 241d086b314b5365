"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for state_dicts, without pickle.

``obj`` is a tree of dicts (str or int keys), lists and tuples whose leaves are numpy arrays,
Tensors, numpy scalars and Python ``int``, ``float``, ``bool``, ``None`` and ``str``: a
model's ``state_dict()``, an optimizer's, or a dict holding both and the epoch number.
``load`` gives back the same tree with the same key types, containers and scalar types;
arrays and Tensors come back as numpy arrays.

The file is a ``.npz`` archive that ``numpy.load(path, allow_pickle=False)`` opens:

* ``__manifest__``: a 0-d string array holding JSON, for people and for ``load``: the format
  name and version and the tree, in which each array is a record of its member name, dtype,
  shape and sha256 (dict keys are kept as ``[key, value]`` pairs so int keys stay ints):

        python -c "import numpy as np; print(np.load('model.npz')['__manifest__'])"

* ``a0``, ``a1``, ...: the arrays, in numpy's ``.npy`` format, uncompressed.
* the zip comment: ``autograd_lite sha256 <hex>``, the sha256 of every byte before it, so any
  changed byte, in the arrays, the manifest or the zip's own bookkeeping, is detected.

``save`` writes a temporary file next to ``path``, flushes it to disk (fsync) and renames it
onto ``path`` (``os.replace``, atomic): a crash or an error mid-save leaves either the old file
or the new one, never half of one, and removes the temporary file (``atomic_write`` does this;
plots and pictures are written with it too). ``load`` only ever calls
``np.load(..., allow_pickle=False)``, so nothing is ever unpickled; a damaged, truncated,
empty or foreign file raises ``ValueError`` naming the file and what is wrong with it.

>>> model = ag.nn.Linear(2, 1)
>>> opt = ag.optim.SGD(model.parameters(), lr=0.1)
>>> save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 5}, "ckpt.npz")
>>> state = load("ckpt.npz")
>>> state["epoch"], sorted(state["model"])
(5, ['bias', 'weight'])
>>> model.load_state_dict(state["model"])
IncompatibleKeys(missing_keys=[], unexpected_keys=[])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import secrets
import zipfile
from collections.abc import Callable
from io import BytesIO
from typing import Any, BinaryIO

import numpy as np

from ._tensor import Tensor

__all__ = ["save", "load", "atomic_write", "FORMAT", "FORMAT_VERSION"]

FORMAT = "autograd_lite checkpoint"
FORMAT_VERSION = 1
MANIFEST = "__manifest__"

_SEAL_PREFIX = b"autograd_lite sha256 "
_SEAL_LEN = len(_SEAL_PREFIX) + 64  # the zip comment: prefix + hex digest
_EOCD = b"PK\x05\x06"  # zip's end-of-central-directory record; its last field: comment length
_ARRAY_KINDS = "biufc"  # bool, int, uint, float, complex: plain bytes, no pickle
_ARRAY_KEYS = {"array", "dtype", "shape", "sha256", "scalar"}


# ---- save ------------------------------------------------------------------------------------


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (a state_dict: nested dicts, lists, tuples of arrays and numbers) to
    ``path`` atomically. The file is written exactly at ``path`` (no suffix is added).

    Raises TypeError for a value that cannot be stored (an object array, a set, a custom
    class...), naming where it is in ``obj``; then no file is touched.

    >>> save({"weight": np.ones((2, 3), np.float32), "step": 10}, "ckpt.npz")
    """
    target = os.fspath(path)
    arrays: list[tuple[str, np.ndarray]] = []
    tree = _encode(obj, arrays, "obj", set())  # every TypeError happens here, before writing
    manifest = {"format": FORMAT, "version": FORMAT_VERSION, "arrays": len(arrays),
                "about": "written by autograd_lite.io.save; read with autograd_lite.io.load",
                "tree": tree}
    text = _pretty(manifest)

    def write(f):
        _write_archive(f, text, arrays)
        _seal(f)  # reads back what was written: atomic_write's file is opened "w+b"

    atomic_write(target, write)


def _encode(obj, arrays, where, active):
    """The JSON manifest node for ``obj``; arrays are appended to ``arrays``."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, np.generic):  # before int/float: np.float64 is a float subclass
        return _encode_array(np.asarray(obj), arrays, where, scalar=True)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        value = float(obj)
        return value if math.isfinite(value) else {"float": repr(value)}  # 'nan', 'inf', '-inf'
    if isinstance(obj, Tensor):
        return _encode_array(obj.data, arrays, where)
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, arrays, where)
    if not isinstance(obj, (dict, list, tuple)):
        raise TypeError(f"save: cannot store a {type(obj).__name__} (at {where}); a checkpoint "
                        "holds dicts, lists, tuples, numpy arrays, Tensors, numpy scalars, int, "
                        "float, bool, None and str")
    if id(obj) in active:
        raise ValueError(f"save: {where} contains itself; a checkpoint must be a tree")
    active.add(id(obj))
    try:
        if isinstance(obj, dict):
            return {"dict": [[key, _encode(value, arrays, f"{where}[{key!r}]", active)]
                             for key, value in ((_key(k, where), v) for k, v in obj.items())]}
        items = [_encode(v, arrays, f"{where}[{i}]", active) for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else {"tuple": items}
    finally:
        active.discard(id(obj))


def _pretty(node, depth=0) -> str:
    """JSON laid out for reading: one line per dict entry and per array, short lists inline."""
    flat = json.dumps(node, ensure_ascii=True, allow_nan=False)
    if not isinstance(node, (list, dict)) or "array" in node or len(flat) + 2 * depth <= 90:
        return flat
    pad, end = "  " * (depth + 1), "  " * depth
    if isinstance(node, list):
        if not any(isinstance(v, (list, dict)) for v in node):
            return flat
        lines = [pad + _pretty(v, depth + 1) for v in node]
        return "[\n" + ",\n".join(lines) + "\n" + end + "]"
    if node.keys() == {"dict"}:  # [key, value] pairs, one per line
        lines = [f"{pad}[{json.dumps(k)}, {_pretty(v, depth + 1)}]" for k, v in node["dict"]]
        return '{"dict": [\n' + ",\n".join(lines) + "\n" + end + "]}"
    lines = [f"{pad}{json.dumps(k)}: {_pretty(v, depth + 1)}" for k, v in node.items()]
    return "{\n" + ",\n".join(lines) + "\n" + end + "}"


def _key(key, where):
    if isinstance(key, str):
        return str(key)
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return int(key)
    raise TypeError(f"save: dict keys must be str or int, got the {type(key).__name__} key "
                    f"{key!r} in {where}")


def _encode_array(arr, arrays, where, scalar=False):
    if arr.dtype.kind not in _ARRAY_KINDS:
        what = ("an object array (storing it would need pickle, which checkpoints never use)"
                if arr.dtype.kind == "O" else f"an array of dtype {arr.dtype}")
        raise TypeError(f"save: {where} is {what}; only bool, integer, float and complex "
                        "arrays can be saved")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    name = f"a{len(arrays)}"
    arrays.append((name, arr))
    node = {"array": name, "dtype": arr.dtype.name, "shape": list(arr.shape),
            "sha256": _digest(arr)}
    if scalar:
        node["scalar"] = True
    return node


def _digest(arr: np.ndarray) -> str:
    data = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
    # an ndarray is a buffer; numpy's stubs declare __buffer__ only for Python >= 3.12
    return hashlib.sha256(data).hexdigest()  # type: ignore[arg-type]


def _write_archive(f, text: str, arrays) -> None:
    """What ``np.savez`` writes (one .npy per zip member), with the manifest first."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in [(MANIFEST, np.array(text)), *arrays]:
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def _seal(f) -> None:
    """Put the sha256 of everything before the zip comment into the comment."""
    size = f.seek(0, os.SEEK_END)
    f.seek(size - 22)
    end = f.read(22)
    if end[:4] != _EOCD or end[-2:] != b"\0\0":
        raise RuntimeError("save: unexpected zip layout (no end record without comment)")
    f.seek(0)
    digest = hashlib.sha256()
    left = size - 2
    while left:
        chunk = f.read(min(left, 1 << 20))
        digest.update(chunk)
        left -= len(chunk)
    f.seek(size - 2)
    f.write(_SEAL_LEN.to_bytes(2, "little") + _SEAL_PREFIX + digest.hexdigest().encode())


# ---- writing a file atomically ---------------------------------------------------------------


def atomic_write(path: str | os.PathLike[str],
                 data: bytes | str | Callable[[BinaryIO], object]) -> None:
    """Write ``data`` to ``path`` atomically: a reader, or the next run after a crash, sees the
    old file or the new one, never half of one.

    ``data`` is bytes, a str (written as UTF-8), or a function that writes into the binary
    file it is given (opened ``"w+b"``, so it may read back what it wrote). The bytes go to a
    new temporary file beside ``path``, are flushed to disk (fsync) and renamed onto ``path``
    (``os.replace``); on any failure, KeyboardInterrupt included, the temporary file is removed
    and ``path`` is left as it was. ``save``, ``plot.save_figure`` and ``viz`` write with it.

    >>> atomic_write("notes.txt", "hello")
    >>> atomic_write("weights.npz", lambda f: np.savez(f, w=np.ones(3)))
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, temp = _create_temp(directory, os.path.basename(target))
    try:
        with os.fdopen(fd, "w+b") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(directory)


def _create_temp(directory: str, base: str):
    """A new file next to the target; mode 0o666 less the umask, as a plain open() would."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        temp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(temp, flags, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"atomic_write: could not create a temporary file in {directory}")


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); not possible, nor needed, everywhere."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- load ------------------------------------------------------------------------------------


class _Malformed(Exception):
    """The checksum holds, yet the contents are not what save writes."""


def load(path: str | os.PathLike[str]) -> Any:
    """Read a checkpoint written by ``save``: the same tree, arrays as numpy arrays.

    Raises ValueError, naming the file, when it is empty, truncated, damaged (checksum
    mismatch), not a checkpoint, or of an unknown format version; OSError (e.g.
    FileNotFoundError) when it cannot be read at all. Nothing is ever unpickled.

    >>> save({"weight": np.ones((2, 3), np.float32), "step": 10}, "ckpt.npz")
    >>> state = load("ckpt.npz")
    >>> state["weight"].dtype
    dtype('float32')
    """
    name = os.fspath(path)
    with open(name, "rb") as f:
        data = f.read()

    def bad(what):
        return ValueError(f"cannot load checkpoint '{name}': {what}")

    if not data:
        raise bad("the file is empty (0 bytes)")
    recorded = _read_seal(data)
    if recorded is None:
        raise bad(_diagnose(data))
    if hashlib.sha256(data[:-_SEAL_LEN - 2]).hexdigest().encode() != recorded:
        raise bad(f"the file is corrupted: the sha256 of its {len(data)} bytes differs from the "
                  "one recorded when it was saved (a byte changed on disk or in transfer)")
    try:
        return _read(data)
    except _Malformed as e:
        raise bad(str(e)) from None
    except Exception as e:  # a sealed file that numpy or zipfile cannot parse: still bad input
        raise bad(f"malformed contents ({type(e).__name__}: {e})") from None


def _read_seal(data: bytes) -> bytes | None:
    """The hex digest in the zip comment, or None when the file does not end with one."""
    if len(data) < _SEAL_LEN + 2 + 22:
        return None
    length, comment = data[-_SEAL_LEN - 2:-_SEAL_LEN], data[-_SEAL_LEN:]
    if length != _SEAL_LEN.to_bytes(2, "little") or not comment.startswith(_SEAL_PREFIX):
        return None
    return comment[len(_SEAL_PREFIX):]


def _diagnose(data: bytes) -> str:
    """What a file without the checksum trailer is: foreign, truncated or damaged."""
    if data.startswith(b"\x93NUMPY"):
        return "it is a single .npy array, not a checkpoint written by autograd_lite.io.save"
    if not data.startswith(b"PK\x03\x04"):
        return (f"not a checkpoint: it is not a .npz (zip) archive; it starts with "
                f"{data[:16]!r}")
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            members = zf.namelist()
    except Exception as e:
        return (f"the file is truncated or corrupted: its {len(data)} bytes are not a complete "
                f"zip archive ({type(e).__name__}: {e})")
    if MANIFEST + ".npy" not in members:
        shown = ", ".join(members[:5]) + (", ..." if len(members) > 5 else "")
        return (f"not a checkpoint: a .npz/zip archive (members: {shown or 'none'}) without an "
                "autograd_lite manifest; it was not written by autograd_lite.io.save")
    return ("the file is truncated or damaged: the checksum that autograd_lite.io.save writes "
            f"at its end is missing or incomplete ({len(data)} bytes)")


def _read(data: bytes):
    archive = np.load(BytesIO(data), allow_pickle=False)
    if not hasattr(archive, "files"):
        raise _Malformed("not a .npz archive")
    with archive:
        if MANIFEST not in archive.files:
            raise _Malformed("the archive has no manifest")
        raw = archive[MANIFEST]
        if raw.dtype.kind != "U" or raw.ndim != 0:
            raise _Malformed(f"the manifest is a {raw.dtype}{raw.shape} array, not a string")
        manifest = json.loads(raw.item(), parse_constant=_refuse_constant)
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _Malformed("not a checkpoint: the manifest does not name the format "
                             f"{FORMAT!r}")
        version = manifest.get("version")
        if version != FORMAT_VERSION or isinstance(version, bool):
            raise _Malformed(f"it has format version {version!r}, and this autograd_lite reads "
                             f"version {FORMAT_VERSION} only")
        if "tree" not in manifest:
            raise _Malformed("the manifest has no 'tree'")
        used: set[str] = set()
        obj = _decode(manifest["tree"], archive, used, "obj")
        unexpected = set(archive.files) - used - {MANIFEST}
        if unexpected:
            raise _Malformed(f"the archive holds arrays the manifest does not mention: "
                             f"{sorted(unexpected)}")
    return obj


def _refuse_constant(constant):
    raise _Malformed(f"the manifest holds {constant}, which save never writes")


def _decode(node, archive, used, where):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(v, archive, used, f"{where}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        raise _Malformed(f"the manifest has an unknown entry at {where}")
    if node.keys() == {"dict"} and isinstance(node["dict"], list):
        out = {}
        for pair in node["dict"]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))
                    and not isinstance(pair[0], bool) and pair[0] not in out):
                raise _Malformed(f"the manifest has a malformed dict entry in {where}")
            out[pair[0]] = _decode(pair[1], archive, used, f"{where}[{pair[0]!r}]")
        return out
    if node.keys() == {"tuple"} and isinstance(node["tuple"], list):
        return tuple(_decode(v, archive, used, f"{where}[{i}]")
                     for i, v in enumerate(node["tuple"]))
    if node.keys() == {"float"} and node["float"] in ("nan", "inf", "-inf"):
        return float(node["float"])
    if "array" in node and node.keys() <= _ARRAY_KEYS:
        return _decode_array(node, archive, used, where)
    raise _Malformed(f"the manifest has an unknown entry at {where}")


def _decode_array(node, archive, used, where):
    name = node["array"]
    if not isinstance(name, str) or name == MANIFEST or name not in archive.files:
        raise _Malformed(f"the array for {where} ({name!r}) is missing from the archive")
    if name in used:
        raise _Malformed(f"the manifest uses the array {name!r} twice")
    used.add(name)
    arr = archive[name]
    if arr.dtype.kind not in _ARRAY_KINDS:
        raise _Malformed(f"the array for {where} has dtype {arr.dtype}")
    if arr.dtype.name != node.get("dtype") or list(arr.shape) != node.get("shape"):
        raise _Malformed(f"the array for {where} is {arr.dtype.name}{list(arr.shape)}, but the "
                         f"manifest says {node.get('dtype')}{node.get('shape')}")
    if _digest(arr) != node.get("sha256"):
        raise _Malformed(f"the array for {where} does not match its sha256 in the manifest")
    if node.get("scalar", False):
        if arr.ndim != 0:
            raise _Malformed(f"the scalar for {where} has shape {arr.shape}")
        return arr[()]
    return arr if arr.flags.writeable else arr.copy()
