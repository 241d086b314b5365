"""dtype names as torch's (``ag.float32``...: numpy dtype objects) and the default float dtype.

``ag.float32 is np.dtype("float32")``: a numpy dtype object, so it compares equal to
``np.float32`` and works wherever numpy takes a dtype. Only the dtypes autograd_lite supports are
named (no float16, complex or unsigned). The default float dtype, float32 unless changed, is
what Python floats become (``ag.tensor([1.0])``) and what the factories make.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool = np.dtype("bool")  # torch.bool; shadows the builtin in this module only

__all__ = ["float32", "float64", "int32", "int64", "bool", "get_default_dtype",
           "set_default_dtype"]

_default: list[np.dtype] = [float32]  # the one place the default lives


def get_default_dtype() -> np.dtype:
    """The dtype Python floats and the float factories give (float32 unless changed).

    >>> ag.get_default_dtype()
    dtype('float32')
    """
    return _default[0]


def set_default_dtype(d: npt.DTypeLike) -> None:
    """Make ``d`` (float32 or float64, as PyTorch allows) the default float dtype.

    >>> ag.set_default_dtype(ag.float64); ag.tensor([1.5]).dtype
    dtype('float64')
    >>> ag.set_default_dtype(ag.float32)
    """
    try:
        dtype = None if d is None else np.dtype(d)
    except TypeError:
        dtype = None
    if dtype is None or dtype not in (float32, float64):  # (numpy says dtype == None for float64)
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type (float32 or float64), got {d!r}")
    _default[0] = dtype
