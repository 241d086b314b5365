"""Shape and indexing primitives: they move elements around, so their rules move them back."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import registry
from .registry import composite, primitive

if TYPE_CHECKING:
    from .._tensor import Tensor, TensorLike


@primitive(lambda g, out, x, shape: g.reshape(x.shape), saves="", kind="reshape", nin=1,
           view=True, derivative="1 (reshaped back)", numpy=np.reshape)
def reshape(x, shape):
    """The same elements in a new shape (one dimension may be -1), as numpy.reshape."""
    return np.reshape(x, shape)


def _inverse(axes, ndim):
    return None if axes is None else tuple(np.argsort([a % ndim for a in axes]))


@primitive(lambda g, out, x, axes=None: np.transpose(g, _inverse(axes, x.ndim)), saves="",
           kind="transpose", view=True, derivative="1 (axes permuted back)", numpy=np.transpose)
def transpose(x, axes=None):
    """Permute the axes (reverse them when ``axes`` is None), as numpy.transpose."""
    return np.transpose(x, axes)


# The engine sums a gradient back over broadcast axes, so broadcast_to's rule is the identity.
@primitive(lambda g, out, x, shape: g, saves="", kind="broadcast_to", nin=1, view=True,
           derivative="1 (summed over the copies)", numpy=np.broadcast_to)
def broadcast_to(x, shape):
    """x repeated (as a read-only view) to ``shape`` by numpy's broadcasting rules."""
    return np.broadcast_to(x, shape)


@primitive(lambda g, out, x, axis=None: g.reshape(x.shape), saves="", kind="squeeze", view=True,
           derivative="1 (reshaped back)", numpy=np.squeeze)
def squeeze(x, axis=None):
    """Drop size-1 axes (all of them, or those in ``axis``), as numpy.squeeze."""
    return np.squeeze(x, axis)


@primitive(lambda g, out, x, axis: g.reshape(x.shape), saves="", kind="unsqueeze", nin=1,
           view=True, derivative="1 (reshaped back)", numpy=np.expand_dims)
def unsqueeze(x, axis):
    """Insert size-1 axes at ``axis`` (int or tuple), as numpy.expand_dims."""
    return np.expand_dims(x, axis)


@composite(kind="flatten")
def flatten(x: TensorLike, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the axes ``start_dim..end_dim`` into one, as torch.flatten."""
    shape = registry.shape_of_operand(x, "flatten")
    if not shape:
        return reshape(x, (1,))
    start = registry.axis_index(start_dim, len(shape), "flatten", shape)
    end = registry.axis_index(end_dim, len(shape), "flatten", shape)
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a "
                         f"tensor of shape {shape}")
    merged = int(np.prod(shape[start:end + 1]))
    return reshape(x, shape[:start] + (merged,) + shape[end + 1:])


@composite(kind="swapaxes", nin=1, numpy=np.swapaxes)
def swapaxes(x: TensorLike, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes, as numpy.swapaxes."""
    shape = registry.shape_of_operand(x, "swapaxes")
    axis1, axis2 = (registry.axis_index(a, len(shape), "swapaxes", shape) for a in (axis1, axis2))
    axes = list(range(len(shape)))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


# ---- indexing --------------------------------------------------------------------------------


def as_index(index):
    """An index with any Tensors or lists in it turned into numpy arrays."""
    items = index if isinstance(index, tuple) else (index,)
    fixed = tuple(i.data if isinstance(i, registry._Tensor) else np.asarray(i)
                  if isinstance(i, list) else i for i in items)
    return fixed if isinstance(index, tuple) else fixed[0]


def _is_advanced(index):
    items = index if isinstance(index, tuple) else (index,)
    return builtins.any(isinstance(i, np.ndarray) for i in items)


@primitive(lambda g, out, x, index: add_at.dispatch(g, index, x.shape),  # type: ignore[has-type]
           saves="",  # (mypy cannot type add_at, declared below, in a module-level lambda)
           kind="getitem", nin=1, view=True, derivative="1 at the selected elements, else 0",
           public=False)
def getitem(x, index):
    """x[index]: basic slicing, integer-array and boolean-mask indexing, as numpy."""
    return x[as_index(index)]


# getitem's rule needs "add g into zeros at index" (numpy's np.add.at); declared as a primitive
# so that it is itself differentiable (its gradient is getitem again) for second derivatives.
@primitive(lambda g, out, src, index, shape: g[as_index(index)], saves="", kind="add_at", nin=1,
           derivative="1 (gathered back)", public=False)
def add_at(src, index, shape):
    """A zero array of ``shape`` with ``src`` added at ``index`` (repeated indices accumulate)."""
    return _scatter(src, index, np.zeros(shape, dtype=src.dtype))


@add_at.writes_into()
def _add_at_into(src, index, shape, *, into):
    into.fill(0)
    return _scatter(src, index, into)


def _scatter(src, index, zeros):
    """``zeros`` with ``src`` added at ``index``."""
    index = as_index(index)
    if _is_advanced(index):
        np.add.at(zeros, index, src)  # accumulates repeated indices, unlike zeros[index] += src
    else:
        zeros[index] = src
    return zeros


@getitem.writes_into(0)
def _getitem_grad_into(g, out, x, index, *, into):
    return _add_at_into(g, index, x.shape, into=into)


def _unwritten(shape, index):
    """A mask of the elements ``x[index] = value`` leaves alone."""
    keep = np.ones(shape, dtype=bool)
    keep[as_index(index)] = False
    return keep


# x[index] = value, out of place; Tensor.__setitem__ writes the result back into x's memory.
# With repeated indices, which write wins is unspecified (as in numpy and PyTorch).
@primitive(lambda g, out, x, value, index: g * _unwritten(x.shape, index),
           lambda g, out, x, value, index: g[as_index(index)],
           saves=("", ""), kind="setitem", nin=2,
           derivative="1 where kept (for x), 1 where written (for value)", public=False)
def setitem(x, value, index):
    """A copy of x with ``value`` (broadcast) written at ``index``."""
    out = np.array(x, copy=True)
    out[as_index(index)] = value
    return out


# ---- joining ---------------------------------------------------------------------------------


def _concatenate_vjp(g, out, *xs, axis=0, argnum):
    start = builtins.sum(x.shape[axis] for x in xs[:argnum])
    where = [slice(None)] * g.ndim
    where[axis] = slice(start, start + xs[argnum].shape[axis])
    return g[tuple(where)]


def _stack_vjp(g, out, *xs, axis=0, argnum):
    where = [slice(None)] * g.ndim
    where[axis] = argnum
    return g[tuple(where)]


@primitive(_concatenate_vjp, saves="", kind="concatenate", name="concatenate",
           derivative="1 (the input's slice)", public=False)
def _concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


@primitive(_stack_vjp, saves="", kind="stack", name="stack", derivative="1 (the input's slice)",
           public=False)
def _stack(*arrays, axis=0):
    return np.stack(arrays, axis=axis)


@composite(kind="concatenate", sequence=True, numpy=np.concatenate)
def concatenate(tensors: Sequence[TensorLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join a sequence of tensors along an existing axis, as numpy.concatenate (``dim=`` as
    torch.cat)."""
    _check_sequence(tensors, "concatenate")
    return _concatenate(*tensors, axis=axis if dim is None else dim)


def _check_sequence(tensors, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{name}: expected a list or tuple of tensors, got "
                        f"{type(tensors).__name__}")


@composite(kind="stack", sequence=True, numpy=np.stack)
def stack(tensors: Sequence[TensorLike], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join a sequence of same-shape tensors along a new axis, as numpy.stack (``dim=`` as
    torch.stack)."""
    _check_sequence(tensors, "stack")
    return _stack(*tensors, axis=axis if dim is None else dim)

