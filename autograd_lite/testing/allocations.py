"""Count the numpy arrays a block of code makes: the size in bytes of each array buffer numpy
allocates, through numpy's own hook for a memory handler (NEP 49), set for the block only.

>>> from autograd_lite.testing import array_allocations
>>> kept = np.zeros(1000)
>>> with array_allocations() as sizes:
...     made = np.ones(300)                  # a new array: 2,400 bytes
...     kept *= 2.0                          # written in place: nothing new
>>> [n for n in sizes if n > 1024]
[2400]

What it sees is numpy's array memory only: not Python objects, and not the scratch numpy's
loops keep while casting or buffering (which ``tracemalloc`` sees beside everything else). It
is what you need to check that a training step reuses its arrays (``ag.compile``'s replays do),
without counting the interpreter's own small allocations. The handler is one per thread (a
context variable, as numpy sets it); arrays made inside the block are freed normally after it.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

import numpy as np

__all__ = ["array_allocations"]

# numpy's C API, reached through ctypes: its table of functions, and the two entries (by their
# stable numbers in numpy's API) that get and set the memory handler of the current context.
_api = ctypes.pythonapi
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_void_p]
_api.PyCapsule_New.restype = ctypes.py_object
_api.PyCapsule_New.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
_MULTIARRAY = getattr(np, "_core", None) or np.core  # numpy 2, or numpy 1.x
_TABLE = ctypes.cast(_api.PyCapsule_GetPointer(_MULTIARRAY._multiarray_umath._ARRAY_API, None),
                     ctypes.POINTER(ctypes.c_void_p))
_set_handler = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.py_object)(_TABLE[304])
_get_handler = ctypes.PYFUNCTYPE(ctypes.py_object)(_TABLE[305])

_Malloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_Calloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t)
_Realloc = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
_Free = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class _Allocator(ctypes.Structure):  # numpy's PyDataMemAllocator
    _fields_ = [("ctx", ctypes.c_void_p), ("malloc", _Malloc), ("calloc", _Calloc),
                ("realloc", _Realloc), ("free", _Free)]


class _Handler(ctypes.Structure):  # numpy's PyDataMem_Handler
    _fields_ = [("name", ctypes.c_char * 127), ("version", ctypes.c_uint8),
                ("allocator", _Allocator)]


_CAPSULE_NAME = ctypes.create_string_buffer(b"mem_handler")  # capsules keep a pointer to it
_default = ctypes.cast(_api.PyCapsule_GetPointer(_get_handler(), ctypes.addressof(_CAPSULE_NAME)),
                       ctypes.POINTER(_Handler)).contents.allocator
_counting: list[int] | None = None  # the sizes of the innermost block running, if any


def _malloc(ctx, size):
    if _counting is not None:
        _counting.append(size)
    return _default.malloc(_default.ctx, size)


def _calloc(ctx, count, size):
    if _counting is not None:
        _counting.append(count * size)
    return _default.calloc(_default.ctx, count, size)


def _realloc(ctx, pointer, size):
    if _counting is not None:
        _counting.append(size)
    return _default.realloc(_default.ctx, pointer, size)


def _free(ctx, pointer, size):
    _default.free(_default.ctx, pointer, size)


# Arrays made while it is set keep using it to be freed, so it lives as long as the process.
_HANDLER = _Handler(b"autograd_lite.testing.array_allocations", 1,
                    _Allocator(None, _Malloc(_malloc), _Calloc(_calloc), _Realloc(_realloc),
                               _Free(_free)))
_CAPSULE = _api.PyCapsule_New(ctypes.addressof(_HANDLER), ctypes.addressof(_CAPSULE_NAME), None)


@contextlib.contextmanager
def array_allocations() -> Iterator[list[int]]:
    """Yield a list that receives the size in bytes of each array buffer numpy allocates (or
    reallocates) in this thread until the block ends, in order."""
    global _counting
    outer, sizes = _counting, list[int]()
    _counting = sizes
    previous = _set_handler(_CAPSULE)
    try:
        yield sizes
    finally:
        _set_handler(previous)
        _counting = outer
