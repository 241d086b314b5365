"""Convolution and pooling layers with PyTorch's names, arguments, parameter layout and reprs:
``Conv1d``, ``Conv2d``, ``MaxPool1d``, ``MaxPool2d``, ``AvgPool1d``, ``AvgPool2d`` and
``AdaptiveAvgPool2d``. Each forward is a call into ``functional``.

>>> _ = ag.manual_seed(0)
>>> model = ag.nn.Sequential(ag.nn.Conv2d(1, 4, 3, padding=1), ag.nn.ReLU(), ag.nn.MaxPool2d(2),
...                          ag.nn.AdaptiveAvgPool2d(1), ag.nn.Flatten())
>>> model(ag.randn(8, 1, 6, 6)).shape
(8, 4)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._tensor import Tensor
from ..dtypes import get_default_dtype
from . import functional as F
from . import init
from .layers import _check_input_dtype
from .module import Module, Parameter

if TYPE_CHECKING:
    from typing import TypeAlias

    from ..creation import SeedLike

    Size: TypeAlias = "int | tuple[int, ...]"  # one int for every dim, or one per dim


def _tuple(value: Any, dims: int, what: str, layer: str) -> tuple[int, ...]:
    """An int or a sequence of ``dims`` ints as a tuple (PyTorch's _pair), checked."""
    items = (value,) * dims if isinstance(value, (int, np.integer)) else tuple(value)
    if len(items) != dims or not all(isinstance(v, (int, np.integer)) for v in items):
        raise TypeError(f"{layer}: {what} must be an int or a tuple of {dims} ints, got "
                        f"{value!r}")
    return tuple(int(v) for v in items)


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the checks, the parameters and their initialisation."""

    dims = 0

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size, stride: Size,
                 padding: Size | str, dilation: Size, groups: int, bias: bool,
                 dtype: npt.DTypeLike | None, generator: SeedLike) -> None:
        super().__init__()
        name = type(self).__name__
        if groups < 1:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels must be divisible by groups (in_channels="
                             f"{in_channels}, groups={groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels must be divisible by groups (out_channels="
                             f"{out_channels}, groups={groups})")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, self.dims, "kernel_size", name)
        self.stride = _tuple(stride, self.dims, "stride", name)
        self.dilation = _tuple(dilation, self.dims, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a tuple, 'valid' or 'same', "
                                 f"got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride {self.stride})")
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _tuple(padding, self.dims, "padding", name)
        dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
        self.weight = Parameter(np.empty((out_channels, in_channels // groups,
                                          *self.kernel_size), dtype=dtype))
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if bias:
            fan_in = in_channels // groups * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            self.bias = Parameter(np.empty(out_channels, dtype=dtype))
            init.uniform_(self.bias, -bound, bound, generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        _check_input_dtype(self, x, "weight", self.weight)
        shape = tuple(x.shape) if hasattr(x, "shape") else np.shape(x)
        if len(shape) not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"{type(self).__name__}: expected a {self.dims + 1}-D (unbatched) or "
                             f"{self.dims + 2}-D (batched) input, got input of shape {shape}")
        channels = shape[-self.dims - 1]
        if channels != self.in_channels:
            raise ValueError(f"{type(self).__name__}: expected input with {self.in_channels} "
                             f"channels (in_channels={self.in_channels}), got input of shape "
                             f"{shape}")
        conv = F.conv1d if self.dims == 1 else F.conv2d
        return conv(x, self.weight, self.bias, self.stride, self.padding, self.dilation,
                    self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if isinstance(self.padding, str) or any(self.padding):
            text += f", padding={self.padding}"
        if any(d != 1 for d in self.dilation):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over inputs (N, in_channels, L) or (in_channels, L), with ``weight``
    (out_channels, in_channels / groups, kernel_size) and ``bias`` (out_channels,) initialised
    as PyTorch does (U(-1/sqrt(fan_in), 1/sqrt(fan_in))). Arguments as F.conv1d's; ``dtype``
    defaults to the default dtype.

    >>> ag.nn.Conv1d(2, 4, 3, padding="same")
    Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same)  # 28 parameters
    """

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size, stride: Size = 1,
                 padding: Size | str = 0, dilation: Size = 1, groups: int = 1, bias: bool = True,
                 dtype: npt.DTypeLike | None = None, generator: SeedLike = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, dtype, generator)


class Conv2d(_ConvNd):
    """2-D convolution over inputs (N, in_channels, H, W) or (in_channels, H, W), with
    ``weight`` (out_channels, in_channels / groups, kH, kW) and ``bias`` (out_channels,)
    initialised as PyTorch does (U(-1/sqrt(fan_in), 1/sqrt(fan_in))). Arguments as F.conv2d's;
    ``dtype`` defaults to the default dtype.

    >>> conv = ag.nn.Conv2d(3, 8, 3, stride=2, padding=1)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))  # 224 parameters
    >>> conv(ag.randn(2, 3, 9, 9)).shape
    (2, 8, 5, 5)
    """

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Size, stride: Size = 1,
                 padding: Size | str = 0, dilation: Size = 1, groups: int = 1, bias: bool = True,
                 dtype: npt.DTypeLike | None = None, generator: SeedLike = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, dtype, generator)


class _PoolNd(Module):
    """What the max and average pooling layers share: settings kept as given, as PyTorch
    keeps them (its AvgPool1d keeps tuples), and a forward calling ``function``."""

    function: Callable[..., Tensor] = None  # type: ignore[assignment]  # each subclass's
    as_tuples = False

    def __init__(self, kernel_size: Size, stride: Size | None = None, padding: Size = 0) -> None:
        super().__init__()
        if self.as_tuples:
            name = type(self).__name__
            kernel_size = _tuple(kernel_size, 1, "kernel_size", name)
            stride = kernel_size if stride is None else _tuple(stride, 1, "stride", name)
            padding = _tuple(padding, 1, "padding", name)
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, x: Tensor) -> Tensor:
        return self.function(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_PoolNd):
    """The maximum of each window along the last dim of (N, C, L) or (C, L) inputs;
    ``stride`` defaults to ``kernel_size``. As F.max_pool1d.

    >>> ag.nn.MaxPool1d(2)(ag.tensor([[1.0, 3.0, 2.0, 0.0]]))
    tensor([[3., 2.]])
    """

    function = F.max_pool1d


class MaxPool2d(_PoolNd):
    """The maximum of each (kH, kW) window of (N, C, H, W) or (C, H, W) inputs; ``stride``
    defaults to ``kernel_size``. As F.max_pool2d.

    >>> ag.nn.MaxPool2d(2)
    MaxPool2d(kernel_size=2, stride=2, padding=0)
    """

    function = F.max_pool2d


class AvgPool1d(_PoolNd):
    """The mean of each window along the last dim of (N, C, L) or (C, L) inputs, padding zeros
    counted; ``stride`` defaults to ``kernel_size``. As F.avg_pool1d.

    >>> ag.nn.AvgPool1d(2)
    AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    function = F.avg_pool1d
    as_tuples = True


class AvgPool2d(_PoolNd):
    """The mean of each (kH, kW) window of (N, C, H, W) or (C, H, W) inputs, padding zeros
    counted; ``stride`` defaults to ``kernel_size``. As F.avg_pool2d.

    >>> ag.nn.AvgPool2d(2)(ag.arange(16.0).reshape(1, 4, 4))
    tensor([[[ 2.5,  4.5],
             [10.5, 12.5]]])
    """

    function = F.avg_pool2d


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed ``output_size`` (an int, or an (h, w) pair where None keeps
    that side) whatever the input's size, as PyTorch's. ``AdaptiveAvgPool2d(1)`` is global
    average pooling.

    >>> ag.nn.AdaptiveAvgPool2d(1)(ag.arange(8.0).reshape(2, 2, 2))
    tensor([[[1.5]],
    <BLANKLINE>
            [[5.5]]])
    """

    def __init__(self, output_size: int | None | tuple[int | None, int | None]) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
