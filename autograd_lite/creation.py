"""Making tensors: from data, filled with a constant, ranges, and seeded random numbers."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from ._tensor import Tensor, shape_arg
from .dtypes import get_default_dtype
from .errors import named
from .ops.registry import as_operand, check_dtype, to_array

if TYPE_CHECKING:
    from typing import TypeAlias

    from ._tensor import TensorLike

    # a shape: ``zeros(2, 3)`` or ``zeros((2, 3))``
    ShapeArgs: TypeAlias = "int | tuple[int, ...] | list[int]"
    # a seed (a non-negative int), a numpy Generator, or None for the default one
    SeedLike: TypeAlias = "int | np.random.Generator | None"

_default = np.random.default_rng()  # reseeded in place by manual_seed, so every holder follows


@overload
def _dtype(dtype: npt.DTypeLike | None, name: str, default: np.dtype) -> np.dtype: ...
@overload
def _dtype(dtype: npt.DTypeLike | None, name: str, default: None = None) -> np.dtype | None: ...


def _dtype(dtype: npt.DTypeLike | None, name: str,
           default: np.dtype | None = None) -> np.dtype | None:
    """``dtype`` as a checked numpy dtype; ``default`` when it is None."""
    if dtype is None:
        return default
    dtype = np.dtype(dtype)
    check_dtype(dtype, name)
    return dtype


def random_generator(seed: SeedLike, name: str, *, seeds: bool = True) -> np.random.Generator:
    """The generator a random draw uses: ``seed`` itself if it is a numpy Generator, a new one
    seeded with it if it is a non-negative int (unless ``seeds=False``: a ``generator=``
    argument, as PyTorch's, takes a Generator only), the default one (``manual_seed``) if None.

    >>> random_generator(3, "demo").random() == random_generator(3, "demo").random()
    True
    >>> random_generator(None, "demo") is default_generator()
    True
    """
    if seed is None:
        return _default
    if isinstance(seed, np.random.Generator):
        return seed
    if not seeds or isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        wanted = "seed must be None, a non-negative int" if seeds else "generator must be None"
        raise TypeError(f"{name}: {wanted} or a numpy.random.Generator, got "
                        f"{type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"{name}: a seed must be non-negative, got {seed}")
    return np.random.default_rng(int(seed))


@named
def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator: ``randn``/``rand``, nn's initialisers, dropout and
    DataLoader's shuffle draw from it unless given a seed or generator of their own."""
    _default.bit_generator.state = random_generator(seed, "manual_seed").bit_generator.state
    return _default


def default_generator() -> np.random.Generator:
    """The generator random functions draw from when none is given."""
    return _default


def tensor(data: TensorLike, dtype: npt.DTypeLike | None = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, a number, an array or a Tensor).

    Python floats become the default dtype (``ag.get_default_dtype()``, float32 unless set)
    and ints int64, as in PyTorch; numpy arrays keep their dtype.

    >>> tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    tensor([[1., 2.],
            [3., 4.]], requires_grad=True)
    >>> tensor([1, 2]).dtype, tensor(np.array([1.0, 2.0])).dtype
    (dtype('int64'), dtype('float64'))
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        check_dtype(data.dtype, "tensor")
        data = np.array(data, dtype=dtype)  # a copy, as torch.tensor makes
    else:
        data = to_array(data, "tensor", dtype)
    return Tensor(data, requires_grad=requires_grad)


def _filled(shape: tuple[Any, ...], value: Any, dtype: np.dtype, requires_grad: bool) -> Tensor:
    shape = shape_arg(shape)
    return Tensor(np.full(shape, value, dtype=dtype), requires_grad=requires_grad)


@named
def zeros(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return _filled(shape, 0, _dtype(dtype, "zeros", get_default_dtype()), requires_grad)


@named
def ones(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``."""
    return _filled(shape, 1, _dtype(dtype, "ones", get_default_dtype()), requires_grad)


@named
def full(shape: ShapeArgs, fill_value: float, dtype: npt.DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (of the default dtype unless given)."""
    dtype = _dtype(dtype, "full", get_default_dtype())
    fill = as_operand(fill_value, "full")
    if dtype.kind in "iub" and not np.isfinite(fill).all():
        raise ValueError(f"full: cannot fill a {dtype} tensor with {fill_value!r}")
    return _filled((shape,), fill, dtype, requires_grad)


@named
def full_like(input: TensorLike, fill_value: float, dtype: npt.DTypeLike | None = None,
              requires_grad: bool = False) -> Tensor:
    """``fill_value`` in the shape (and, unless ``dtype`` is given, the dtype) of ``input``.

    >>> full_like(ag.zeros(2), 7.0)
    tensor([7., 7.])
    """
    data = input.data if isinstance(input, Tensor) else as_operand(input, "full_like")
    check_dtype(np.asarray(data).dtype, "full_like")
    fill = as_operand(fill_value, "full_like")
    return Tensor(np.full_like(data, fill, dtype=_dtype(dtype, "full_like")),
                  requires_grad=requires_grad)


@named
def zeros_like(t: TensorLike, dtype: npt.DTypeLike | None = None,
               requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and, by default, dtype) of ``t``."""
    return full_like(t, 0, dtype, requires_grad)


@named
def ones_like(t: TensorLike, dtype: npt.DTypeLike | None = None,
              requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and, by default, dtype) of ``t``."""
    return full_like(t, 1, dtype, requires_grad)


@named
def empty(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None,
          requires_grad: bool = False) -> Tensor:
    """A tensor whose values are whatever the memory held (as torch.empty: fill it before use)."""
    dtype = _dtype(dtype, "empty", get_default_dtype())
    return Tensor(np.empty(shape_arg(shape), dtype=dtype), requires_grad=requires_grad)


@named
def eye(n: int, m: int | None = None, *, dtype: npt.DTypeLike | None = None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default).

    >>> eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    dtype = _dtype(dtype, "eye", get_default_dtype())
    return Tensor(np.eye(_count(n, "eye", "n"), None if m is None else _count(m, "eye", "m"),
                         dtype=dtype), requires_grad=requires_grad)


@named
def linspace(start: float, end: float, steps: int, *, dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included.

    >>> linspace(0, 1, 5)
    tensor([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    dtype = _dtype(dtype, "linspace", get_default_dtype())
    values = np.linspace(as_operand(start, "linspace"), as_operand(end, "linspace"),
                         _count(steps, "linspace", "steps"))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


@named
def logspace(start: float, end: float, steps: int, base: float = 10.0, *,
             dtype: npt.DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``.

    >>> logspace(0, 2, 3)
    tensor([  1.,  10., 100.])
    """
    exponents = linspace(start, end, steps, dtype=np.float64).data
    dtype = _dtype(dtype, "logspace", get_default_dtype())
    return Tensor((as_operand(base, "logspace") ** exponents).astype(dtype),
                  requires_grad=requires_grad)


@named
def randint(*args: Any, size: tuple[int, ...] | None = None,  # (high, size), (low, high, size)
            generator: np.random.Generator | None = None,
            dtype: npt.DTypeLike = np.int64, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or
    ``randint(low, high, size)``, as torch.randint (``size`` a tuple).

    >>> _ = ag.manual_seed(0); randint(3, 10, (2, 2)).shape
    (2, 2)
    """
    if size is not None:
        args = (*args, size)
    if len(args) not in (2, 3):
        raise TypeError(f"randint: expected (high, size) or (low, high, size), got {args!r}")
    low, high, shape = (0, *args) if len(args) == 2 else args
    low, high = _count(low, "randint", "low", minimum=None), _count(high, "randint", "high",
                                                                      minimum=None)
    if high <= low:
        raise ValueError(f"randint: high must be above low, got low={low}, high={high}")
    gen = random_generator(generator, "randint", seeds=False)
    return Tensor(gen.integers(low, high, shape_arg(tuple(shape))).astype(
        _dtype(dtype, "randint")), requires_grad=requires_grad)


@named
def randperm(n: int, *, generator: np.random.Generator | None = None,
             dtype: npt.DTypeLike = np.int64,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of 0..n-1.

    >>> sorted(randperm(4).tolist())
    [0, 1, 2, 3]
    """
    gen = random_generator(generator, "randperm", seeds=False)
    return Tensor(gen.permutation(_count(n, "randperm", "n")).astype(_dtype(dtype, "randperm")),
                  requires_grad=requires_grad)


def _count(value, name: str, what: str, minimum: int | None = 0) -> int:
    """An integer argument (a count, unless ``minimum`` is None), refused clearly otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: {what} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: {what} must be at least {minimum}, got {value}")
    return int(value)


@named
def arange(start: float, stop: float | None = None, step: float = 1,
           dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop), as numpy.arange (float arguments give the
    default dtype, float32 unless set)."""
    bounds = [as_operand(b, "arange") for b in (start, stop, step) if b is not None]
    if not np.isfinite(bounds).all():
        raise ValueError(f"arange: start, stop and step must be finite, got {bounds}")
    if step == 0:
        raise ValueError("arange: step must not be zero")
    data = np.arange(start, stop, step, dtype=_dtype(dtype, "arange"))
    if dtype is None and data.dtype == np.float64:
        data = data.astype(get_default_dtype())
    return Tensor(data, requires_grad=requires_grad)


@named
def randn(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None, requires_grad: bool = False,
          generator: np.random.Generator | None = None) -> Tensor:
    """Standard normal samples; seed with ``manual_seed`` or pass a numpy ``generator``."""
    size = shape_arg(shape)
    gen = random_generator(generator, "randn", seeds=False)
    return Tensor(gen.standard_normal(size).astype(_dtype(dtype, "randn", get_default_dtype())),
                  requires_grad=requires_grad)


@named
def rand(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None, requires_grad: bool = False,
         generator: np.random.Generator | None = None) -> Tensor:
    """Uniform samples in [0, 1); seed with ``manual_seed`` or pass a numpy ``generator``."""
    size = shape_arg(shape)
    gen = random_generator(generator, "rand", seeds=False)
    dtype = _dtype(dtype, "rand", get_default_dtype())
    return Tensor(gen.random(size).astype(dtype), requires_grad=requires_grad)


@named
def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), as torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy array, got {type(array).__name__}")
    check_dtype(array.dtype, "from_numpy")
    return Tensor(array)
