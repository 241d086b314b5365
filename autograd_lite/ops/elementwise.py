"""Elementwise primitives. Inputs broadcast as in numpy; the engine sums gradients back."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from . import registry
from .registry import as_operand, check_dtype, composite, primitive

if TYPE_CHECKING:
    from .._tensor import Tensor, TensorLike

# ---- arithmetic ------------------------------------------------------------------------------


@primitive(lambda g, out, x, y: g,
           lambda g, out, x, y: g,
           saves=("", ""), derivative=("1", "1"), numpy=np.add)
def add(x, y):
    """x + y, broadcasting."""
    return np.add(x, y)


@primitive(lambda g, out, x, y: g,
           lambda g, out, x, y: -g,
           saves=("", ""), derivative=("1", "-1"), numpy=np.subtract)
def sub(x, y):
    """x - y, broadcasting."""
    return np.subtract(x, y)


@primitive(lambda g, out, x, y: g * y,
           lambda g, out, x, y: g * x,
           saves=("y", "x"), derivative=("y", "x"), numpy=np.multiply)
def mul(x, y):
    """x * y, broadcasting."""
    return np.multiply(x, y)


@primitive(lambda g, out, x, y: g / y,
           lambda g, out, x, y: -g * out / y,
           saves=("y", "out y"), domain=("real", "nonzero"), derivative=("1/y", "-x/y^2"),
           numpy=np.true_divide)
def div(x, y):
    """x / y (true division), broadcasting."""
    return np.true_divide(x, y)


@primitive(lambda g, out, x: -g, saves="", derivative="-1", numpy=np.negative)
def neg(x):
    """-x."""
    return np.negative(x)


# d/dy x^y = x^y log x; at x = 0 that is taken as 0 (as PyTorch does), negative x gives nan.
@primitive(lambda g, out, x, y: g * y * x ** (y - 1),
           lambda g, out, x, y: g * out * np.log(np.where(x == 0, 1, x)),
           saves=("x exponent", "out x"), domain=("positive", "real"),
           derivative=("exponent x^(exponent-1)", "x^exponent log(x)"), numpy=np.power,
           kinks="exponent at x=0: mean")
def pow(x, exponent):
    """x ** exponent, with a tensor or scalar exponent."""
    return np.power(x, exponent)


@primitive(lambda g, out, x: g, saves="", derivative="1", numpy=np.copy)
def clone(x):
    """A copy of x with its own memory (as torch.clone, numpy.copy)."""
    return np.array(x, copy=True)


# ---- unary functions -------------------------------------------------------------------------


@primitive(lambda g, out, x: g * out, saves="out", derivative="exp(x)", numpy=np.exp)
def exp(x):
    """e ** x."""
    return np.exp(x)


@primitive(lambda g, out, x: g / x, saves="x", domain="positive", derivative="1/x",
           numpy=np.log)
def log(x):
    """Natural logarithm."""
    return np.log(x)


@primitive(lambda g, out, x: g / (2 * out), saves="out", domain="positive",
           derivative="1 / (2 sqrt(x))", numpy=np.sqrt)
def sqrt(x):
    """Square root."""
    return np.sqrt(x)


@primitive(lambda g, out, x: g * np.sign(x), saves="x", domain="nonzero", derivative="sign(x)",
           numpy=np.absolute, kinks="x=0: mean")
def abs(x):
    """|x| (its gradient at 0 is taken as 0)."""
    return np.absolute(x)


@primitive(lambda g, out, x: g * np.cos(x), saves="x", derivative="cos(x)", numpy=np.sin)
def sin(x):
    """Sine (radians)."""
    return np.sin(x)


@primitive(lambda g, out, x: -g * np.sin(x), saves="x", derivative="-sin(x)", numpy=np.cos)
def cos(x):
    """Cosine (radians)."""
    return np.cos(x)


@primitive(lambda g, out, x: g * (1 - out * out), saves="out", derivative="1 - tanh(x)^2",
           numpy=np.tanh)
def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(x)


@primitive(lambda g, out, x: g * out * (1 - out), saves="out",
           derivative="sigmoid(x) (1 - sigmoid(x))")
def sigmoid(x):
    """1 / (1 + e^-x), computed without overflow for large |x|."""
    e = np.exp(-np.absolute(x))  # in (0, 1]: never overflows
    return np.where(np.greater_equal(x, 0), 1 / (1 + e), e / (1 + e))


# ---- the same, written into a given array (for ag.compile's replays) --------------------------


def _ufunc_into(ufunc):
    """The form of a forward that is one numpy ufunc: that ufunc with ``out=into``."""
    def form(*args, into):
        return ufunc(*args, out=into)
    return form


for _op, _ufunc in [(add, np.add), (sub, np.subtract), (mul, np.multiply), (div, np.true_divide),
                    (neg, np.negative), (exp, np.exp), (log, np.log), (sqrt, np.sqrt),
                    (abs, np.absolute), (sin, np.sin), (cos, np.cos), (tanh, np.tanh)]:
    _op.writes_into()(_ufunc_into(_ufunc))


@mul.writes_into(0)
def _mul_grad_x_into(g, out, x, y, *, into):
    return np.multiply(g, y, out=into)


@mul.writes_into(1)
def _mul_grad_y_into(g, out, x, y, *, into):
    return np.multiply(g, x, out=into)


@div.writes_into(0)
def _div_grad_x_into(g, out, x, y, *, into):
    return np.true_divide(g, y, out=into)


@exp.writes_into(0)
def _exp_grad_into(g, out, x, *, into):
    return np.multiply(g, out, out=into)


@log.writes_into(0)
def _log_grad_into(g, out, x, *, into):
    return np.true_divide(g, x, out=into)


@tanh.writes_into(0)
def _tanh_grad_into(g, out, x, *, into):
    """g * (1 - out * out), the parenthesis made in ``into`` first."""
    if not (g.dtype == out.dtype == into.dtype and g.shape == out.shape == into.shape):
        into[...] = g * (1 - out * out)
        return into
    return np.multiply(g, np.subtract(1, np.multiply(out, out, out=into), out=into), out=into)


# log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): never overflows, exact for large |x|
@primitive(lambda g, out, x: g * sigmoid.dispatch(x), saves="x", derivative="sigmoid(x)")
def softplus(x):
    """log(1 + e^x), computed without overflow: a smooth relu, and the core of stable log-loss."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.absolute(x)))


_erf = np.vectorize(math.erf, otypes=[np.float64])


@primitive(lambda g, out, x: g * (2 / math.sqrt(math.pi)) * np.exp(-x * x),
           saves="x", derivative="2/sqrt(pi) exp(-x^2)")
def erf(x):
    """The error function (for the exact GELU)."""
    return _erf(x).astype(np.result_type(x, np.float32))


@primitive(lambda g, out, x: g * (x > 0), saves="x", domain="nonzero",
           derivative="1 if x > 0 else 0", kinks="x=0: left")
def relu(x):
    """max(x, 0) (its gradient at 0 is taken as 0)."""
    return np.maximum(x, 0)


@relu.writes_into()
def _relu_into(x, *, into):
    return np.maximum(x, 0, out=into)


@relu.writes_into(0)
def _relu_grad_into(g, out, x, *, into):
    """g * (x > 0), the mask written into ``into`` as the 1.0 and 0.0 it becomes when
    multiplied (no boolean array)."""
    if not (g.dtype == into.dtype and g.shape == x.shape == into.shape):
        into[...] = g * (x > 0)
        return into
    return np.multiply(g, np.greater(x, 0, out=into), out=into)


# ---- two-input selections: ties split the gradient evenly, as PyTorch does -------------------


@primitive(lambda g, out, x, y: np.where(x == y, g / 2, g * (x > y)),
           lambda g, out, x, y: np.where(x == y, g / 2, g * (y > x)),
           saves=("x y", "x y"), domain=("offgrid", "ongrid"),
           derivative=("1 where x is larger", "1 where y is larger"), numpy=np.maximum,
           kinks=("x=y: mean", "y=x: mean"))
def maximum(x, y):
    """Elementwise larger of x and y, broadcasting."""
    return np.maximum(x, y)


@primitive(lambda g, out, x, y: np.where(x == y, g / 2, g * (x < y)),
           lambda g, out, x, y: np.where(x == y, g / 2, g * (y < x)),
           saves=("x y", "x y"), domain=("offgrid", "ongrid"),
           derivative=("1 where x is smaller", "1 where y is smaller"), numpy=np.minimum,
           kinks=("x=y: mean", "y=x: mean"))
def minimum(x, y):
    """Elementwise smaller of x and y, broadcasting."""
    return np.minimum(x, y)


@primitive(lambda g, out, x, min=None, max=None: g * _inside(x, min, max),
           saves="x", kind="clip", domain="offgrid", derivative="1 inside [min, max], else 0",
           numpy=np.clip, kinks=("x=min: right", "x=max: left"))
def clip(x, min=None, max=None):
    """Limit x to [min, max] (either bound may be None), like numpy.clip / torch.clamp."""
    if min is None and max is None:
        raise ValueError("clip needs at least one of min and max")
    return np.clip(x, _bound(min), _bound(max))


def _bound(b):
    """A clip bound as an operand: numbers stay Python numbers (float32 x stays float32), arrays
    and lists are checked, a Tensor gives its data (np.clip on it would dispatch back here)."""
    if b is None:
        return None
    return as_operand(b.data if isinstance(b, registry._Tensor) else b, "clip")


def _inside(x, lo, hi):
    lo, hi = _bound(lo), _bound(hi)
    if lo is None:
        return x <= hi
    if hi is None:
        return x >= lo
    return (x >= lo) * (x <= hi)  # logical and, on arrays and Tensors alike


@primitive(None,
           lambda g, out, cond, x, y: np.where(cond, g, 0),
           lambda g, out, cond, x, y: np.where(cond, 0, g),
           saves=("", "cond", "cond"), kind="where", domain=("bool", "real", "real"),
           derivative="1 where chosen, else 0", numpy=np.where)
def where(cond, x, y):
    """x where cond is true, else y (all three broadcast)."""
    return np.where(cond, x, y)


@primitive(lambda g, out, x, dtype: g.astype(x.dtype), saves="", kind="astype", nin=1,
           derivative="1 (cast back)", public=False)
def astype(x, dtype):
    """A copy of x converted to ``dtype``; the gradient is cast back to x's dtype."""
    dtype = np.dtype(dtype)
    check_dtype(dtype, "astype")
    return x.astype(dtype)


@composite(numpy=np.square)
def square(x: TensorLike) -> Tensor:
    """x ** 2."""
    return pow(x, 2)
