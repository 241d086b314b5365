"""Reductions over axes (numpy's ``axis``/``keepdims``), and the softmax family."""

import math

import numpy as np

from .registry import primitive


def _kept_shape(shape, axis):
    """``shape`` with the reduced axes as size-1 dims: what keepdims=True would give."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else axis
    reduced = {a % len(shape) for a in axes} if shape else set()
    return tuple(1 if i in reduced else n for i, n in enumerate(shape))


# Rules pass ``x.shape`` rather than ``x`` where only the shape is needed: a rule that reads
# only metadata does not make the input's values part of what backward depends on.


def _unreduce(g, shape, axis):
    """The gradient of a reduction, reshaped so it broadcasts against an input of ``shape``."""
    return g.reshape(_kept_shape(shape, axis))


def _count(in_shape, out_shape):
    """How many input elements went into each output element (shapes, not ``.size``: a rule
    runs on arrays and on Tensors, whose ``size`` is PyTorch's method)."""
    out_size = math.prod(out_shape)
    return math.prod(in_shape) // out_size if out_size else 1


def _spread(g, out, x, axis):
    """Share each output's gradient among the inputs equal to it (the max or min; ties split)."""
    m = _unreduce(out, x.shape, axis)
    mask = (x == m) + (x != x) * (m != m)  # equal, or both NaN (a NaN maximum goes to the NaNs)
    share = _unreduce(g, x.shape, axis) / mask.sum(axis=axis, keepdims=True).astype(x.dtype)
    return share * mask


@primitive(lambda g, out, x, axis=None, keepdims=False:
           np.broadcast_to(_unreduce(g, x.shape, axis), x.shape),
           saves="", kind="reduce", derivative="1", numpy=np.sum)
def sum(x, axis=None, keepdims=False):
    """Sum over ``axis`` (int, tuple, or None for all elements), as numpy.sum."""
    return np.sum(x, axis=axis, keepdims=keepdims)


@primitive(lambda g, out, x, axis=None, keepdims=False:
           np.broadcast_to(_unreduce(g, x.shape, axis) / _count(x.shape, out.shape), x.shape),
           saves="", kind="reduce", derivative="1/N", numpy=np.mean)
def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over ``axis``, as numpy.mean."""
    return np.mean(x, axis=axis, keepdims=keepdims)


@primitive(lambda g, out, x, axis=None, keepdims=False: _spread(g, out, x, axis),
           saves="out x", kind="reduce", domain="unique",
           derivative="1 at the maximum (ties share), else 0", numpy=(np.max, np.amax),
           kinks="x=out: mean")
def max(x, axis=None, keepdims=False):
    """Largest element over ``axis``, as numpy.max."""
    return np.max(x, axis=axis, keepdims=keepdims)


@primitive(lambda g, out, x, axis=None, keepdims=False: _spread(g, out, x, axis),
           saves="out x", kind="reduce", domain="unique",
           derivative="1 at the minimum (ties share), else 0", numpy=(np.min, np.amin),
           kinks="x=out: mean")
def min(x, axis=None, keepdims=False):
    """Smallest element over ``axis``, as numpy.min."""
    return np.min(x, axis=axis, keepdims=keepdims)


@primitive(lambda g, out, x, axis=None, ddof=0, keepdims=False:
           _unreduce(g, x.shape, axis) * 2 * (x - x.mean(axis=axis, keepdims=True))
           / (_count(x.shape, out.shape) - ddof),
           saves="x", kind="reduce", derivative="2 (x - mean) / (N - ddof)", numpy=np.var)
def var(x, axis=None, ddof=0, keepdims=False):
    """Variance over ``axis`` with ``ddof`` delta degrees of freedom, as numpy.var."""
    return np.var(x, axis=axis, ddof=ddof, keepdims=keepdims)


@primitive(lambda g, out, x, axis=None, ddof=0, keepdims=False:
           _unreduce(g / np.where(out == 0, np.inf, (_count(x.shape, out.shape) - ddof) * out),
                     x.shape, axis)
           * (x - x.mean(axis=axis, keepdims=True)),
           saves="out x", kind="reduce", domain="unique",
           derivative="(x - mean) / ((N - ddof) std), 0 where std is 0", numpy=np.std)
def std(x, axis=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``, as numpy.std."""
    return np.std(x, axis=axis, ddof=ddof, keepdims=keepdims)


# ---- log-sum-exp and softmax: shift by the max so exp never overflows ------------------------


def _shift(x, axis):
    if x.size == 0:  # no maximum to shift by; the result is empty (or log(0) = -inf)
        return np.zeros(np.sum(x, axis=axis, keepdims=True).shape, x.dtype)
    m = x.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0)  # an all -inf slice stays -inf instead of nan


@primitive(lambda g, out, x, axis=None, keepdims=False:
           _unreduce(g, x.shape, axis) * np.exp(x - _unreduce(out, x.shape, axis)),
           saves="out x", kind="reduce", derivative="softmax(x)")
def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, without overflow."""
    m = _shift(x, axis)
    with np.errstate(divide="ignore"):  # an empty sum: log(0) = -inf
        out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@primitive(lambda g, out, x, axis=-1: out * (g - (g * out).sum(axis=axis, keepdims=True)),
           saves="out", kind="softmax", derivative="s_i (delta_ij - s_j)")
def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``, without overflow."""
    e = np.exp(x - _shift(x, axis))
    return e / e.sum(axis=axis, keepdims=True)


@softmax.writes_into()
def softmax_into(x, axis=-1, *, into):
    """``softmax`` computed in ``into`` (which has its shape and dtype)."""
    e = np.exp(np.subtract(x, _shift(x, axis), out=into), out=into)
    return np.divide(e, e.sum(axis=axis, keepdims=True), out=into)


@primitive(lambda g, out, x, axis=-1: g - np.exp(out) * g.sum(axis=axis, keepdims=True),
           saves="out", kind="softmax", derivative="delta_ij - softmax(x)_j")
def log_softmax(x, axis=-1):
    """x - logsumexp(x) along ``axis``: log-probabilities, without overflow."""
    shifted = x - _shift(x, axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
