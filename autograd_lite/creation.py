"""Making tensors: from data, filled with a constant, ranges, and seeded random numbers."""

from __future__ import annotations

import numpy as np

from .ops.registry import check_dtype, to_array
from .tensor import Tensor

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator used by ``randn``/``rand`` (and by nn's initialisers)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator ``randn``/``rand`` draw from when none is given."""
    return _generator


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, a number, an array or a Tensor).

    Python floats become float32 and ints int64, as in PyTorch; numpy arrays keep their dtype.

    >>> tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        check_dtype(data.dtype, "tensor")
        data = np.array(data, dtype=dtype)  # a copy, as torch.tensor makes
    else:
        data = to_array(data, "tensor", dtype)
    return Tensor(data, requires_grad=requires_grad)


def _filled(shape, value, dtype, requires_grad):
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(np.full(shape, value, dtype=dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled(shape, 0, dtype, requires_grad)


def ones(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _filled(shape, 1, dtype, requires_grad)


def full(shape, fill_value, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    return _filled((shape,), fill_value, dtype, requires_grad)


def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, by default, dtype) of ``t``."""
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(np.zeros_like(data, dtype=dtype), requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, by default, dtype) of ``t``."""
    data = t.data if isinstance(t, Tensor) else np.asarray(t)
    return Tensor(np.ones_like(data, dtype=dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy.arange (float arguments give float32)."""
    data = np.arange(start, stop, step, dtype=dtype)
    if dtype is None and data.dtype == np.float64:
        data = data.astype(np.float32)
    return Tensor(data, requires_grad=requires_grad)


def randn(*shape, dtype=np.float32, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples; seed with ``manual_seed`` or pass a numpy ``generator``."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    gen = generator or _generator
    return Tensor(gen.standard_normal(shape).astype(dtype), requires_grad=requires_grad)


def rand(*shape, dtype=np.float32, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1); seed with ``manual_seed`` or pass a numpy ``generator``."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    gen = generator or _generator
    return Tensor(gen.random(shape).astype(dtype), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy array, got {type(array).__name__}")
    return Tensor(array)
