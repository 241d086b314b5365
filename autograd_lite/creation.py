"""Making tensors: from data, filled with a constant, ranges, and seeded random numbers."""

from __future__ import annotations

import functools

import numpy as np

from .ops.registry import as_operand, check_dtype, to_array
from .tensor import Tensor

_generator = np.random.default_rng()


def _named(fn):
    """A factory's errors are TypeError/ValueError naming the factory."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as e:
            text = str(e)
            if text.startswith((f"{name}:", f"{name}(")) or "floating-point" in text:
                raise
            cls = TypeError if isinstance(e, TypeError) else ValueError
            raise cls(f"{name}: {text.removeprefix('Tensor: ')}") from None

    return wrapper


def _dtype(dtype, name):
    if dtype is not None:
        dtype = np.dtype(dtype)
        check_dtype(dtype, name)
    return dtype


def _gen(generator, name):
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{name}: generator must be a numpy.random.Generator, got "
                        f"{type(generator).__name__}")
    return generator or _generator


@_named
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


def _shape(shape):
    """Accept both ``zeros(2, 3)`` and ``zeros((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _filled(shape, value, dtype, requires_grad):
    shape = _shape(shape)
    return Tensor(np.full(shape, value, dtype=dtype), requires_grad=requires_grad)


@_named
def zeros(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled(shape, 0, _dtype(dtype, "zeros"), requires_grad)


@_named
def ones(*shape, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _filled(shape, 1, _dtype(dtype, "ones"), requires_grad)


@_named
def full(shape, fill_value, dtype=np.float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value``."""
    dtype = _dtype(dtype, "full")
    fill = as_operand(fill_value, "full")
    if dtype.kind in "iub" and not np.isfinite(fill).all():
        raise ValueError(f"full: cannot fill a {dtype} tensor with {fill_value!r}")
    return _filled((shape,), fill, dtype, requires_grad)


@_named
def zeros_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, by default, dtype) of ``t``."""
    data = t.data if isinstance(t, Tensor) else as_operand(t, "zeros_like")
    check_dtype(np.asarray(data).dtype, "zeros_like")
    return Tensor(np.zeros_like(data, dtype=_dtype(dtype, "zeros_like")),
                  requires_grad=requires_grad)


@_named
def ones_like(t, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, by default, dtype) of ``t``."""
    data = t.data if isinstance(t, Tensor) else as_operand(t, "ones_like")
    check_dtype(np.asarray(data).dtype, "ones_like")
    return Tensor(np.ones_like(data, dtype=_dtype(dtype, "ones_like")),
                  requires_grad=requires_grad)


@_named
def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy.arange (float arguments give float32)."""
    bounds = [as_operand(b, "arange") for b in (start, stop, step) if b is not None]
    if not np.isfinite(bounds).all():
        raise ValueError(f"arange: start, stop and step must be finite, got {bounds}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    data = np.arange(start, stop, step, dtype=_dtype(dtype, "arange"))
    if dtype is None and data.dtype == np.float64:
        data = data.astype(np.float32)
    return Tensor(data, requires_grad=requires_grad)


@_named
def randn(*shape, dtype=np.float32, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples; seed with ``manual_seed`` or pass a numpy ``generator``."""
    shape = _shape(shape)
    gen = _gen(generator, "randn")
    return Tensor(gen.standard_normal(shape).astype(_dtype(dtype, "randn")),
                  requires_grad=requires_grad)


@_named
def rand(*shape, dtype=np.float32, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1); seed with ``manual_seed`` or pass a numpy ``generator``."""
    shape = _shape(shape)
    gen = _gen(generator, "rand")
    return Tensor(gen.random(shape).astype(_dtype(dtype, "rand")), requires_grad=requires_grad)


@_named
def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy array, got {type(array).__name__}")
    check_dtype(array.dtype, "from_numpy")
    return Tensor(array)
