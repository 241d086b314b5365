"""Indexing along one dim, as PyTorch's gather / scatter_add, and what is built on them:
index_select, masked_select, sort and topk (their values are a gather at the sorted positions,
so the gradient goes back to where each value came from), and nonzero.

gather and scatter_add are each other's gradient, so second derivatives need nothing more.

>>> x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> ag.gather(x, 1, ag.tensor([[1, 1], [0, 1]]))
tensor([[2., 2.],
        [3., 4.]], grad_fn=<gather>)
"""

from __future__ import annotations

import builtins
import collections
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import registry
from .registry import composite, primitive
from .shape import as_index, broadcast_to, getitem, reshape

if TYPE_CHECKING:
    from .._tensor import Tensor, TensorLike

# ---- gather and scatter_add -----------------------------------------------------------------


def index_array(index: Any, name: str) -> np.ndarray:
    """An index argument (Tensor, array, list, int) as an integer numpy array."""
    index = np.asarray(as_index(index))
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer (int64) tensor, got {index.dtype}")
    return index


def _dim_and_positions(shape, dim, index, name):
    """Check PyTorch's rules for an index along ``dim`` of a tensor of ``shape`` (index of the
    same ndim, no longer than the tensor in the other dims, values in range) and give the dim
    and the positions ``index`` picks, as a tuple of broadcasting index arrays."""
    if index.ndim != len(shape):
        raise ValueError(f"{name}: index must have as many dims as the input ({len(shape)}), "
                         f"got shape {index.shape}")
    d = registry.axis_index(dim, builtins.max(len(shape), 1), name, shape)
    if not shape:  # 0-d: index 0 picks the one element
        _check_range(index, 1, name)
        return d, ()
    for k, (i, n) in enumerate(zip(index.shape, shape)):
        if k != d and i > n:
            raise ValueError(f"{name}: index shape {index.shape} is longer than the input "
                             f"{tuple(shape)} in dim {k} (only dim {d} may be longer)")
    _check_range(index, shape[d], name)
    where = list(np.indices(index.shape, sparse=True))
    where[d] = index
    return d, tuple(where)


def _check_range(index, n, name):
    if index.size and (index.min() < 0 or index.max() >= n):
        bad = index[(index < 0) | (index >= n)].flat[0]
        raise IndexError(f"{name}: index {bad} is out of bounds for a dim of size {n}")


def _gather_vjp(g, out, input, dim, index):
    zeros = np.zeros(input.shape, g.dtype)
    return _scatter_add.dispatch(zeros, g, dim, index)


@primitive(_gather_vjp, saves="", kind="gather", nin=1,
           derivative="1 at the gathered positions (scatter_add of g)")
def gather(input, dim, index):
    """Values of ``input`` along ``dim`` at ``index`` (an int64 tensor of input's ndim, no
    longer than input in the other dims): ``out[i][j] = input[index[i][j]][j]`` for dim 0, as
    torch.gather.

    >>> ag.gather(ag.tensor([10.0, 20.0, 30.0]), 0, ag.tensor([2, 0, 2]))
    tensor([30., 10., 30.])
    """
    input, index = np.asarray(input), index_array(index, "gather")
    _, where = _dim_and_positions(input.shape, dim, index, "gather")
    return input[where] if where else input.copy()


def _scatter_add_input_vjp(g, out, input, src, dim, index):
    return g


def _scatter_add_src_vjp(g, out, input, src, dim, index):
    return gather.dispatch(g, dim, index)


# The primitive takes its two differentiable inputs first; the public composite below has
# PyTorch's argument order and lets src be longer than index, as PyTorch does.
@primitive(_scatter_add_input_vjp, _scatter_add_src_vjp, saves=("", ""), kind="gather", nin=2,
           name="scatter_add", derivative=("1", "1 at the scattered positions (gather of g)"),
           public=False)
def _scatter_add(input, src, dim, index):
    """A copy of ``input`` with ``src`` (of index's shape) added at ``index`` along ``dim``."""
    input, src, index = np.asarray(input), np.asarray(src), index_array(index, "scatter_add")
    if src.dtype != input.dtype:
        raise TypeError(f"scatter_add: src must have input's dtype {input.dtype}, got "
                        f"{src.dtype}")
    if src.shape != index.shape:
        raise ValueError(f"scatter_add: src shape {src.shape} differs from index shape "
                         f"{index.shape}")
    _, where = _dim_and_positions(input.shape, dim, index, "scatter_add")
    out = np.array(input, copy=True)
    if where:
        np.add.at(out, where, src)  # accumulates repeated indices, unlike out[where] += src
    else:
        out += src
    return out


@composite(kind="scatter_add")
def scatter_add(input: TensorLike, dim: int, index: TensorLike, src: TensorLike) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim`` (repeated indices add
    up): ``out[index[i][j]][j] += src[i][j]`` for dim 0, as torch.scatter_add. ``src`` may be
    longer than ``index`` in any dim (the rest is unused).

    >>> ag.scatter_add(ag.zeros(3), 0, ag.tensor([0, 2, 0]), ag.tensor([1.0, 2.0, 3.0]))
    tensor([4., 0., 2.])
    """
    index = index_array(index, "scatter_add")
    shape = registry.shape_of_operand(src, "scatter_add")
    if len(shape) != index.ndim or builtins.any(i > n for i, n in zip(index.shape, shape)):
        raise ValueError(f"scatter_add: index shape {index.shape} must have src's ndim and be "
                         f"no longer than src {tuple(shape)} in any dim")
    if tuple(shape) != index.shape:
        src = getitem(src, tuple(slice(0, n) for n in index.shape))
    return _scatter_add(input, src, dim, index)


# ---- selecting -------------------------------------------------------------------------------


@composite(kind="index_select", nin=1)
def index_select(input: TensorLike, dim: int, index: TensorLike) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in ``index`` (1-D or 0-d, int64,
    repeats allowed), as torch.index_select.

    >>> ag.index_select(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), 0, ag.tensor([1, 1]))
    tensor([[3., 4.],
            [3., 4.]])
    """
    index = index_array(index, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D or 0-d, got shape {index.shape}")
    shape = registry.shape_of_operand(input, "index_select")
    d = registry.axis_index(dim, builtins.max(len(shape), 1), "index_select", shape)
    _check_range(index, shape[d] if shape else 1, "index_select")
    if not shape:
        if index.size != 1:
            raise ValueError(f"index_select: a 0-d input takes one index, got {index.size}")
        return reshape(input, ())
    return getitem(input, (slice(None),) * d + (index.reshape(-1),))


@composite(kind="masked_select")
def masked_select(input: TensorLike, mask: TensorLike) -> Tensor:
    """The elements of ``input`` where the bool ``mask`` is True, as a 1-D tensor (input and
    mask broadcast together), as torch.masked_select.

    >>> ag.masked_select(ag.tensor([[1.0, 2.0], [3.0, 4.0]]), ag.tensor([True, False]))
    tensor([1., 3.])
    """
    mask = np.asarray(as_index(mask))
    if mask.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be bool, got {mask.dtype}")
    shape = tuple(registry.shape_of_operand(input, "masked_select"))
    full = np.broadcast_shapes(shape, mask.shape)
    if full != shape:
        input = broadcast_to(input, full)
    return getitem(input, np.broadcast_to(mask, full))


@primitive(differentiable=False, kind="nonzero", domain="ongrid")  # ongrid: zeros too
def nonzero(input):
    """The indices of the nonzero elements of ``input``, one row each: an int64 tensor of shape
    (count, ndim), in row-major order, as torch.nonzero (``as_tuple`` is not available).

    >>> ag.nonzero(ag.tensor([[0.0, 1.5], [2.0, 0.0]]))
    tensor([[0, 1],
            [1, 0]])
    """
    return np.argwhere(input).astype(np.int64)


# ---- sorting ---------------------------------------------------------------------------------

# named after the function, as PyTorch's reprs: sort(values=..., indices=...)
SortResult = collections.namedtuple("sort", ["values", "indices"])  # type: ignore[name-match]
TopkResult = collections.namedtuple("topk", ["values", "indices"])  # type: ignore[name-match]


def _array(x):
    return x.data if isinstance(x, registry._Tensor) else np.asarray(x)


def _sort_order(x, dim, descending, name):
    """(dim, the int64 positions that sort the array ``x`` along it), equal values kept in
    their order (stable) both ways."""
    d = registry.axis_index(dim, builtins.max(x.ndim, 1), name, x.shape)
    if x.ndim == 0:
        return d, np.zeros((), np.int64)
    if not descending:
        return d, np.argsort(x, axis=d, kind="stable").astype(np.int64)
    # sort the reversed array up, then reverse again: down, and ties in their first order
    backwards = np.argsort(np.flip(x, d), axis=d, kind="stable")
    return d, (x.shape[d] - 1 - np.flip(backwards, d)).astype(np.int64)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``input`` sorted along ``dim``, as torch.sort; the values are a
    gather at the indices, so their gradient goes back to where each came from."""
    d, order = _sort_order(_array(input), dim, descending, "sort")
    return SortResult(gather(input, d, order), registry._Tensor(order))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``, in sorted order (also when ``sorted=False``), as torch.topk."""
    x = _array(input)
    d, order = _sort_order(x, dim, largest, "topk")
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"topk: k must be an integer, got {k!r}") from None
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k={k} is out of range for dim {dim} of size {n}")
    if x.ndim:
        order = order[(slice(None),) * d + (slice(0, k),)]
    return TopkResult(gather(input, d, order), registry._Tensor(order))


# What the registry gradchecks of sort and topk: their values (on distinct elements, so the
# order is one and the same under the small moves finite differences make).
@composite(kind="softmax", domain="unique", draw={"descending": (False, True)}, public=False)
def sort_values(input, dim=-1, descending=False, stable=False):
    """The values of ``sort(input, ...)``."""
    return sort(input, dim, descending, stable).values


@composite(kind="topk", domain="unique", nin=1, draw={"largest": (True, False)}, public=False)
def topk_values(input, k, dim=-1, largest=True, sorted=True):
    """The values of ``topk(input, k, ...)``."""
    return topk(input, k, dim, largest, sorted).values
