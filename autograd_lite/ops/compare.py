"""Operations with no gradient, declared so: comparisons, sign, argmax / argmin."""

import numpy as np

from .registry import primitive


def _compare(ufunc, name, text):
    def forward(x, y):
        return ufunc(x, y)

    forward.__doc__ = f"x {text} y elementwise, as a bool tensor (no gradient)."
    return primitive(differentiable=False, kind="compare", name=name, numpy=ufunc)(forward)


eq = _compare(np.equal, "eq", "==")
ne = _compare(np.not_equal, "ne", "!=")
lt = _compare(np.less, "lt", "<")
le = _compare(np.less_equal, "le", "<=")
gt = _compare(np.greater, "gt", ">")
ge = _compare(np.greater_equal, "ge", ">=")


@primitive(differentiable=False, numpy=np.sign)
def sign(x):
    """-1, 0 or 1 by the sign of each element (its derivative is 0 almost everywhere)."""
    return np.sign(x)


@primitive(differentiable=False, kind="argreduce", numpy=np.argmax)
def argmax(x, axis=None, keepdims=False):
    """Index of the largest element (of the flattened array when ``axis`` is None)."""
    return np.argmax(x, axis=axis, keepdims=keepdims)


@primitive(differentiable=False, kind="argreduce", numpy=np.argmin)
def argmin(x, axis=None, keepdims=False):
    """Index of the smallest element (of the flattened array when ``axis`` is None)."""
    return np.argmin(x, axis=axis, keepdims=keepdims)
